"""The applier (contract §6): requests, responses, retries, transport safety, library API."""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._apply.engine import Applier, AsyncApplier
from rtconfig._apply.preflight import check_base_url, is_loopback_host
from rtconfig._apply.request import USER_AGENT
from rtconfig._apply.responses import parse_param
from rtconfig._apply.retry import Clock, RetryPolicy, after_failure, retry_after_s, should_retry
from rtconfig._apply.transport import tls_context
from rtconfig._cli import main
from rtconfig._endpoints import Endpoint
from rtconfig._errors import MintError
from rtconfig._plan.records import PlanRecord
from rtconfig._settings import Settings
from rtconfig._version import __version__
from rtconfig.testing import Emulator, Fault, capture_audit
from tests._apply_helpers import (
    API_KEY,
    BETA_BODY,
    GA_BODY,
    FakeClock,
    Script,
    api_error,
    job_of,
    make_applier,
    make_job,
    ok_beta,
    ok_ga,
)

REPO = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(initial_backoff_s=0.01)


def emulated_jobs(emulator: Emulator, env: str | None = None) -> list[PlanRecord]:
    """Every template of the repository's sessions.toml, pointed at the emulator."""
    check = rtconfig.load(REPO / "sessions.toml").check(
        envs=[env], environ={}, base_url=emulator.base_url
    )
    assert not check.errors, check.errors
    return [PlanRecord.from_resolved(template) for template in check.templates]


# -- requests --------------------------------------------------------------------------------


def test_request_bodies_equal_the_resolved_bodies_and_render() -> None:
    """Each request body is byte-for-byte the planned body, which is what `render` prints."""
    with Emulator() as api:
        jobs = emulated_jobs(api, env="production")
        environ = {job.settings.api_key_env: API_KEY for job in jobs}
        with Applier(environ=environ) as applier:
            results = applier.mint_all(jobs)
        assert all(result.ok for result in results)
        sent = {json.dumps(r.json, sort_keys=True) for r in api.requests}
    assert sent == {json.dumps(dict(job.body), sort_keys=True) for job in jobs}
    runner = CliRunner()
    for job in jobs:
        rendered = runner.invoke(
            main, ["render", str(REPO / "sessions.toml"), job.name, "--env", "production"]
        )
        assert rendered.exit_code == 0, rendered.output
        assert json.loads(rendered.stdout) == job.body


def test_headers_carry_bearer_key_user_agent_and_json() -> None:
    """Requests carry the bearer key, rtconfig's User-Agent, and JSON content headers."""
    script = Script()
    with make_applier(script) as applier:
        assert applier.mint(make_job()).ok
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.example.test/v1/realtime/client_secrets"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["user-agent"] == USER_AGENT == f"rtconfig/{__version__}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert "openai-organization" not in request.headers
    assert "openai-project" not in request.headers
    assert "openai-beta" not in request.headers


def test_organization_and_project_headers_when_configured() -> None:
    """OpenAI-Organization and OpenAI-Project are sent when the settings name them."""
    script = Script()
    with make_applier(script) as applier:
        applier.mint(make_job(organization="org-acme", project="proj_voice"))
    assert script.requests[0].headers["openai-organization"] == "org-acme"
    assert script.requests[0].headers["openai-project"] == "proj_voice"


def test_key_read_from_the_variable_named_by_api_key_env() -> None:
    """The key comes from the variable `api_key_env` names, not from OPENAI_API_KEY."""
    script = Script()
    environ = {"OPENAI_API_KEY": "sk-wrong-wrong-wrong", "OPENAI_API_KEY_PROD": API_KEY}
    with make_applier(script, environ=environ) as applier:
        applier.mint(make_job(api_key_env="OPENAI_API_KEY_PROD"))
    assert script.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_missing_key_names_the_variable_and_sends_nothing() -> None:
    """An unset key variable fails the mint with its name, before any request."""
    script = Script()
    with make_applier(script, environ={}) as applier:
        result = applier.mint(make_job(api_key_env="OPENAI_API_KEY_PROD"))
        problems = applier.preflight([make_job(api_key_env="OPENAI_API_KEY_PROD")])
    assert not result.ok and result.error is not None
    assert result.error.type == "missing_api_key"
    assert "OPENAI_API_KEY_PROD" in result.error.message
    assert [p.type for p in problems] == ["missing_api_key"]
    assert script.requests == []


