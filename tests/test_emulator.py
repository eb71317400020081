"""The emulator (rtconfig.testing): OpenAI-like answers, validation, faults, recording."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtconfig._emulated import SEED_GA_SESSION
from rtconfig._endpoints import Endpoint
from rtconfig.testing import EMULATOR_API_KEY, Emulator, Fault, capture_audit

AUTH = {"Authorization": "Bearer sk-anything"}
GA = {"expires_after": {"seconds": 120}, "session": {"type": "realtime", "model": "gpt-realtime"}}


def post(api: Emulator, endpoint: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", AUTH)
    with httpx.Client(timeout=5.0) as client:
        return client.post(f"{api.base_url}/{endpoint}", json=body, headers=headers, **kwargs)


@pytest.fixture
def api() -> Any:
    with Emulator() as emulator:
        yield emulator


def test_serves_on_loopback_with_an_ephemeral_port(api: Emulator) -> None:
    """The base URL is http://127.0.0.1:<ephemeral>/v1."""
    assert api.base_url == f"http://127.0.0.1:{api.port}/v1" and api.port > 0


def test_requires_a_bearer_token(api: Emulator) -> None:
    """No Authorization header: 401 with OpenAI's error shape."""
    response = post(api, "realtime/client_secrets", GA, headers={})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and "API key" in error["message"]


def test_restricted_keys_reject_others() -> None:
    """With api_keys given, another bearer token gets 401 invalid_api_key."""
    with Emulator(api_keys=["sk-good-key-1234"]) as api:
        assert post(api, "realtime/client_secrets", GA).json()["error"]["code"] == "invalid_api_key"
        good = {"Authorization": "Bearer sk-good-key-1234"}
        assert post(api, "realtime/client_secrets", GA, headers=good).status_code == 200


def test_ga_answer_is_a_realistic_client_secret(api: Emulator) -> None:
    """GA: top-level ek_ value and expires_at from expires_after, session with id/object/type."""
    before = int(time.time())
    response = post(api, "realtime/client_secrets", GA)
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    data = response.json()
    assert data["value"].startswith("ek_") and data["value"] in api.tokens
    assert before + 120 <= data["expires_at"] <= int(time.time()) + 120
    session = data["session"]
    assert session["id"].startswith("sess_") and session["object"] == "realtime.session"
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime"


def test_beta_answers_carry_client_secret_objects(api: Emulator) -> None:
    """Beta sessions and transcription sessions: id, object, echo, client_secret {value, ...}."""
    session = post(api, "realtime/sessions", {"model": "gpt-realtime", "voice": "ash"}).json()
    assert session["object"] == "realtime.session" and session["voice"] == "ash"
    assert session["client_secret"]["value"].startswith("ek_")
    transcription = post(api, "realtime/transcription_sessions", {}).json()
    assert transcription["object"] == "realtime.transcription_session"
    assert transcription["client_secret"]["expires_at"] > time.time()
    assert session["client_secret"]["value"] != transcription["client_secret"]["value"]


