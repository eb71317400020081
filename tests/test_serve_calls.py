"""The call routes of ``rtconfig serve`` over real HTTP, the emulator upstream: a browser's
SDP offer through ``/v1/templates/T/calls``, and OpenAI's signed SIP webhook routed by
``[[serve.sip]]`` (CONTRACT §10, §11)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtconfig.testing import EMULATOR_API_KEY, Emulator, Fault, RecordedRequest
from tests._serve_helpers import BASE_TOML, SERVE_TOKEN, WEBHOOK_SECRET, Served, serving

pytest.importorskip("starlette", reason="needs the serve extra")
send_incoming_call = pytest.importorskip("rtconfig.testing").__dict__.get("send_incoming_call")

AUTH = {"Authorization": f"Bearer {SERVE_TOKEN}"}
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    + ":".join(["AB"] * 32)
    + "\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
)
SIP_TOML = """\
[serve]
templates = ["support", "sales"]
tokens_env = "RTCONFIG_SERVE_TOKENS"
rate = "100/minute"
webhook_secret_env = "OPENAI_WEBHOOK_SECRET"

[[serve.sip]]
header = "To"
match = "^<sip:\\\\+14155550100@"
template = "support"

[[serve.sip]]
header = "To"
match = "^<sip:\\\\+1"
template = "sales"
"""


@pytest.fixture(scope="module")
def api() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(api: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if send_incoming_call is None:
        pytest.skip("the carriers (issue 12) are not on this branch yet")
    environ = {
        "OPENAI_API_KEY": EMULATOR_API_KEY,
        "OPENAI_BASE_URL": api.base_url,
        "RTCONFIG_SERVE_TOKENS": SERVE_TOKEN,
        "OPENAI_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    with serving(tmp_path_factory.mktemp("calls"), BASE_TOML + SIP_TOML, environ) as served:
        yield served


def _calls_to(api: Emulator, suffix: str, since: int) -> list[RecordedRequest]:
    return [r for r in api.requests[since:] if r.path.split("?")[0].endswith(suffix)]


def _wait_for(api: Emulator, suffix: str, since: int, count: int = 1) -> list[RecordedRequest]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = _calls_to(api, suffix, since)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {suffix} request in {[r.path for r in api.requests[since:]]}")


def _parts(request: RecordedRequest) -> dict[str, tuple[str, bytes]]:
    """The multipart/form-data parts of a recorded request: name -> (content type, body)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = message_from_bytes(head + request.body, policy=HTTP)
    out: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = (part.get_content_type(), part.get_payload(decode=True) or b"")
    return out


# ---- the calls route --------------------------------------------------------------------------


def test_calls_route_forwards_offer_with_reviewed_session(server: Served, api: Emulator) -> None:
    """201 with the SDP answer (application/sdp) and Location /v1/calls/rtc_…; upstream got the
    offer and the reviewed session as multipart parts."""
    since = len(api.requests)
    response = httpx.post(
        server.url + "/v1/templates/support/calls",
        headers={**AUTH, "Content-Type": "application/sdp"},
        content=OFFER,
        timeout=20,
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/sdp")
    assert response.text.startswith("v=0")
    assert response.headers["location"].startswith("/v1/calls/rtc_")
    assert response.headers["cache-control"] == "no-store"
    (upstream,) = _calls_to(api, "/realtime/calls", since)
    parts = _parts(upstream)
    assert parts["sdp"] == ("application/sdp", OFFER.encode())
    session = json.loads(parts["session"][1])
    assert session["type"] == "realtime"
    assert session["instructions"] == "Reviewed secret instructions."
    record = server.wait_audit("serve.request")[-1]
    assert record["route"] == "calls" and record["call_id"] == response.headers["location"][10:]
    assert OFFER[:40] not in server.audit_path.read_text()


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", OFFER, 415),
        ("application/sdp", "hello", 400),
        ("application/sdp", "v=0\r\n" + "a=x\r\n" * 20_000, 413),
    ],
)
def test_calls_route_refuses_what_is_not_an_offer(
    server: Served, api: Emulator, content_type: str, body: str, status: int
) -> None:
    """Wrong media type, not SDP, or more than 64 KiB: refused before anything is sent."""
    since = len(api.requests)
    response = httpx.post(
        server.url + "/v1/templates/support/calls",
        headers={**AUTH, "Content-Type": content_type},
        content=body,
        timeout=20,
    )
    assert response.status_code == status
    assert _calls_to(api, "/realtime/calls", since) == []


def test_calls_route_needs_a_token(server: Served) -> None:
    """No bearer token: 401 on the calls route too."""
    response = httpx.post(
        server.url + "/v1/templates/support/calls",
        headers={"Content-Type": "application/sdp"},
        content=OFFER,
    )
    assert response.status_code == 401


def test_calls_upstream_failure_is_generic_502(server: Served, api: Emulator) -> None:
    """OpenAI refusing the call: 502 without its body."""
    api.inject(Fault(status=400, body={"error": {"message": "SECRET-DETAIL", "type": "x"}}))
    response = httpx.post(
        server.url + "/v1/templates/support/calls",
        headers={**AUTH, "Content-Type": "application/sdp"},
        content=OFFER,
        timeout=20,
    )
    assert response.status_code == 502 and "SECRET-DETAIL" not in response.text