# -- responses -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", list(Endpoint))
def test_token_read_from_each_endpoints_response(endpoint: Endpoint) -> None:
    """Beta endpoints' token is at client_secret.value, GA's (and translations') at the
    top-level value."""
    with Emulator() as api:
        job = make_job(endpoint=endpoint, base_url=api.base_url, body=_valid_body(endpoint))
        with Applier(environ={"OPENAI_API_KEY": API_KEY}) as applier:
            result = applier.mint(job)
        assert result.ok, result.error
        assert result.client_secret == api.tokens[0]
    assert result.client_secret.startswith("ek_")
    assert result.session_id is not None and result.session_id.startswith("sess_")
    assert isinstance(result.expires_at, int) and result.expires_at > time.time()
    assert result.request_id is not None and result.request_id.startswith("req_")
    assert result.response is not None


def _valid_body(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint is Endpoint.CLIENT_SECRETS:
        return {"session": {"type": "realtime", "model": "gpt-realtime"}}
    if endpoint is Endpoint.SESSIONS:
        return dict(BETA_BODY)
    if endpoint is Endpoint.TRANSLATIONS:
        return {"session": {"model": "gpt-realtime-translate"}}
    return {"input_audio_format": "pcm16"}


def test_responses_parsed_leniently_unknown_keys_and_nulls_kept() -> None:
    """Unknown keys and spec-violating nulls in a 200 are kept, not rejected."""
    script = Script([ok_ga(brand_new_field={"x": 1}, tracing=None)])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert result.ok
    assert result.response is not None
    assert result.response["brand_new_field"] == {"x": 1}
    assert result.response["tracing"] is None
    assert result.session_id == "sess_123"


def test_beta_response_token_read_from_client_secret() -> None:
    """A beta session response yields client_secret.value, .expires_at and the session id."""
    script = Script([ok_beta("ek_beta_token_0123456789")])
    with make_applier(script) as applier:
        result = applier.mint(make_job(endpoint=Endpoint.SESSIONS))
    assert (result.client_secret, result.expires_at, result.session_id) == (
        "ek_beta_token_0123456789",
        1_900_000_001,
        "sess_456",
    )


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"session": {"id": "sess_1"}}),
        httpx.Response(200, json={"value": None, "expires_at": 1}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, content=b"<html>gateway</html>"),
    ],
    ids=["no-token", "null-token", "array", "not-json"],
)
def test_200_without_a_token_is_a_failed_mint_not_retried(response: httpx.Response) -> None:
    """A 2xx with no usable token fails as invalid_response, with no retry (no duplicates)."""
    script = Script([response])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.error is not None
    assert result.error.type == "invalid_response"
    assert len(script.requests) == 1


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(status: int) -> None:
    """408, 409, 429 and 5xx are retried; the next success is the result."""
    script = Script([api_error(status, kind="server_error"), ok_ga()])
    clock = FakeClock()
    with make_applier(script, clock) as applier:
        result = applier.mint(make_job())
    assert result.ok and result.attempts == 2
    assert len(script.requests) == 2
    assert clock.sleeps == [0.4375]  # the SDK's jitter: min(8, 0.5 x 2**0) x (1 - 0.25 x 0.5)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_fail_at_once_with_openais_message(status: int) -> None:
    """Other 4xx are not retried and carry OpenAI's error.message and error.type."""
    script = Script([api_error(status, "Unknown parameter: 'session.colour'.")])
    clock = FakeClock()
    with make_applier(script, clock) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.error is not None
    assert result.error.message == "Unknown parameter: 'session.colour'."
    assert result.error.type == "invalid_request_error"
    assert result.error.http_status == status
    assert result.attempts == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadError("reset"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_connection_errors_and_timeouts_are_retried(error: Exception) -> None:
    """Connection errors and timeouts are retried like 5xx."""
    script = Script([error, ok_ga()])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert result.ok and result.attempts == 2


def test_backoff_is_exponential_with_the_sdks_jitter_and_capped() -> None:
    """Waits are min(max_backoff, initial x 2**(n-1)) x (1 - 0.25 x rand) for retries n = 1, 2,
    3… (the openai SDK's rule: 0.75–1.0 of the backoff, not full jitter)."""
    clock = FakeClock(rand=0.75)
    script = Script([api_error(500)] * 6)
    policy = RetryPolicy(max_retries=5, initial_backoff_s=0.5, max_backoff_s=4.0)
    with make_applier(script, clock, retry=policy) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.attempts == 6
    assert clock.sleeps == [0.40625, 0.8125, 1.625, 3.25, 3.25]
    assert result.error is not None and "after 6 attempts" in result.error.message


def test_max_retries_defaults_to_two_from_settings() -> None:
    """With the default settings a mint makes at most three attempts."""
    script = Script([api_error(503)] * 5)
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert Settings().max_retries == 2
    assert result.attempts == 3 and len(script.requests) == 3


def test_max_retries_zero_means_one_attempt() -> None:
    """max_retries = 0 in the settings disables retries."""
    script = Script([api_error(503), ok_ga()])
    with make_applier(script) as applier:
        result = applier.mint(make_job(max_retries=0))
    assert not result.ok and result.attempts == 1


def test_retry_after_seconds_is_honoured_exactly() -> None:
    """`Retry-After: 3` waits exactly 3 s instead of the jittered backoff."""
    clock = FakeClock()
    script = Script([api_error(429, headers={"Retry-After": "3"}), ok_ga()])
    with make_applier(script, clock) as applier:
        assert applier.mint(make_job()).ok
    assert clock.sleeps == [3.0]


def test_retry_after_http_date_is_honoured_against_the_wall_clock() -> None:
    """`Retry-After: <HTTP date>` waits until that date, measured on the injected clock."""
    clock = FakeClock()
    when = email.utils.formatdate(clock.wall + 7, usegmt=True)
    script = Script([api_error(503, headers={"Retry-After": when}), ok_ga()])
    with make_applier(script, clock) as applier:
        assert applier.mint(make_job()).ok
    assert clock.sleeps == [7.0]


def test_retry_after_ms_wins_over_retry_after() -> None:
    """`retry-after-ms` is more precise and takes precedence over `Retry-After`."""
    clock = FakeClock()
    headers = {"retry-after-ms": "1500", "Retry-After": "9"}
    script = Script([api_error(429, headers=headers), ok_ga()])
    with make_applier(script, clock) as applier:
        assert applier.mint(make_job()).ok
    assert clock.sleeps == [1.5]


@pytest.mark.parametrize("header", [{"Retry-After": "3600"}, {"retry-after-ms": "120001"}])
def test_retry_after_over_two_minutes_fails_at_once(header: dict[str, str]) -> None:
    """A server asking for more than 120 s is not retried at all (the SDK's rule), instead of
    sleeping a capped wait and trying again."""
    clock = FakeClock()
    script = Script([api_error(429, headers=header), ok_ga()])
    policy = RetryPolicy(deadline_s=10_000.0)
    with make_applier(script, clock, retry=policy) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.attempts == 1 and len(script.requests) == 1
    assert clock.sleeps == []


def test_retry_after_of_two_minutes_is_honoured() -> None:
    """120 s is the longest wait honoured exactly."""
    clock = FakeClock()
    script = Script([api_error(429, headers={"Retry-After": "120"}), ok_ga()])
    with make_applier(script, clock, retry=RetryPolicy(deadline_s=1000.0)) as applier:
        assert applier.mint(make_job()).ok
    assert clock.sleeps == [120.0]


@pytest.mark.parametrize("raw", ["soon", "-5", "0", "nan", "inf", ""])
def test_garbled_retry_after_falls_back_to_backoff(raw: str) -> None:
    """An unparseable, zero or negative Retry-After is ignored: the jittered backoff applies."""
    clock = FakeClock()
    script = Script([api_error(429, headers={"Retry-After": raw}), ok_ga()])
    with make_applier(script, clock) as applier:
        assert applier.mint(make_job()).ok
    assert clock.sleeps == [0.4375]


@pytest.mark.parametrize("hint", ["True", " true", "TRUE", "1", "yes"])
def test_x_should_retry_values_other_than_exactly_true_are_ignored(hint: str) -> None:
    """Only the exact strings ``true``/``false`` count (the SDK's rule): ``True`` on a 400 does
    not make it retryable."""
    script = Script([api_error(400, headers={"x-should-retry": hint}), ok_ga()])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.attempts == 1


def test_x_should_retry_false_stops_a_retryable_status() -> None:
    """`x-should-retry: false` on a 503 means no retry."""
    script = Script([api_error(503, headers={"x-should-retry": "false"}), ok_ga()])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.attempts == 1


def test_x_should_retry_true_retries_an_otherwise_final_status() -> None:
    """`x-should-retry: true` on a 400 means retry."""
    script = Script([api_error(400, headers={"x-should-retry": "true"}), ok_ga()])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert result.ok and result.attempts == 2


def test_overall_deadline_stops_retrying_before_it_would_pass() -> None:
    """A retry whose wait would cross the per-mint deadline is not made (no sleep either)."""
    clock = FakeClock()
    script = Script([api_error(429, headers={"Retry-After": "5"}), ok_ga()])
    with make_applier(script, clock, retry=RetryPolicy(deadline_s=4.0)) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.error is not None
    assert "4 s" in result.error.message and "gave up" in result.error.message
    assert clock.sleeps == [] and len(script.requests) == 1


def test_retry_rules_as_pure_functions() -> None:
    """should_retry and retry_after_s implement the documented header rules."""
    assert should_retry(429, {}) and should_retry(500, {}) and should_retry(409, {})
    assert not should_retry(400, {}) and not should_retry(404, {})
    assert should_retry(400, {"X-Should-Retry": "true"})
    assert not should_retry(500, {"x-should-retry": "false"})
    assert retry_after_s({"Retry-After": "2.5"}, 0.0) == 2.5
    assert retry_after_s({"retry-after-ms": "250"}, 0.0) == 0.25
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 1445412470.0) == 10.0
    assert retry_after_s({}, 0.0) is None


