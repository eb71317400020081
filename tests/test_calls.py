"""The call carriers on both appliers (CONTRACT §10, NOTES §9): exact wire shapes against
httpx.MockTransport and the emulator, retries, audit records, refusals before any request, and
no key, token or SDP body in any log; the emulator's call routes; ``rtconfig call``."""

from __future__ import annotations

import asyncio
import email.parser
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._apply.retry import RetryPolicy
from rtconfig._cli import main
from rtconfig.testing import Emulator, Fault, capture_audit

KEY = "sk-test-CALLS-LEAKCHECK-0123456789"
TOML = """
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
instructions = "You help callers."
expires_after = { anchor = "created_at", seconds = 300 }
audio.output.voice = "marin"
audio.output.speed = 1.2

[templates.notes]
type = "transcription"
audio.input.transcription.model = "gpt-4o-transcribe"

[templates.legacy]
endpoint = "realtime/sessions"
model = "gpt-realtime"
"""
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\na=setup:actpass\r\na=SECRET-OFFER-MARKER\r\n"
)
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=SECRET-ANSWER-MARKER\r\n"
FAST = RetryPolicy(initial_backoff_s=0.001, max_backoff_s=0.002)


@pytest.fixture
def sessions(write_toml: Callable[..., Path]) -> Path:
    return write_toml(TOML)


def records(sessions: Path, base_url: str = "https://api.example.test/v1") -> dict[str, Any]:
    plan = rtconfig.load(sessions).plan(environ={}, base_url=base_url, compare_lock=False)
    return {r.name: r for r in plan.templates}


def parts(request: httpx.Request) -> dict[str, Any]:
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.content
    )
    return {p.get_param("name", header="content-disposition"): p for p in message.get_payload()}


def mock(*answers: httpx.Response) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return seen, httpx.MockTransport(handle)


def created(call_id: str = "rtc_abc123") -> httpx.Response:
    return httpx.Response(
        201,
        headers={
            "Location": f"/v1/realtime/calls/{call_id}",
            "Content-Type": "application/sdp",
            "x-request-id": "req_1",
        },
        content=ANSWER.encode(),
    )


def applier(transport: Any = None, **kw: Any) -> rtconfig.Applier:
    return rtconfig.Applier(environ={"OPENAI_API_KEY": KEY}, transport=transport, **kw)


# --- wire shapes (MockTransport) ---------------------------------------------------------------


def test_create_call_sends_multipart_and_reads_location(sessions: Path) -> None:
    """calls: multipart sdp (application/sdp) + session (application/json), Accept
    application/sdp; the answer's body is the SDP and Location's last segment the call id."""
    seen, transport = mock(created("rtc_u1_xyz"))
    record = records(sessions)["support"]
    with applier(transport) as a:
        call = a.create_call(record, OFFER)
    assert call.ok and call.call_id == "rtc_u1_xyz" and call.sdp == ANSWER
    (request,) = seen
    assert str(request.url) == "https://api.example.test/v1/realtime/calls"
    assert request.headers["accept"] == "application/sdp"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    found = parts(request)
    assert found["sdp"].get_content_type() == "application/sdp"
    assert found["sdp"].get_payload().replace("\r\n", "\n") == OFFER.replace("\r\n", "\n")
    assert found["session"].get_content_type() == "application/json"
    assert json.loads(found["session"].get_payload()) == record.body["session"]
    assert call.session_sha256 == record.session_sha256


def test_accept_sends_the_flat_session(sessions: Path) -> None:
    """accept: JSON body = the session object (type realtime, no expires_after)."""
    seen, transport = mock(httpx.Response(200))
    record = records(sessions)["support"]
    with applier(transport) as a:
        call = a.accept_call(record, "rtc_abc123")
    assert call.ok and call.call_id == "rtc_abc123"
    (request,) = seen
    assert str(request.url).endswith("/realtime/calls/rtc_abc123/accept")
    body = json.loads(request.content)
    assert body == record.body["session"] and body["type"] == "realtime"
    assert "expires_after" not in body and request.headers["content-type"] == "application/json"


