"""Webhook verification (CONTRACT §10, NOTES §9): Standard Webhooks signatures, timestamps,
replays, bounds, and the typed ``realtime.call.incoming`` event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import rtconfig
from rtconfig import IncomingCall, WebhookError, WebhookEvent, WebhookVerifier, verify_webhook
from rtconfig.testing import (
    incoming_call_event,
    send_incoming_call,
    sign_webhook,
    signed_incoming_call,
)

SECRET = "whsec_" + base64.b64encode(b"a very secret webhook key 0123456").decode()
NOW = 1_800_000_000


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def delivery(**event: Any) -> tuple[bytes, dict[str, str]]:
    event.setdefault("timestamp", NOW)
    return signed_incoming_call(SECRET, **event)


def verifier(**kwargs: Any) -> WebhookVerifier:
    kwargs.setdefault("clock", Clock())
    return WebhookVerifier(SECRET, **kwargs)


def reason(call: Any) -> str:
    with pytest.raises(WebhookError) as caught:
        call()
    return caught.value.reason


def test_standard_webhooks_reference_vector() -> None:
    """The signature matches the Standard Webhooks specification's published test vector."""
    headers = sign_webhook(
        b'{"test": 2432232314}',
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        webhook_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signed_text_and_key_are_as_documented() -> None:
    """HMAC-SHA256 of "{id}.{ts}.{body}" keyed with the base64-decoded secret after whsec_."""
    body = b'{"x":1}'
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, b"wh_1.1700000000." + body, hashlib.sha256).digest()
    headers = sign_webhook(body, SECRET, webhook_id="wh_1", timestamp=1700000000)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_a_secret_without_prefix_is_used_as_raw_bytes() -> None:
    """A secret without whsec_ keys the HMAC with its own bytes."""
    mac = hmac.new(b"plain-secret", b"wh_1.5.{}", hashlib.sha256).digest()
    headers = sign_webhook(b"{}", "plain-secret", webhook_id="wh_1", timestamp=5)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_incoming_call_parses_into_a_typed_event() -> None:
    """A valid delivery yields an IncomingCall: call id, SIP headers in order, media security."""
    body, headers = delivery(
        call_id="rtc_abc123",
        sip_headers=[("From", "<sip:+15551234@example.com>"), ("To", "<sip:+14155550100@x>")],
        sip_media_security="srtp",
    )
    event = verifier().verify(body, headers)
    assert isinstance(event, IncomingCall)
    assert event.type == "realtime.call.incoming" and event.id.startswith("evt_")
    assert event.call_id == "rtc_abc123" and event.sip_media_security == "srtp"
    assert event.header("to") == "<sip:+14155550100@x>"
    assert [h.name for h in event.sip_headers] == ["From", "To"]
    assert event.webhook_id == headers["webhook-id"]


def test_other_event_types_are_verified_but_generic() -> None:
    """A verified event of another type comes back as a plain WebhookEvent with its data."""
    body = json.dumps({"id": "evt_1", "type": "response.completed", "data": {"id": "r"}}).encode()
    headers = sign_webhook(body, SECRET, webhook_id="wh_2", timestamp=NOW)
    event = verifier().verify(body, headers)
    assert type(event) is WebhookEvent and event.data == {"id": "r"}


def test_headers_are_found_whatever_their_case() -> None:
    """Header names are matched case-insensitively (a plain dict with Title-Case keys works)."""
    body, headers = delivery()
    titled = {name.title(): value for name, value in headers.items()}
    assert isinstance(verifier().verify(body, titled), IncomingCall)


def test_one_matching_signature_among_several_is_enough() -> None:
    """Secret rotation: any v1 signature in the space-separated list may match; others ignored."""
    body, headers = delivery()
    headers["webhook-signature"] = f"v1a,abc v1,{'A' * 44} {headers['webhook-signature']}"
    assert isinstance(verifier().verify(body, headers), IncomingCall)