# -- errors pointing at the TOML line ---------------------------------------------------------


def test_error_param_points_at_the_toml_line_that_set_the_field(write_toml: Any) -> None:
    """A 400 naming session.audio.output.speed points at the line where speed was set."""
    path = write_toml(
        """
        [api]
        endpoint = "realtime/client_secrets"

        [templates.support]
        type = "realtime"
        model = "gpt-realtime"

        [templates.support.audio.output]
        voice = "marin"
        speed = 1.4
        """
    )
    check = rtconfig.load(path).check(envs=[None], environ={})
    assert not check.errors
    job = PlanRecord.from_resolved(check.templates[0])
    message = "Invalid 'session.audio.output.speed': not supported by this model."
    script = Script([api_error(400, message, param="session.audio.output.speed")])
    with make_applier(script) as applier:
        result = applier.mint(job)
    error = result.error
    assert error is not None
    assert error.message == message
    assert error.param == "session.audio.output.speed"
    assert error.path == "audio.output.speed"
    assert (error.file, error.line) == (str(path), 11)
    assert str(error).startswith(f"{path}:11: audio.output.speed: {message}")


def test_error_param_inside_an_array_maps_to_the_template_path() -> None:
    """`session.tools[0].name` becomes the template path tools[0].name, and is located."""
    seen: list[tuple[str | int, ...]] = []

    class Origins(dict[tuple[str | int, ...], rtconfig.Origin]):
        def get(self, path: Any, default: Any = None) -> Any:
            seen.append(path)
            return rtconfig.Origin(rtconfig.OriginKind.TEMPLATE, file="s.toml", line=3)

    job = make_job()
    job = job_of(job.name, job.env, job.endpoint, job.body, job.settings, origins=Origins())
    script = Script([api_error(400, "bad name", param="session.tools[0].name")])
    with make_applier(script) as applier:
        error = applier.mint(job).error
    assert seen == [("tools", 0, "name")]
    assert error is not None and error.path == "tools[0].name" and error.location == "s.toml:3"
    assert parse_param("session.tools[12].parameters.x") == (
        "session",
        "tools",
        12,
        "parameters",
        "x",
    )


