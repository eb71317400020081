"""``rtconfig serve`` over real HTTP on loopback (CONTRACT §11): a subprocess running uvicorn,
the emulator upstream. Routes, auth, CORS, no-store, limits, 502s, audit, metrics, startup."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rtconfig.testing import EMULATOR_API_KEY, Emulator, Fault
from tests._serve_helpers import (
    BASE_TOML,
    OTHER_TOKEN,
    SERVE_TOKEN,
    SERVE_TOML,
    Served,
    serving,
    start_server,
)

pytest.importorskip("starlette", reason="needs the serve extra")

AUTH = {"Authorization": f"Bearer {SERVE_TOKEN}"}
FINGERPRINT = hashlib.sha256(SERVE_TOKEN.encode()).hexdigest()[:12]


def _environ(api: Emulator, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": EMULATOR_API_KEY,
        "OPENAI_BASE_URL": api.base_url,
        "RTCONFIG_SERVE_TOKENS": f"{SERVE_TOKEN},{OTHER_TOKEN}",
        **extra,
    }


@pytest.fixture(scope="module")
def api() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(api: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving(folder, BASE_TOML + SERVE_TOML, _environ(api)) as served:
        yield served


def _post(server: Served, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(server.url + path, timeout=20, **kwargs)  # type: ignore[arg-type]


def test_token_route_returns_only_token_expiry_and_session_id(
    server: Served, api: Emulator
) -> None:
    """200 with exactly value/expires_at/session_id, the emulator's token, nothing of the
    session (instructions) echoed, and Cache-Control: no-store."""
    response = _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"value", "expires_at", "session_id"}
    assert body["value"] == api.tokens[-1]
    assert isinstance(body["expires_at"], int) and body["session_id"].startswith("sess_")
    assert "Reviewed secret instructions" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert api.requests[-1].json["session"]["instructions"] == "Reviewed secret instructions."


def test_missing_or_wrong_token_is_401(server: Served, api: Emulator) -> None:
    """No Authorization, a wrong bearer token, or another scheme: 401, nothing minted."""
    before = len(api.requests)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-serve-token-xxxxxx"},
        {"Authorization": f"Basic {SERVE_TOKEN}"},
    ):
        response = _post(server, "/v1/templates/sales/client_secret", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["cache-control"] == "no-store"
    assert len(api.requests) == before


def test_every_listed_token_is_accepted(server: Served) -> None:
    """Both comma-separated tokens in the variable authenticate."""
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert _post(server, "/v1/templates/sales/client_secret", headers=other).status_code == 200


def test_unknown_unlisted_and_abstract_templates_are_404(server: Served) -> None:
    """A template not in [serve].templates (existing, abstract or unknown) is 404."""
    for name in ("unlisted", "base", "nope"):
        response = _post(server, f"/v1/templates/{name}/client_secret", headers=AUTH)
        assert response.status_code == 404, name
        assert name not in response.text


def test_unauthenticated_caller_cannot_probe_templates(server: Served) -> None:
    """Without a token an unknown template is 401, not 404: names are not disclosed."""
    assert _post(server, "/v1/templates/nope/client_secret").status_code == 401


def test_preflight_answers_listed_origin_only(server: Served) -> None:
    """OPTIONS from the listed origin: 204 with exact-origin CORS headers; from another origin
    or on another route: 403 without any Access-Control-Allow-Origin."""
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    ok = httpx.options(
        server.url + "/v1/templates/support/client_secret",
        headers={"Origin": "https://app.example.com", **asked},
    )
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"]
    assert ok.headers["vary"] == "Origin"
    for origin, path in (
        ("https://evil.example.com", "/v1/templates/support/client_secret"),
        ("https://app.example.com.evil.com", "/v1/templates/support/client_secret"),
        ("https://app.example.com", "/healthz"),
        ("https://app.example.com", "/metrics"),
    ):
        refused = httpx.options(server.url + path, headers={"Origin": origin, **asked})
        assert refused.status_code == 403, (origin, path)
        assert "access-control-allow-origin" not in refused.headers


def test_cors_request_from_listed_origin_gets_exact_origin(server: Served) -> None:
    """A POST with the listed Origin carries that origin back (never '*')."""
    response = _post(
        server,
        "/v1/templates/sales/client_secret",
        headers={**AUTH, "Origin": "https://app.example.com"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


def test_cors_request_from_other_origin_is_refused_before_minting(
    server: Served, api: Emulator
) -> None:
    """A POST with an unlisted Origin is 403 and spends nothing upstream."""
    before = len(api.requests)
    response = _post(
        server,
        "/v1/templates/sales/client_secret",
        headers={**AUTH, "Origin": "https://evil.example.com"},
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert len(api.requests) == before
    request_id = response.headers["x-request-id"]
    record = server.audit_for(request_id)
    assert record["outcome"] == "forbidden_origin" and record["status"] == 403
    assert record["origin"] == "https://evil.example.com"


def test_upstream_failure_is_generic_502_with_details_in_audit(
    server: Served, api: Emulator
) -> None:
    """An upstream error is 502 with a generic message: nothing of OpenAI's body reaches the
    caller; the audit record keeps the details."""
    api.inject(
        Fault(status=400, body={"error": {"message": "UPSTREAM-DETAIL-xyz", "type": "invalid"}})
    )
    response = _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    assert response.status_code == 502
    assert "UPSTREAM-DETAIL" not in response.text
    assert EMULATOR_API_KEY not in response.text
    assert response.json()["error"]["type"] == "upstream_error"
    records = server.wait_audit("serve.request")
    failed = [r for r in records if r["status"] == 502]
    assert failed and "UPSTREAM-DETAIL-xyz" in json.dumps(failed[-1]["error"])
    assert failed[-1]["outcome"] == "upstream_failed"


def test_audit_record_names_caller_by_fingerprint_never_the_token(
    server: Served, api: Emulator
) -> None:
    """Each request writes serve.request with caller (sha256 of the serve token, 12 hex),
    template, route, outcome, latency_ms, request_id; no token value is in the audit log."""
    response = _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    request_id = response.headers["x-request-id"]
    record = server.audit_for(request_id)
    assert record["caller"] == FINGERPRINT
    assert record["template"] == "sales" and record["route"] == "client_secret"
    assert record["outcome"] == "ok" and record["status"] == 200
    assert isinstance(record["latency_ms"], float)
    text = server.audit_path.read_text()
    assert SERVE_TOKEN not in text and OTHER_TOKEN not in text
    assert response.json()["value"] not in text
    assert EMULATOR_API_KEY not in text


def test_caller_goes_into_tracing_metadata_only_when_opted_in(
    server: Served, api: Emulator
) -> None:
    """support (in trace_caller) sends tracing.metadata.rtconfig_caller = the caller;
    sales (not opted in) sends its session unchanged."""
    _post(server, "/v1/templates/support/client_secret", headers=AUTH)
    traced = api.requests[-1].json["session"]
    assert traced["tracing"] == {"metadata": {"rtconfig_caller": FINGERPRINT}}
    _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    assert "tracing" not in api.requests[-1].json["session"]


def test_request_body_is_bounded(server: Served) -> None:
    """The token route takes no body: a large one is 413."""
    response = _post(
        server, "/v1/templates/sales/client_secret", headers=AUTH, content=b"x" * 100_000
    )
    assert response.status_code == 413


def test_healthz_and_metrics(server: Served) -> None:
    """/healthz is 200 {"status": "ok"}; /metrics is Prometheus text with requests, mints,
    failures by template and outcome, and the latency histogram."""
    _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    health = httpx.get(server.url + "/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert health.headers["cache-control"] == "no-store"
    metrics = httpx.get(server.url + "/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'rtconfig_serve_requests_total{outcome="ok",route="client_secret",template="sales"}' in (
        text
    )
    assert 'rtconfig_serve_mints_total{carrier="client_secret",outcome="ok",template="sales"}' in (
        text
    )
    assert 'rtconfig_serve_requests_total{outcome="unauthorized",route="client_secret"' in text
    assert 'rtconfig_serve_request_duration_seconds_bucket{le="0.5",route="client_secret"}' in (
        text
    )


def test_access_log_is_json_lines_without_secrets(server: Served) -> None:
    """stdout carries one JSON access record per request (method, path, status, latency,
    request id, caller), and no token."""
    response = _post(server, "/v1/templates/sales/client_secret", headers=AUTH)
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [r for r in server.access_log() if r.get("request_id") == request_id]
        if found:
            break
        time.sleep(0.05)
    assert found[0]["status"] == 200 and found[0]["caller"] == FINGERPRINT
    assert found[0]["method"] == "POST" and found[0]["route"] == "client_secret"
    assert SERVE_TOKEN not in "\n".join(server.stdout)
    assert response.json()["value"] not in "\n".join(server.stdout + server.stderr)


def test_startup_line_says_where_what_and_tokens(server: Served) -> None:
    """One line: the address, the templates served, and that tokens are required."""
    assert server.startup_line.startswith("rtconfig serve: listening on http://127.0.0.1:")
    assert "templates: support, sales" in server.startup_line
    assert "bearer tokens required (RTCONFIG_SERVE_TOKENS)" in server.startup_line
    assert SERVE_TOKEN not in server.startup_line


def test_rate_limit_is_429_with_retry_after(api: Emulator, tmp_path: Path) -> None:
    """Past `rate` a caller gets 429 with Retry-After (whole seconds); another caller is not
    affected."""
    toml = BASE_TOML + SERVE_TOML.replace('rate = "100/minute"', 'rate = "2/minute"')
    with serving(tmp_path, toml, _environ(api)) as served:
        statuses = [
            _post(served, "/v1/templates/sales/client_secret", headers=AUTH).status_code
            for _ in range(2)
        ]
        limited = _post(served, "/v1/templates/sales/client_secret", headers=AUTH)
        other = _post(
            served,
            "/v1/templates/sales/client_secret",
            headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
        )
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert other.status_code == 200


def test_burst_limits_a_spike(api: Emulator, tmp_path: Path) -> None:
    """`burst = 2` with rate 60/hour: the third request within 2 minutes is 429 though the
    hourly allowance is far from spent; Retry-After is within the burst window."""
    toml = BASE_TOML + SERVE_TOML.replace('rate = "100/minute"', 'rate = "60/hour"\nburst = 2')
    with serving(tmp_path, toml, _environ(api)) as served:
        statuses = [
            _post(served, "/v1/templates/sales/client_secret", headers=AUTH).status_code
            for _ in range(2)
        ]
        third = _post(served, "/v1/templates/sales/client_secret", headers=AUTH)
    assert statuses == [200, 200]
    assert third.status_code == 429 and 1 <= int(third.headers["retry-after"]) <= 120


def test_sigterm_drains_in_flight_request_then_exits_0(tmp_path: Path) -> None:
    """A mint in flight when SIGTERM arrives still completes (200), then the process exits 0."""
    with Emulator(latency_s=1.5) as slow:
        served = start_server(tmp_path, BASE_TOML + SERVE_TOML, _environ(slow))
        assert isinstance(served, Served)
        result: dict[str, httpx.Response] = {}
        worker = threading.Thread(
            target=lambda: result.setdefault(
                "r", _post(served, "/v1/templates/sales/client_secret", headers=AUTH)
            )
        )
        worker.start()
        time.sleep(0.7)
        served.proc.send_signal(signal.SIGTERM)
        code = served.stop()
        worker.join(timeout=20)
    assert result["r"].status_code == 200
    assert code == 0
    assert any("stopped" in line for line in served.stderr)
    assert served.audit("serve.stopped")


# ---- startup refusals ---------------------------------------------------------------------


def _refused(
    folder: Path, toml: str, environ: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    result = start_server(folder, toml, environ, *args)
    if isinstance(result, Served):
        result.stop()
        raise AssertionError(f"the server started: {result.startup_line}")
    return result


def test_refuses_non_loopback_without_tokens(api: Emulator, tmp_path: Path) -> None:
    """No tokens_env and --host 0.0.0.0: exit 1 before listening, saying why."""
    toml = BASE_TOML + SERVE_TOML.replace('tokens_env = "RTCONFIG_SERVE_TOKENS"\n', "")
    result = _refused(tmp_path, toml, _environ(api), "--host", "0.0.0.0")
    assert result.returncode == 1
    assert "loopback" in result.stderr and "tokens_env" in result.stderr
    assert "Traceback" not in result.stderr


def test_serves_without_tokens_on_loopback_and_says_so(api: Emulator, tmp_path: Path) -> None:
    """No tokens_env on 127.0.0.1: serves every caller, and the startup line says so."""
    toml = BASE_TOML + SERVE_TOML.replace('tokens_env = "RTCONFIG_SERVE_TOKENS"\n', "")
    with serving(tmp_path, toml, _environ(api)) as served:
        response = _post(served, "/v1/templates/sales/client_secret")
    assert response.status_code == 200
    assert "NO tokens required" in served.startup_line


def test_refuses_when_tokens_variable_is_unset(api: Emulator, tmp_path: Path) -> None:
    """tokens_env names a variable that is empty: exit 1 with file:line, no traceback."""
    environ = _environ(api)
    environ["RTCONFIG_SERVE_TOKENS"] = " , "
    result = _refused(tmp_path, BASE_TOML + SERVE_TOML, environ)
    assert result.returncode == 1
    assert "sessions.toml:" in result.stderr and "RTCONFIG_SERVE_TOKENS" in result.stderr
    assert "is not set or empty" in result.stderr


def test_refuses_invalid_file_before_listening(api: Emulator, tmp_path: Path) -> None:
    """A template that does not validate stops the server (exit 1) with its diagnostic."""
    toml = BASE_TOML.replace('tracing = "auto"', "audio.output.speed = 9.0") + SERVE_TOML.replace(
        'trace_caller = ["support"]\n', ""
    )
    result = _refused(tmp_path, toml, _environ(api))
    assert result.returncode == 1
    assert "audio.output.speed" in result.stderr
    assert "listening" not in result.stderr


def test_refuses_abstract_template_in_serve_templates(api: Emulator, tmp_path: Path) -> None:
    """Listing an abstract template in [serve].templates is a startup error at its line."""
    toml = BASE_TOML + SERVE_TOML.replace('["support", "sales"]', '["support", "base"]')
    result = _refused(tmp_path, toml, _environ(api))
    assert result.returncode == 1
    assert "abstract" in result.stderr
    line = toml.splitlines().index('templates = ["support", "base"]') + 1
    assert f"sessions.toml:{line}:" in result.stderr


def test_refuses_without_api_key(api: Emulator, tmp_path: Path) -> None:
    """The API key variable must be set at startup, not discovered at the first mint."""
    environ = _environ(api)
    del environ["OPENAI_API_KEY"]
    result = _refused(tmp_path, BASE_TOML + SERVE_TOML, environ)
    assert result.returncode == 1 and "OPENAI_API_KEY is not set" in result.stderr


def test_refuses_trace_caller_without_tracing(api: Emulator, tmp_path: Path) -> None:
    """trace_caller for a template without tracing is a startup error (turning tracing on
    behind the reviewer's back would change the session)."""
    toml = BASE_TOML + SERVE_TOML.replace('trace_caller = ["support"]', 'trace_caller = ["sales"]')
    result = _refused(tmp_path, toml, _environ(api))
    assert result.returncode == 1 and "trace_caller needs tracing" in result.stderr


def test_without_the_serve_extra_says_how_to_install(tmp_path: Path) -> None:
    """With starlette/uvicorn missing, `rtconfig serve` exits 1 naming the extra, no traceback."""
    (tmp_path / "sessions.toml").write_text(BASE_TOML + SERVE_TOML)
    code = (
        "import sys\n"
        "sys.modules['starlette'] = sys.modules['uvicorn'] = None  # as if not installed\n"
        "from rtconfig._cli import main\n"
        "main(['serve', 'sessions.toml'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "needs the serve extra" in result.stderr and "[serve]" in result.stderr
    assert "starlette" in result.stderr and "Traceback" not in result.stderr


def test_mounts_in_fastapi_with_a_custom_authorizer(api: Emulator, tmp_path: Path) -> None:
    """create_app mounts under a FastAPI app; an authorizer (request → identity or refusal)
    replaces the tokens, and its identity is the audit record's caller."""
    import uvicorn
    from fastapi import FastAPI

    import rtconfig
    from rtconfig.serve import Caller, Refused, create_app

    path = tmp_path / "sessions.toml"
    path.write_text(BASE_TOML + SERVE_TOML)

    def authorizer(request: object) -> Caller | None:
        user = request.headers.get("x-user")  # type: ignore[attr-defined]
        if user == "mallory":
            raise Refused("banned", status=403)
        return Caller(f"user:{user}") if user else None

    app = create_app(
        rtconfig.load(path),
        environ=_environ(api),
        authorizer=authorizer,
        audit_log=tmp_path / "audit.jsonl",
    )
    # A mounted app's lifespan is not run by its parent: the parent's runs it (and closes it).
    outer = FastAPI(lifespan=lambda _outer: app.router.lifespan_context(app))
    outer.mount("/rt", app)
    server = uvicorn.Server(uvicorn.Config(outer, port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/rt/v1/templates/sales/client_secret"
    try:
        ok = httpx.post(url, headers={"x-user": "alice"}, timeout=20)
        anonymous = httpx.post(url, timeout=20)
        banned = httpx.post(url, headers={"x-user": "mallory"}, timeout=20)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert ok.status_code == 200 and set(ok.json()) == {"value", "expires_at", "session_id"}
    assert anonymous.status_code == 401
    assert banned.status_code == 403 and banned.json()["error"]["message"] == "banned"
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    served = [r for r in records if r["event"] == "serve.request"]
    assert [r["caller"] for r in served if r["status"] == 200] == ["user:alice"]