def test_a_changed_body_is_refused() -> None:
    """One byte changed in the body: bad_signature."""
    body, headers = delivery()
    assert reason(lambda: verifier().verify(body.replace(b"rtc_", b"rtc_x"), headers)) == (
        "bad_signature"
    )


def test_a_wrong_secret_is_refused() -> None:
    """Signed with another secret: bad_signature."""
    body, headers = signed_incoming_call(
        "whsec_" + base64.b64encode(b"other").decode(), timestamp=NOW
    )
    assert reason(lambda: verifier().verify(body, headers)) == "bad_signature"


def test_only_v1_signatures_count() -> None:
    """A valid MAC under another version tag is not accepted."""
    body, headers = delivery()
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    assert reason(lambda: verifier().verify(body, headers)) == "bad_signature"


@pytest.mark.parametrize(
    ("offset", "expected"), [(-301, "stale_timestamp"), (301, "future_timestamp")]
)
def test_timestamps_outside_300_s_are_refused(offset: int, expected: str) -> None:
    """More than 300 s old or ahead: refused (the signature is valid, the time is not)."""
    body, headers = delivery(timestamp=NOW + offset)
    assert reason(lambda: verifier().verify(body, headers)) == expected


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamps_at_the_tolerance_are_accepted(offset: int) -> None:
    """Exactly 300 s old or ahead is still accepted."""
    body, headers = delivery(timestamp=NOW + offset)
    assert isinstance(verifier().verify(body, headers), IncomingCall)


def test_a_garbled_timestamp_is_refused() -> None:
    """A timestamp that is not Unix seconds: bad_timestamp."""
    body, headers = delivery()
    headers["webhook-timestamp"] = "2026-12-01T10:00:00Z"
    assert reason(lambda: verifier().verify(body, headers)) == "bad_timestamp"


def test_a_replayed_webhook_id_is_refused() -> None:
    """The same delivery twice: the second is refused as a replay."""
    check = verifier()
    body, headers = delivery()
    check.verify(body, headers)
    assert reason(lambda: check.verify(body, headers)) == "replayed"


def test_replays_are_refused_until_the_timestamp_would_be_stale() -> None:
    """An id is remembered as long as its delivery could still pass the timestamp check."""
    clock = Clock()
    check = verifier(clock=clock)
    body, headers = delivery()
    check.verify(body, headers)
    clock.now = NOW + 300
    assert reason(lambda: check.verify(body, headers)) == "replayed"
    clock.now = NOW + 301
    assert reason(lambda: check.verify(body, headers)) == "stale_timestamp"


def test_the_replay_store_is_bounded() -> None:
    """With max_remembered=2 the store never holds more than two ids (oldest forgotten)."""
    check = verifier(max_remembered=2)
    first = delivery()
    check.verify(*first)
    for _ in range(3):
        check.verify(*delivery())
    assert "remembered=2" in repr(check)
    assert isinstance(check.verify(*first), IncomingCall)  # forgotten: the bound is the cost


def test_an_unsigned_delivery_is_not_remembered() -> None:
    """A forged delivery with a real id does not poison the store: the real one still passes."""
    check = verifier()
    body, headers = delivery()
    forged = {**headers, "webhook-signature": "v1," + "A" * 44}
    assert reason(lambda: check.verify(body, forged)) == "bad_signature"
    assert isinstance(check.verify(body, headers), IncomingCall)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing: str) -> None:
    """Each of the three headers is required."""
    body, headers = delivery()
    del headers[missing]
    assert reason(lambda: verifier().verify(body, headers)) == "missing_header"


def test_a_body_over_the_bound_is_refused_unread() -> None:
    """A body larger than max_bytes is refused before any signature work."""
    body, headers = delivery()
    assert reason(lambda: verifier(max_bytes=len(body) - 1).verify(body, headers)) == "too_large"