# -- transport safety ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    ["http://api.openai.com/v1", "http://10.0.0.5/v1", "ftp://127.0.0.1/v1", "not a url"],
)
def test_unsafe_base_urls_are_refused_before_connecting(base_url: str) -> None:
    """http:// to a non-loopback host (or any non-https scheme) is refused; nothing is sent."""
    script = Script()
    with make_applier(script) as applier:
        result = applier.mint(make_job(base_url=base_url))
    assert not result.ok and result.error is not None
    assert result.error.type == "insecure_url"
    assert script.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.openai.com/v1",
        "http://127.0.0.1:8080/v1",
        "http://localhost/v1",
        "http://[::1]:9/v1",
    ],
)
def test_https_and_loopback_http_are_allowed(base_url: str) -> None:
    """https:// anywhere and http:// to loopback hosts pass the transport check."""
    assert check_base_url(base_url) is None


def test_is_loopback_host() -> None:
    """Loopback means localhost, 127.0.0.0/8 or ::1 — not a name that merely contains them."""
    assert is_loopback_host("127.3.4.5") and is_loopback_host("::1") and is_loopback_host("[::1]")
    assert not is_loopback_host("127.0.0.1.evil.example") and not is_loopback_host("10.0.0.1")


def test_redirects_are_never_followed() -> None:
    """A 307 is a failure naming the target; the key is never sent to it."""
    script = Script([httpx.Response(307, headers={"Location": "https://elsewhere.example/v1/x"})])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.error is not None
    assert result.error.type == "redirect" and "elsewhere.example" in result.error.message
    assert len(script.requests) == 1