# ---- the SIP webhook --------------------------------------------------------------------------


def _deliver(server: Served, **event: Any) -> Any:
    assert send_incoming_call is not None
    return send_incoming_call(server.url + "/v1/webhooks/openai", WEBHOOK_SECRET, **event)


def test_matching_call_is_accepted_with_the_first_matching_template(
    server: Served, api: Emulator
) -> None:
    """A To header matching the first rule: 200 at once, then accept with `support`'s session
    (flat, type realtime, no expires_after)."""
    since = len(api.requests)
    delivered = _deliver(server, sip_headers={"To": "<sip:+14155550100@sip.example.com>"})
    assert delivered.status == 200
    (accept,) = _wait_for(api, f"/realtime/calls/{delivered.call_id}/accept", since)
    body = accept.json
    assert body["type"] == "realtime" and body["instructions"] == "Reviewed secret instructions."
    assert "expires_after" not in body and "session" not in body
    sip = server.wait_audit("serve.sip")
    mine = [r for r in sip if r["call_id"] == delivered.call_id]
    assert mine and mine[-1]["decision"] == "accept" and mine[-1]["template"] == "support"


def test_second_rule_matches_when_first_does_not(server: Served, api: Emulator) -> None:
    """Rules are tried in order: another +1 number goes to `sales`."""
    since = len(api.requests)
    delivered = _deliver(server, sip_headers={"To": "<sip:+12125550100@sip.example.com>"})
    assert delivered.status == 200
    _wait_for(api, f"/realtime/calls/{delivered.call_id}/accept", since)
    sip = [r for r in server.wait_audit("serve.sip") if r["call_id"] == delivered.call_id]
    assert sip[-1]["template"] == "sales"


def test_unmatched_call_is_rejected_603(server: Served, api: Emulator) -> None:
    """No rule matches: the call is rejected with status 603."""
    since = len(api.requests)
    delivered = _deliver(server, sip_headers={"To": "<sip:+442071234567@sip.example.com>"})
    assert delivered.status == 200
    (reject,) = _wait_for(api, f"/realtime/calls/{delivered.call_id}/reject", since)
    assert reject.json == {"status_code": 603}
    assert _calls_to(api, f"/realtime/calls/{delivered.call_id}/accept", since) == []


def test_accept_is_retried_in_the_background(server: Served, api: Emulator) -> None:
    """The first accept fails (500): the webhook was already answered 200, and the accept is
    tried again until it succeeds."""
    since = len(api.requests)
    api.inject(Fault.server_error(500))
    delivered = _deliver(server, sip_headers={"To": "<sip:+14155550100@sip.example.com>"})
    assert delivered.status == 200
    _wait_for(api, f"/realtime/calls/{delivered.call_id}/accept", since, count=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [r for r in server.audit("serve.sip") if r["call_id"] == delivered.call_id]
        if mine:
            break
        time.sleep(0.05)
    assert mine[-1]["ok"] is True and mine[-1]["attempts"] == 2


def test_bad_stale_and_replayed_webhooks_are_400(server: Served, api: Emulator) -> None:
    """A wrong signature, a timestamp past the 300 s tolerance, and a replayed webhook-id are
    refused with 400, and none reaches OpenAI."""
    since = len(api.requests)
    url = server.url + "/v1/webhooks/openai"
    assert send_incoming_call is not None
    wrong = send_incoming_call(url, "whsec_" + "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")
    assert wrong.status == 400
    stale = _deliver(server, timestamp=int(time.time()) - 3600)
    assert stale.status == 400
    first = _deliver(server, webhook_id="wh_replayed_once", sip_headers={"To": "<sip:+44@x>"})
    again = _deliver(server, webhook_id="wh_replayed_once", sip_headers={"To": "<sip:+44@x>"})
    assert first.status == 200 and again.status == 400
    unsigned = httpx.post(url, content=b'{"type": "realtime.call.incoming"}')
    assert unsigned.status_code == 400
    time.sleep(0.5)
    for refused in (wrong, stale):
        assert _calls_to(api, f"/realtime/calls/{refused.call_id}/accept", since) == []
    reasons = [r.get("reason") for r in server.audit("serve.request") if r["status"] == 400]
    assert len(reasons) >= 4


def test_metrics_count_sip_decisions(server: Served) -> None:
    """/metrics counts accepts and rejects by template and outcome."""
    text = httpx.get(server.url + "/metrics").text
    assert 'carrier="sip_accept",outcome="ok",template="support"' in text
    assert 'carrier="sip_reject",outcome="ok"' in text


def test_webhook_route_is_off_without_a_secret(api: Emulator, tmp_path: Path) -> None:
    """Without webhook_secret_env there is no webhook route (404)."""
    toml = BASE_TOML + SIP_TOML.split("[[serve.sip]]")[0].replace(
        'webhook_secret_env = "OPENAI_WEBHOOK_SECRET"\n', ""
    )
    environ = {
        "OPENAI_API_KEY": EMULATOR_API_KEY,
        "OPENAI_BASE_URL": api.base_url,
        "RTCONFIG_SERVE_TOKENS": SERVE_TOKEN,
    }
    with serving(tmp_path, toml, environ) as served:
        response = httpx.post(served.url + "/v1/webhooks/openai", content=b"{}")
    assert response.status_code == 404