@pytest.mark.parametrize(
    "call_id", ["rtc_../../v1/realtime/client_secrets", "rtc_a/b", "call_123", "rtc_%2e%2e", ""]
)
def test_a_call_id_that_is_not_an_openai_id_is_malformed(call_id: str) -> None:
    """data.call_id must be rtc_ and URL-safe characters: nothing can be injected into a URL."""
    event = incoming_call_event()
    event["data"]["call_id"] = call_id
    body = json.dumps(event).encode()
    headers = sign_webhook(body, SECRET, webhook_id="wh_9", timestamp=NOW)
    assert reason(lambda: verifier().verify(body, headers)) == "malformed"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"id": 1, "type": "x", "data": {}}', b'{"id": "e", "type": "x"}'],
)
def test_malformed_payloads_are_refused(body: bytes) -> None:
    """Signed but not an event object: malformed, with no traceback."""
    headers = sign_webhook(body, SECRET, webhook_id="wh_8", timestamp=NOW)
    assert reason(lambda: verifier().verify(body, headers)) == "malformed"


def test_bad_sip_headers_are_malformed() -> None:
    """sip_headers entries must be {name, value} strings."""
    event = incoming_call_event()
    event["data"]["sip_headers"] = [{"name": "To", "value": 5}]
    body = json.dumps(event).encode()
    headers = sign_webhook(body, SECRET, webhook_id="wh_7", timestamp=NOW)
    assert reason(lambda: verifier().verify(body, headers)) == "malformed"


def test_the_secret_never_appears_in_errors_or_repr() -> None:
    """Neither the secret nor its decoded key is in a refusal's message or the verifier's repr."""
    check = verifier()
    body, headers = delivery()
    with pytest.raises(WebhookError) as caught:
        check.verify(body + b" ", headers)
    for text in (str(caught.value), repr(check)):
        assert SECRET not in text and "a very secret" not in text


def test_an_unusable_secret_is_an_error() -> None:
    """whsec_ followed by something that is not base64, or an empty secret: invalid_secret."""
    assert reason(lambda: WebhookVerifier("whsec_not base64!!")) == "invalid_secret"
    assert reason(lambda: WebhookVerifier("")) == "invalid_secret"


def test_verify_webhook_checks_signature_and_time_without_state() -> None:
    """The stateless function verifies and parses; a stale delivery is still refused."""
    body, headers = delivery()
    event = verify_webhook(body, headers, SECRET, now=NOW)
    assert isinstance(event, IncomingCall)
    assert reason(lambda: verify_webhook(body, headers, SECRET, now=NOW + 1000)) == (
        "stale_timestamp"
    )


def test_webhook_error_is_in_the_one_error_tree() -> None:
    """WebhookError is an RtconfigError."""
    assert issubclass(rtconfig.WebhookError, rtconfig.RtconfigError)


def test_verification_is_safe_from_several_threads() -> None:
    """Eight threads deliver the same webhook at once: exactly one is accepted."""
    check = WebhookVerifier(SECRET)
    body, headers = signed_incoming_call(SECRET)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait()
        try:
            check.verify(body, headers)
            outcomes.append("ok")
        except WebhookError as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["replayed"] * 7


def test_send_incoming_call_delivers_a_verifiable_webhook() -> None:
    """send_incoming_call POSTs a body and headers that a receiver's verifier accepts."""
    received: list[IncomingCall | WebhookEvent] = []
    check = WebhookVerifier(SECRET)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                received.append(check.verify(body, dict(self.headers.items())))
                self.send_response(200)
            except WebhookError:
                self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        sent = send_incoming_call(url, SECRET, sip_headers={"To": "<sip:+1415@x>"})
        assert sent.status == 200
        assert isinstance(received[0], IncomingCall) and received[0].call_id == sent.call_id
        wrong = send_incoming_call(url, "whsec_" + base64.b64encode(b"nope").decode())
        assert wrong.status == 400
    finally:
        server.shutdown()
        server.server_close()