def test_default_client_verifies_tls_and_times_out() -> None:
    """The applier's own connections keep TLS verification on, and every request carries the
    record's timeout (connect at most 10 s), through the same transport seam tests use."""
    context = tls_context()
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname is True
    seen: list[dict[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok_ga()

    with Applier(transport=httpx.MockTransport(record), environ={"OPENAI_API_KEY": API_KEY}) as a:
        a.mint(make_job(timeout_s=7.0))
        a.mint(make_job(timeout_s=30.0))
    assert seen[0]["read"] == 7.0 and seen[0]["connect"] == 7.0
    assert seen[1]["read"] == 30.0 and seen[1]["connect"] == 10.0


def test_a_server_that_never_answers_times_out_and_is_retried() -> None:
    """A hung answer hits the read timeout, is retried, and the retry succeeds."""
    with Emulator() as api:
        api.inject(Fault.slow(5.0))
        job = make_job(
            base_url=api.base_url, timeout_s=0.3, body=_valid_body(Endpoint.CLIENT_SECRETS)
        )
        with Applier(
            environ={"OPENAI_API_KEY": API_KEY}, retry=RetryPolicy(initial_backoff_s=0.01)
        ) as applier:
            result = applier.mint(job)
    assert result.ok and result.attempts == 2


def test_a_dropped_connection_is_retried() -> None:
    """A connection closed without an answer is retried on a fresh connection."""
    with Emulator() as api:
        api.inject(Fault.dropped())
        job = make_job(base_url=api.base_url, body=_valid_body(Endpoint.CLIENT_SECRETS))
        with Applier(
            environ={"OPENAI_API_KEY": API_KEY}, retry=RetryPolicy(initial_backoff_s=0.01)
        ) as applier:
            result = applier.mint(job)
    assert result.ok and result.attempts == 2


# -- batches, concurrency, stop --------------------------------------------------------------


def test_partial_failure_attempts_every_job_in_order() -> None:
    """One failing template does not stop the others; results keep the jobs' order."""
    answers = {"a": ok_ga(), "b": api_error(400, "no"), "c": ok_ga()}
    jobs = [make_job(template=name, body={**GA_BODY, "t": name}) for name in answers]

    def route(request: httpx.Request) -> httpx.Response:
        return answers[json.loads(request.content)["t"]]

    client = httpx.MockTransport(route)
    with Applier(transport=client, environ={"OPENAI_API_KEY": API_KEY}) as applier:
        results = applier.mint_all(jobs)
    assert [r.template for r in results] == ["a", "b", "c"]
    assert [r.ok for r in results] == [True, False, True]


def test_concurrency_bounds_requests_in_flight() -> None:
    """No more than `concurrency` requests are ever in flight at once."""
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return ok_ga()

    client = httpx.MockTransport(slow)
    jobs = [make_job(template=f"t{i}") for i in range(12)]
    with Applier(transport=client, environ={"OPENAI_API_KEY": API_KEY}, concurrency=3) as applier:
        results = applier.mint_all(jobs)
    assert all(r.ok for r in results)
    assert 1 <= state["max"] <= 3


def test_stop_lets_in_flight_finish_and_cancels_the_rest() -> None:
    """After stop(), the running mint completes and unstarted jobs come back cancelled."""
    holder: dict[str, Applier] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        holder["applier"].stop()
        return ok_ga()

    client = httpx.MockTransport(answer)
    with capture_audit() as audit:
        applier = Applier(
            transport=client, environ={"OPENAI_API_KEY": API_KEY}, concurrency=1, audit=audit
        )
        holder["applier"] = applier
        with applier:
            results = applier.mint_all([make_job(template=f"t{i}") for i in range(4)])
    assert [r.ok for r in results] == [True, False, False, False]
    assert {r.error.type for r in results[1:] if r.error} == {"cancelled"}
    finished = audit.of("apply.finished")[0]
    assert (
        finished["interrupted"] is True and finished["minted"] == 1 and finished["cancelled"] == 3
    )


def test_stop_during_backoff_abandons_the_retry() -> None:
    """A mint waiting to retry when stop() arrives ends with its last failure, noted."""
    clock = FakeClock()
    holder: dict[str, Applier] = {}
    original_sleep = clock.sleep

    def sleep(seconds: float) -> None:
        holder["applier"].stop()
        original_sleep(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    script = Script([api_error(503), ok_ga()])
    applier = make_applier(script, clock)
    holder["applier"] = applier
    with applier:
        result = applier.mint(make_job())
    assert not result.ok and result.error is not None
    assert "interrupted" in result.error.message and len(script.requests) == 1


# -- library API -----------------------------------------------------------------------------


def test_async_applier_mints_without_blocking_the_loop() -> None:
    """AsyncApplier.mint and mint_all work from asyncio against the emulator."""

    async def run(base_url: str) -> list[bool]:
        jobs = [make_job(template=f"t{i}", base_url=base_url) for i in range(3)]
        async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=2) as applier:
            one = await applier.mint(jobs[0])
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                for _ in range(3):
                    ticks += 1
                    await asyncio.sleep(0)

            many, _ = await asyncio.gather(applier.mint_all(jobs), ticker())
        assert ticks == 3
        return [one.ok, *(r.ok for r in many)]

    with Emulator() as api:
        assert asyncio.run(run(api.base_url)) == [True] * 4


def test_injected_client_and_audit_sink_are_used() -> None:
    """A caller's httpx transport and audit sink are used as given, and not closed by close()."""
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

    transport = Transport(Script())
    with capture_audit() as audit:
        with Applier(transport=transport, audit=audit, environ={"OPENAI_API_KEY": API_KEY}) as a:
            a.mint(make_job())
        assert audit.events() == ["mint.succeeded"]
    assert closed == []


def test_results_hide_tokens_from_repr_and_raise_mint_error() -> None:
    """repr() of a result never shows the token; raise_for_error raises MintError (exit 3)."""
    script = Script([ok_ga("ek_secret_token_value_123"), api_error(400, "bad")])
    with make_applier(script) as applier:
        good = applier.mint(make_job())
        bad = applier.mint(make_job())
    assert "ek_secret_token_value_123" not in repr(good)
    assert good.raise_for_error() is good
    with pytest.raises(MintError) as caught:
        bad.raise_for_error()
    assert caught.value.exit_code == 3 and "bad" in str(caught.value)
    assert good.to_json()["client_secret"] == "ek_secret_token_value_123"
    assert set(bad.to_json()["error"]) >= {"type", "message", "http_status"}


def test_mint_job_from_resolved_keeps_body_settings_and_locator(write_toml: Any) -> None:
    """PlanRecord.from_resolved copies name, env, endpoint, body and settings, and origins."""
    path = write_toml(
        """
        [api]
        endpoint = "realtime/sessions"
        [templates.t]
        model = "gpt-realtime"
        """
    )
    resolved = rtconfig.load(path).resolve("t", environ={})
    job = PlanRecord.from_resolved(resolved)
    assert (job.name, job.env, job.endpoint, dict(job.body)) == (
        "t",
        None,
        Endpoint.SESSIONS,
        {"model": "gpt-realtime"},
    )
    assert job.settings == resolved.settings and job.body_sha256 == resolved.sha256
    origin = job.origin_of(("model",))
    assert origin is not None and origin.line == 5


def test_public_names_of_the_apply_stage_do_not_drift() -> None:
    """applier, audit and testing export exactly these names, and each one exists."""
    import rtconfig._apply.engine
    import rtconfig._apply.results
    import rtconfig._apply.retry
    import rtconfig.audit
    import rtconfig.testing

    expected = {
        rtconfig._apply.engine: {
            "DEFAULT_ASYNC_CONCURRENCY", "Applier", "AsyncApplier", "AuditSink", "CallbackError",
        },
        rtconfig._apply.results: {
            "ApplyReport",
            "FailureKind",
            "MintFailure",
            "MintResult",
            "MintSuccess",
        },
        rtconfig._apply.retry: {
            "MAX_RETRY_AFTER_S", "RETRYABLE_STATUSES", "Clock", "RetryPolicy", "after_failure",
            "retry_after_s", "should_retry",
        },
        rtconfig.audit: {
            "REDACTED", "AuditLog", "LoggingAudit", "NullAudit", "Redactor", "default_audit_path",
            "new_run_id",
            "read_audit_log", "resolve_actor", "secret_fingerprint",
        },
        rtconfig.testing: {
            "EMULATOR_API_KEY", "MAX_BODY_BYTES", "CapturedAudit", "Emulator", "Fault",
            "RecordedRequest",
            "capture_audit",
            # signed realtime.call.incoming webhooks (tests/test_webhooks.py)
            "DeliveredWebhook", "incoming_call_event", "new_call_id", "send_incoming_call",
            "sign_webhook", "signed_incoming_call",
        },
    }  # fmt: skip
    for module, names in expected.items():
        assert set(module.__all__) == names, module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None


@pytest.mark.parametrize(("status", "attempts"), [(200, 1), (503, 3)])
def test_a_too_large_answer_is_retried_only_when_it_cannot_have_minted(
    status: int, attempts: int
) -> None:
    """A 200 whose body is over the limit may have minted a session: it is a failure, never
    retried; an oversized 503 is retried like any 503."""
    from rtconfig._apply.transport import MAX_RESPONSE_BYTES

    huge = b'{"value": "ek_' + b"x" * (MAX_RESPONSE_BYTES + 1) + b'"}'
    script = Script([httpx.Response(status, content=huge) for _ in range(3)])
    with make_applier(script) as applier:
        result = applier.mint(make_job())
    assert not result.ok and result.attempts == attempts and len(script.requests) == attempts
    assert result.error is not None and "larger than" in result.error.message
    expected = rtconfig.FailureKind.INVALID_RESPONSE if status == 200 else "http_error"
    assert result.error.kind == expected


def test_one_retry_decision_for_mints_and_calls() -> None:
    """after_failure (used by both mint and call attempts): the wait, or why a failure is final."""
    clock = Clock(monotonic=lambda: 100.0, time=lambda: 0.0, random=lambda: 0.0)
    policy = RetryPolicy(deadline_s=30.0)
    common: dict[str, Any] = {"headers": None, "deadline": 130.0, "stopped": False}

    def step(**kw: Any) -> float | str | None:
        return after_failure(policy, clock, **{**common, **kw})

    assert step(retryable=True, attempt=1, max_retries=2) == 0.5  # the SDK's first backoff
    assert step(retryable=True, attempt=2, max_retries=2) == 1.0
    assert step(retryable=True, attempt=3, max_retries=2) == "after 3 attempts"
    assert step(retryable=False, attempt=1, max_retries=2) is None
    assert step(retryable=True, attempt=1, max_retries=0) is None
    stopped = step(retryable=True, attempt=1, max_retries=2, stopped=True)
    assert stopped == "interrupted before the next retry"
    late = step(retryable=True, attempt=1, max_retries=2, deadline=100.2)
    assert late == "gave up: waiting 0.5 s to retry would pass the 30 s deadline"