def test_invalid_body_gets_400_naming_the_param(api: Emulator) -> None:
    """A body rtconfig's checks reject gets 400 invalid_request_error with param and code."""
    body = {"session": {"type": "realtime", "audio": {"output": {"speed": 3.0}}}}
    response = post(api, "realtime/client_secrets", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "session.audio.output.speed"
    assert error["code"] == "invalid_value" and "1.5" in error["message"]


def test_non_json_body_and_unknown_paths(api: Emulator) -> None:
    """Garbage bodies get 400; unknown paths 404, both in OpenAI's error shape."""
    with httpx.Client() as client:
        bad = client.post(f"{api.base_url}/realtime/sessions", content=b"{", headers=AUTH)
        missing = client.post(f"{api.base_url}/realtime/nope", json={}, headers=AUTH)
    assert bad.status_code == 400 and "parse the JSON" in bad.json()["error"]["message"]
    assert missing.status_code == 404 and "Invalid URL" in missing.json()["error"]["message"]


def test_faults_are_served_in_order_with_their_headers(api: Emulator) -> None:
    """Queued faults are used one per request, in order, then normal answers resume."""
    api.inject(
        Fault.rate_limited(retry_after=2, retry_after_ms=1500),
        Fault.server_error(503, x_should_retry="false"),
    )
    first = post(api, "realtime/client_secrets", GA)
    second = post(api, "realtime/client_secrets", GA)
    third = post(api, "realtime/client_secrets", GA)
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert first.headers["retry-after-ms"] == "1500"
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert second.status_code == 503 and second.headers["x-should-retry"] == "false"
    assert third.status_code == 200 and api.pending_faults == 0


def test_faults_can_target_one_endpoint(api: Emulator) -> None:
    """A fault bound to an endpoint waits for a request to that endpoint."""
    api.inject(Fault(status=500, endpoint=Endpoint.SESSIONS))
    assert post(api, "realtime/client_secrets", GA).status_code == 200
    assert post(api, "realtime/sessions", {}).status_code == 500


def test_dropped_connection_fault(api: Emulator) -> None:
    """A drop closes the connection without a response."""
    api.inject(Fault.dropped())
    with pytest.raises(httpx.RemoteProtocolError):
        post(api, "realtime/client_secrets", GA)
    assert post(api, "realtime/client_secrets", GA).status_code == 200


def test_garbage_and_tokenless_200_faults(api: Emulator) -> None:
    """not_json gives a 200 HTML body; no_token a 200 session object without its token."""
    api.inject(Fault(not_json=True), Fault(no_token=True), Fault(no_token=True))
    html = post(api, "realtime/client_secrets", GA)
    assert html.status_code == 200 and html.text.startswith("<html>")
    tokenless = post(api, "realtime/client_secrets", GA).json()
    assert "value" not in tokenless and tokenless["session"]["id"].startswith("sess_")
    beta = post(api, "realtime/sessions", {}).json()
    assert beta["client_secret"] is None
    assert api.tokens == []


def test_latency_fault_delays_the_answer(api: Emulator) -> None:
    """A slow fault answers normally, late; a client timeout shorter than it fires."""
    api.inject(Fault.slow(0.3), Fault.slow(2.0))
    start = time.monotonic()
    assert post(api, "realtime/client_secrets", GA).status_code == 200
    assert time.monotonic() - start >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        post(api, "realtime/client_secrets", GA, timeout=0.2)


def test_close_ends_promptly_even_with_a_hanging_answer() -> None:
    """close() does not wait for a fault's long delay to elapse."""
    api = Emulator().start()
    api.inject(Fault.slow(60.0))
    with httpx.Client(timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{api.base_url}/realtime/client_secrets", json=GA, headers=AUTH)
    start = time.monotonic()
    api.close()
    assert time.monotonic() - start < 5.0


def test_requests_are_recorded_for_assertions(api: Emulator) -> None:
    """Every request is kept: method, path, endpoint, lower-cased headers, body, status."""
    post(api, "realtime/client_secrets", GA, headers={"Authorization": "Bearer k", "X-Test": "1"})
    (request,) = api.requests
    assert (request.method, request.path, request.endpoint) == (
        "POST",
        "/v1/realtime/client_secrets",
        Endpoint.CLIENT_SECRETS,
    )
    assert request.headers["x-test"] == "1" and request.json == GA and request.status == 200


def test_environ_helper_and_capture_audit() -> None:
    """Emulator.environ gives a dummy key; capture_audit collects records in memory."""
    with Emulator() as api:
        assert api.environ("MY_KEY") == {"MY_KEY": EMULATOR_API_KEY}
    with capture_audit() as audit:
        audit.emit("apply.started", count=2)
    assert audit.records == [{"event": "apply.started", "count": 2}]
    assert audit.of("apply.started") and audit.events() == ["apply.started"]


# --- answers like OpenAI (issue 11 item 5) ---------------------------------------------------

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "realtime-openapi.yaml"


def test_the_seed_session_is_the_spec_example() -> None:
    """SEED_GA_SESSION, the one copy of the seed session body (the emulator answers from it, the
    tests import it), is the session of the spec's RealtimeCreateClientSecretResponse example,
    but for its model id, which is no model (NOTES §25)."""
    yaml = pytest.importorskip("yaml")
    schemas = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    example = json.loads(schemas["RealtimeCreateClientSecretResponse"]["x-oaiMeta"]["example"])
    assert example["session"]["model"] == "gpt-realtime-2025-08-25"
    assert {**example["session"], "model": "gpt-realtime"} == SEED_GA_SESSION


def shape(value: Any) -> Any:
    """Keys and JSON kinds, recursively: what 'equal in shape' means."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def test_ga_session_has_the_shape_of_the_seed_example(api: Emulator) -> None:
    """A minimal GA request is answered with every field the API fills in, as the seed example."""
    session = post(api, "realtime/client_secrets", {"session": {"type": "realtime"}}).json()
    session = session["session"]
    assert shape(session) == shape(SEED_GA_SESSION)
    assert session["id"].startswith("sess_") and session["id"] != SEED_GA_SESSION["id"]
    assert {k: v for k, v in session.items() if k not in ("id", "model")} == {
        k: v for k, v in SEED_GA_SESSION.items() if k not in ("id", "model")
    }
    assert session["model"] == "gpt-realtime-2.1"  # no announced shutdown


def test_ga_session_echoes_what_was_sent_over_the_defaults(api: Emulator) -> None:
    """Sent fields win; tables merge with the defaults; semantic VAD gets its own defaults."""
    body = {
        "session": {
            "type": "realtime",
            "model": "gpt-realtime-2.1",
            "audio": {
                "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}},
                "output": {"voice": "marin"},
            },
        }
    }
    session = post(api, "realtime/client_secrets", body).json()["session"]
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "marin",
        "speed": 1.0,
    }
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }
    off = {"session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}}
    answer = post(api, "realtime/client_secrets", off).json()["session"]
    assert answer["audio"]["input"]["turn_detection"] is None


def test_ga_transcription_session_is_complete(api: Emulator) -> None:
    """A GA transcription answer has the transcription object and the full input audio."""
    body = {"session": {"type": "transcription"}}
    session = post(api, "realtime/client_secrets", body).json()["session"]
    assert session["object"] == "realtime.transcription_session"
    assert set(session) == {"type", "object", "id", "expires_at", "audio", "include"}
    assert set(session["audio"]["input"]) == {
        "format",
        "transcription",
        "noise_reduction",
        "turn_detection",
    }


def test_beta_session_is_complete(api: Emulator) -> None:
    """Beta answers now carry turn_detection, speed and tracing (and still mint)."""
    session = post(api, "realtime/sessions", {"model": "gpt-realtime", "voice": "ash"}).json()
    for key in ("turn_detection", "speed", "tracing", "temperature", "modalities"):
        assert key in session, key
    assert session["turn_detection"]["type"] == "server_vad" and session["speed"] == 1.0
    assert session["voice"] == "ash" and session["client_secret"]["value"].startswith("ek_")


@pytest.mark.parametrize(
    ("endpoint", "body", "param"),
    [
        (
            "realtime/client_secrets",
            {"session": {"type": "realtime", "model": "gpt-9"}},
            "session.model",
        ),
        ("realtime/sessions", {"model": "gpt-9"}, "model"),
        (
            "realtime/client_secrets",
            {
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"model": "whisper-9"}}},
                }
            },
            "session.audio.input.transcription.model",
        ),
    ],
)
def test_unknown_models_get_invalid_model(
    api: Emulator, endpoint: str, body: dict[str, Any], param: str
) -> None:
    """A model the API does not list is a 400 invalid_model naming the param, as OpenAI answers."""
    response = post(api, endpoint, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_model" and error["param"] == param
    assert error["type"] == "invalid_request_error" and "does not exist" in error["message"]
    assert api.tokens == []


def test_models_of_your_own_are_accepted_when_named() -> None:
    """Emulator(models=…) accepts models OpenAI does not list (a fine-tune, a newer model)."""
    with Emulator(models=["gpt-9"]) as api:
        body = {"session": {"type": "realtime", "model": "gpt-9"}}
        assert post(api, "realtime/client_secrets", body).status_code == 200


def raw_exchange(api: Emulator, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes (or 5 s)."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "length",
    ["abc", "-1", "12, 13", str(10**12), "１２"],
    ids=["word", "neg", "list", "huge", "uni"],
)
def test_bad_or_huge_content_length_is_a_400(api: Emulator, length: str) -> None:
    """A Content-Length that is not one sane integer is a 400 and a closed connection."""
    request = (
        "POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer k\r\nContent-Length: {length}\r\n\r\n{{}}"
    ).encode()
    answer = raw_exchange(api, request)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in answer and b"invalid_request_error" in answer
    assert b"Traceback" not in answer
    assert post(api, "realtime/client_secrets", GA).status_code == 200  # still serving


def test_request_history_is_bounded() -> None:
    """Only the last `history` requests and tokens are kept."""
    with Emulator(history=3) as api:
        for seconds in range(10, 15):
            post(api, "realtime/client_secrets", {**GA, "expires_after": {"seconds": seconds}})
        assert [r.json["expires_after"]["seconds"] for r in api.requests] == [12, 13, 14]
        assert len(api.tokens) == 3


def test_idle_connections_are_closed_and_free_their_thread() -> None:
    """A connection that sends nothing is closed after idle_timeout_s; its thread ends."""
    with Emulator(idle_timeout_s=0.3) as api:
        before = threading.active_count()
        conns = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(5)]
        try:
            time.sleep(0.1)
            assert threading.active_count() >= before + 5
            for conn in conns:
                conn.settimeout(5)
                assert conn.recv(1) == b""  # the server hung up
            deadline = time.monotonic() + 5
            while threading.active_count() > before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert threading.active_count() <= before
        finally:
            for conn in conns:
                conn.close()
        assert post(api, "realtime/client_secrets", GA).status_code == 200