def test_reject_hangup_refer_bodies(sessions: Path) -> None:
    """reject {"status_code": 603} by default; hangup no body; refer {"target_uri"}."""
    seen, transport = mock(httpx.Response(200), httpx.Response(200), httpx.Response(200))
    settings = records(sessions)["support"].settings
    with applier(transport) as a:
        assert a.reject_call("rtc_abc", settings=settings).ok
        assert a.hangup_call("rtc_abc", settings=settings).ok
        assert a.refer_call("rtc_abc", "tel:+14155550100", settings=settings).ok
    reject, hangup, refer = seen
    assert reject.url.path.endswith("/rtc_abc/reject")
    assert json.loads(reject.content) == {"status_code": 603}
    assert hangup.url.path.endswith("/rtc_abc/hangup") and hangup.content == b""
    assert "content-type" not in hangup.headers
    assert json.loads(refer.content) == {"target_uri": "tel:+14155550100"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_calls_retry_on_429_and_5xx(sessions: Path, status: int) -> None:
    """A 429 or 5xx is retried (Retry-After honoured) like a mint; the audit says so."""
    seen, transport = mock(
        httpx.Response(status, headers={"retry-after-ms": "1"}), httpx.Response(200)
    )
    record = records(sessions)["support"]
    with capture_audit() as audit, applier(transport, audit=audit, retry=FAST) as a:
        call = a.accept_call(record, "rtc_abc")
    assert call.ok and call.attempts == 2 and len(seen) == 2
    assert audit.events() == ["call.retrying", "call.accepted"]


def test_a_400_fails_at_once_and_points_at_the_toml_line(sessions: Path) -> None:
    """A 4xx is not retried; error.param is traced back to the line that set the field."""
    error = {
        "error": {
            "message": "bad speed",
            "type": "invalid_request_error",
            "param": "audio.output.speed",
            "code": None,
        }
    }
    seen, transport = mock(httpx.Response(400, json=error))
    with applier(transport) as a:
        call = a.accept_call(records(sessions)["support"], "rtc_abc")
    assert not call.ok and len(seen) == 1 and call.error is not None
    assert call.error.http_status == 400 and call.error.path == "audio.output.speed"
    assert call.error.line == 11


def test_create_without_location_is_an_invalid_response_not_retried(sessions: Path) -> None:
    """A 201 without a call id in Location fails, and is not retried (a call may exist)."""
    seen, transport = mock(httpx.Response(201, content=ANSWER.encode()))
    with applier(transport, retry=FAST) as a:
        call = a.create_call(records(sessions)["support"], OFFER)
    assert not call.ok and call.error is not None and call.error.kind == "invalid_response"
    assert len(seen) == 1


def test_templates_that_cannot_take_calls_are_refused_before_any_request(sessions: Path) -> None:
    """Transcription and beta templates: ConfigError saying why; nothing is sent."""
    seen, transport = mock()
    found = records(sessions)
    with applier(transport) as a:
        for name in ("notes", "legacy"):
            with pytest.raises(rtconfig.ConfigError, match='only GA type = "realtime"'):
                a.accept_call(found[name], "rtc_abc")
            with pytest.raises(rtconfig.ConfigError, match="cannot take calls"):
                a.create_call(found[name], OFFER)
    assert seen == []


@pytest.mark.parametrize("offer", ["", "x" * 70_000, b"\xff\xfe", "not sdp"])
def test_bad_offers_are_refused_before_any_request(sessions: Path, offer: Any) -> None:
    """An empty, oversized, non-text or non-SDP offer: UsageError, nothing sent."""
    seen, transport = mock()
    with applier(transport) as a, pytest.raises(rtconfig.UsageError):
        a.create_call(records(sessions)["support"], offer)
    assert seen == []


@pytest.mark.parametrize("call_id", ["rtc_../../client_secrets", "abc", "rtc_a/b"])
def test_bad_call_ids_are_refused_before_any_request(sessions: Path, call_id: str) -> None:
    """A call id that is not rtc_… cannot reach a URL."""
    seen, transport = mock()
    with applier(transport) as a:
        with pytest.raises(rtconfig.UsageError):
            a.accept_call(records(sessions)["support"], call_id)
        with pytest.raises(rtconfig.UsageError):
            a.hangup_call(call_id)
    assert seen == []


def test_a_missing_key_fails_without_sending(sessions: Path) -> None:
    """No key in the environment: a failed Call (missing_api_key), audited, nothing sent."""
    seen, transport = mock()
    with (
        capture_audit() as audit,
        rtconfig.Applier(environ={}, transport=transport, audit=audit) as a,
    ):
        call = a.accept_call(records(sessions)["support"], "rtc_abc")
    assert not call.ok and call.error is not None and call.error.kind == "missing_api_key"
    assert seen == [] and audit.events() == ["call.failed"]


def test_audit_records_carry_the_session_hash_and_never_secrets(sessions: Path) -> None:
    """call.created/call.accepted: template, env, call_id, body_sha256 = session_sha256,
    status, request id, latency; no key, SDP offer or SDP answer anywhere in them."""
    _, transport = mock(created(), httpx.Response(200, headers={"x-request-id": "req_2"}))
    record = records(sessions)["support"]
    with capture_audit() as audit, applier(transport, audit=audit) as a:
        a.create_call(record, OFFER)
        a.accept_call(record, "rtc_abc123")
    created_record, accepted = audit.records
    assert created_record["event"] == "call.created" and accepted["event"] == "call.accepted"
    for entry in (created_record, accepted):
        assert entry["template"] == "support" and entry["call_id"] == "rtc_abc123"
        assert entry["body_sha256"] == record.session_sha256
        assert isinstance(entry["latency_ms"], float)
    assert accepted["request_id"] == "req_2" and accepted["http_status"] == 200
    text = json.dumps(audit.records)
    assert KEY not in text and "SECRET-OFFER-MARKER" not in text
    assert "SECRET-ANSWER-MARKER" not in text


def test_the_sdp_never_shows_in_a_repr(sessions: Path) -> None:
    """Call's repr hides the SDP answer."""
    _, transport = mock(created())
    with applier(transport) as a:
        call = a.create_call(records(sessions)["support"], OFFER)
    assert "SECRET-ANSWER-MARKER" not in repr(call)


# --- the async applier ---------------------------------------------------------------------


def test_async_applier_carries_calls(sessions: Path) -> None:
    """AsyncApplier: the same methods, awaited, with the same wire shapes."""
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return created() if request.url.path.endswith("/calls") else httpx.Response(200)

    record = records(sessions)["support"]

    async def main_() -> list[Any]:
        async with rtconfig.AsyncApplier(
            environ={"OPENAI_API_KEY": KEY}, transport=httpx.MockTransport(handle)
        ) as a:
            return [
                await a.create_call(record, OFFER),
                await a.accept_call(record, "rtc_abc123"),
                await a.reject_call("rtc_abc123", 486, settings=record.settings),
                await a.hangup_call("rtc_abc123", record=record),
                await a.refer_call("rtc_abc123", "sip:agent@example.com", record=record),
            ]

    results = asyncio.run(main_())
    assert all(r.ok for r in results) and results[0].sdp == ANSWER
    assert [r.url.path.rsplit("/", 1)[-1] for r in seen] == [
        "calls",
        "accept",
        "reject",
        "hangup",
        "refer",
    ]
    assert json.loads(seen[2].content) == {"status_code": 486}


# --- against the emulator --------------------------------------------------------------------


def test_every_carrier_against_the_emulator(sessions: Path) -> None:
    """create → SDP answer and rtc_ id; accept, refer, hangup, reject; states tracked."""
    with Emulator() as api, applier() as a:
        found = records(sessions, api.base_url)
        call = a.create_call(found["support"], OFFER)
        assert call.ok and call.call_id is not None and call.call_id.startswith("rtc_")
        assert call.sdp is not None and call.sdp.startswith("v=0\r\n") and "m=audio" in call.sdp
        assert api.calls[call.call_id] == "active"
        assert a.hangup_call(call.call_id, record=found["support"]).ok
        assert api.calls[call.call_id] == "ended"
        assert a.accept_call(found["support"], "rtc_sip1").ok
        assert a.refer_call("rtc_sip1", "tel:+14155550100", record=found["support"]).ok
        assert a.reject_call("rtc_sip2", record=found["support"]).ok
        assert api.calls["rtc_sip2"] == "rejected"
        (create, *_rest) = api.requests
    assert create.path == "/v1/realtime/calls"
    assert create.headers["content-type"].startswith("multipart/form-data")


def test_emulator_accept_takes_only_ga_realtime_sessions() -> None:
    """Sent directly, a transcription session to accept is a 400 naming type."""
    with Emulator() as api:
        response = httpx.post(
            f"{api.base_url}/realtime/calls/rtc_abc/accept",
            json={"type": "transcription"},
            headers={"Authorization": "Bearer sk-x"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "type"


def test_emulator_calls_needs_an_sdp_part() -> None:
    """A calls request without a multipart sdp part is a 400."""
    with Emulator() as api:
        response = httpx.post(
            f"{api.base_url}/realtime/calls",
            files={"session": (None, "{}", "application/json")},
            headers={"Authorization": "Bearer sk-x"},
        )
    assert response.status_code == 400 and response.json()["error"]["param"] == "sdp"


def test_emulator_faults_work_on_call_routes(sessions: Path) -> None:
    """Faults aimed at a call route are served there (a 503, then a dropped connection)."""
    with Emulator() as api, applier(retry=FAST) as a:
        api.inject(Fault(status=503, route="accept"), Fault(drop=True, route="accept"))
        call = a.accept_call(records(sessions, api.base_url)["support"], "rtc_abc")
        assert call.ok and call.attempts == 3 and api.pending_faults == 0


def test_emulator_sends_signed_incoming_calls() -> None:
    """Emulator.send_incoming_call posts a webhook a verifier accepts, and tracks the call."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    secret = "whsec_ZW11bGF0b3Itc2VjcmV0LWtleS0wMTIz"
    verifier = rtconfig.WebhookVerifier(secret)
    events: list[Any] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            events.append(verifier.verify(body, dict(self.headers.items())))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Emulator() as api:
            sent = api.send_incoming_call(
                f"http://127.0.0.1:{server.server_address[1]}/",
                secret,
                sip_headers={"To": "<sip:+14155550100@sip.example>"},
            )
            assert sent.status == 200 and api.calls[sent.call_id] == "incoming"
    finally:
        server.shutdown()
        server.server_close()
    assert events[0].call_id == sent.call_id
    assert events[0].header("To") == "<sip:+14155550100@sip.example>"


# --- rtconfig call ---------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    environ = {"OPENAI_API_KEY": KEY, **(env or {})}
    return CliRunner().invoke(main, ["call", *args], env=environ, catch_exceptions=False)


def test_cli_accept_reject_hangup_against_the_emulator(sessions: Path, tmp_path: Path) -> None:
    """call accept/reject/hangup: JSON result, exit 0, audit records beside FILE (or -audit)."""
    log = tmp_path / "audit.jsonl"
    with Emulator() as api:
        common = ["--base-url", api.base_url, "--audit-log", str(log)]
        accepted = cli("accept", str(sessions), "support", "--call-id", "rtc_cli1", *common)
        rejected = cli("reject", str(sessions), "--call-id", "rtc_cli2", "--status", "486", *common)
        hung = cli("hangup", str(sessions), "--call-id", "rtc_cli1", *common)
        bodies = [r.body for r in api.requests]
    assert [r.exit_code for r in (accepted, rejected, hung)] == [0, 0, 0], accepted.stderr
    assert json.loads(accepted.stdout)["ok"] is True
    assert json.loads(bodies[1]) == {"status_code": 486} and bodies[2] == b""
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events] == ["call.accepted", "call.rejected", "call.hung_up"]
    assert KEY not in log.read_text() + accepted.stderr + accepted.stdout


def test_cli_accept_refuses_a_transcription_template(sessions: Path, tmp_path: Path) -> None:
    """exit 1, the reason at the template's line, nothing sent."""
    with Emulator() as api:
        result = cli(
            "accept",
            str(sessions),
            "notes",
            "--call-id",
            "rtc_x",
            "--base-url",
            api.base_url,
            "--audit-log",
            str(tmp_path / "a.jsonl"),
        )
        assert api.requests == []
    assert result.exit_code == 1
    assert f"{sessions}:" in result.stderr and "cannot take calls" in result.stderr


def test_cli_exit_3_when_the_request_fails(sessions: Path, tmp_path: Path) -> None:
    """A persistent 500 after the retries: exit 3 with the error on stderr."""
    with Emulator() as api:
        api.inject(*[Fault(status=500, route="hangup")] * 5)
        result = cli(
            "hangup",
            str(sessions),
            "--call-id",
            "rtc_x",
            "--base-url",
            api.base_url,
            "--audit-log",
            str(tmp_path / "a.jsonl"),
        )
    assert result.exit_code == 3 and json.loads(result.stdout)["ok"] is False


def test_cli_bad_call_id_is_a_usage_error(sessions: Path) -> None:
    """A call id that is not rtc_…: exit 2, nothing sent."""
    result = cli("hangup", str(sessions), "--call-id", "../x")
    assert result.exit_code == 2 and "not an OpenAI call id" in result.stderr
