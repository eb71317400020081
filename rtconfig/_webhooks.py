"""OpenAI webhooks (CONTRACT §10, NOTES §9): verify a signed delivery, then parse it.

::

    verifier = rtconfig.WebhookVerifier(os.environ["OPENAI_WEBHOOK_SECRET"])
    event = verifier.verify(raw_body, request.headers)    # raises rtconfig.WebhookError
    if isinstance(event, rtconfig.IncomingCall):
        event.call_id, event.header("To"), event.sip_media_security

The scheme is Standard Webhooks: headers ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (space-separated ``v1,<base64>`` values); the signed text is
``"{webhook-id}.{webhook-timestamp}.{raw body}"``; the MAC is HMAC-SHA256 keyed with the secret
(base64-decoded after a ``whsec_`` prefix, else its raw bytes). A timestamp more than
``tolerance_s`` (300 s) old or ahead is refused, signatures are compared in constant time, and a
:class:`WebhookVerifier` refuses a ``webhook-id`` it has already accepted (replay). Order of
checks: headers, timestamp, signature, replay, payload — nothing unsigned is remembered or parsed.

Standard library only: importing this module costs nothing, and the secret never appears in a
message, a repr or a log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rtconfig._errors import WebhookError

__all__ = [
    "CALL_ID",
    "DEFAULT_TOLERANCE_S",
    "MAX_WEBHOOK_BYTES",
    "IncomingCall",
    "SipHeader",
    "WebhookEvent",
    "WebhookVerifier",
    "sign_webhook",
    "verify_webhook",
]

DEFAULT_TOLERANCE_S = 300
#: A delivery larger than this is refused unread (a call event is well under a kilobyte or two).
MAX_WEBHOOK_BYTES = 256 * 1024
#: How many accepted ``webhook-id`` values a verifier remembers (oldest forgotten first).
MAX_REMEMBERED_IDS = 100_000
#: OpenAI's call ids (``rtc_…``): what may go into a ``/realtime/calls/{call_id}/…`` URL.
CALL_ID = re.compile(r"rtc_[A-Za-z0-9_-]{1,200}")

_WEBHOOK_ID = re.compile(r"[A-Za-z0-9_.:-]{1,256}")
_MAX_SIGNATURE_HEADER = 8192
_MAX_SIP_HEADERS = 512
INCOMING_CALL = "realtime.call.incoming"


# ---------------------------------------------------------------------------------------------
# Typed events


@dataclass(frozen=True, slots=True)
class SipHeader:
    """One SIP header of the incoming INVITE, as OpenAI relayed it (untrusted caller input)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook delivery: the event's ``id``, ``type``, ``created_at`` and ``data``.

    ``webhook_id`` is the delivery's ``webhook-id`` header (what replay protection keys on).
    """

    id: str
    type: str
    created_at: int | None
    webhook_id: str
    data: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class IncomingCall(WebhookEvent):
    """``realtime.call.incoming``: a SIP call waiting to be accepted, rejected or referred."""

    call_id: str = ""
    sip_headers: tuple[SipHeader, ...] = ()
    sip_media_security: Literal["rtp", "srtp"] | None = None

    def header(self, name: str) -> str | None:
        """The first SIP header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for header in self.sip_headers:
            if header.name.lower() == wanted:
                return header.value
        return None

    def headers(self, name: str) -> tuple[str, ...]:
        """Every value of the SIP header ``name`` (case-insensitive), in the order received."""
        wanted = name.lower()
        return tuple(h.value for h in self.sip_headers if h.name.lower() == wanted)


# ---------------------------------------------------------------------------------------------
# Signing (pure)


def _key(secret: str | bytes) -> bytes:
    """The HMAC key: the base64-decoded part after ``whsec_``, else the secret's own bytes."""
    if isinstance(secret, bytes):
        raw = secret
    elif isinstance(secret, str):
        raw = secret.encode()
    else:
        raise WebhookError("invalid_secret", "the webhook secret must be a string")
    if raw.startswith(b"whsec_"):
        try:
            raw = base64.b64decode(raw[len(b"whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            raise WebhookError(
                "invalid_secret",
                "the webhook secret starts with whsec_ but the rest is not base64: copy the "
                "whole secret from the OpenAI dashboard",
            ) from None
    if not raw.strip():
        raise WebhookError("invalid_secret", "the webhook secret is empty")
    return raw


def _mac(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def sign_webhook(
    body: bytes | str,
    secret: str | bytes,
    *,
    webhook_id: str,
    timestamp: int,
) -> dict[str, str]:
    """The three Standard Webhooks headers that sign ``body`` with ``secret`` (for tests and
    the emulator: what OpenAI sends)."""
    raw = body.encode() if isinstance(body, str) else body
    signature = _mac(_key(secret), webhook_id, str(timestamp), raw)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


# ---------------------------------------------------------------------------------------------
# Verification


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _required(headers: Mapping[str, str], name: str) -> str:
    value = _header(headers, name)
    if value is None or not value.strip():
        raise WebhookError("missing_header", f"the {name} header is missing")
    return value.strip()


def _check_timestamp(raw: str, now: float, tolerance_s: float) -> None:
    if not raw.isdigit() or len(raw) > 12:
        raise WebhookError("bad_timestamp", "webhook-timestamp is not a Unix time in seconds")
    age = now - int(raw)
    if age > tolerance_s:
        raise WebhookError(
            "stale_timestamp",
            f"webhook-timestamp is {age:.0f} s old (more than {tolerance_s:g} s): refused as a "
            "possible replay; check this machine's clock",
        )
    if -age > tolerance_s:
        raise WebhookError(
            "future_timestamp",
            f"webhook-timestamp is {-age:.0f} s ahead (more than {tolerance_s:g} s); check this "
            "machine's clock",
        )


def _check_signature(key: bytes, webhook_id: str, timestamp: str, body: bytes, header: str) -> None:
    if len(header) > _MAX_SIGNATURE_HEADER:
        raise WebhookError("bad_signature", "webhook-signature is too long")
    expected = _mac(key, webhook_id, timestamp, body).encode()
    matched = False
    for candidate in header.split():
        version, _, signature = candidate.partition(",")
        # Every v1 candidate is compared (no early exit): the time taken says nothing.
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            matched = True
    if not matched:
        raise WebhookError(
            "bad_signature",
            "no webhook-signature matches the body: the webhook secret is wrong, or the body was "
            "changed (verify the raw bytes, before any JSON parsing)",
        )


def _verified(
    key: bytes,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance_s: float,
    max_bytes: int,
) -> tuple[str, bytes]:
    """The delivery's ``webhook-id`` and raw body once headers, timestamp and signature hold."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    if len(raw) > max_bytes:
        raise WebhookError("too_large", f"the webhook body is larger than {max_bytes} bytes")
    webhook_id = _required(headers, "webhook-id")
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        raise WebhookError("missing_header", "webhook-id is not a valid delivery id")
    timestamp = _required(headers, "webhook-timestamp")
    _check_timestamp(timestamp, now, tolerance_s)
    _check_signature(key, webhook_id, timestamp, raw, _required(headers, "webhook-signature"))
    return webhook_id, raw


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> WebhookEvent:
    """Verify one delivery's signature and timestamp, and parse it (an :class:`IncomingCall`
    for ``realtime.call.incoming``). Stateless, so it cannot refuse a replay inside the
    tolerance window: a server should hold one :class:`WebhookVerifier`, which does."""
    when = time.time() if now is None else now
    webhook_id, raw = _verified(
        _key(secret), body, headers, now=when, tolerance_s=tolerance_s, max_bytes=MAX_WEBHOOK_BYTES
    )
    return parse_event(raw, webhook_id)


class WebhookVerifier:
    """Verifies deliveries signed with one secret and refuses a replayed ``webhook-id``.

    Accepted ids are remembered for twice the tolerance (after that their timestamp is stale
    anyway), at most ``max_remembered`` of them (the oldest are forgotten first). Thread-safe.
    ``clock`` returns the Unix time (injectable for tests).
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        max_remembered: int = MAX_REMEMBERED_IDS,
        max_bytes: int = MAX_WEBHOOK_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if tolerance_s <= 0 or max_remembered < 1 or max_bytes < 1:
            raise ValueError("tolerance_s, max_remembered and max_bytes must be positive")
        self._key = _key(secret)
        self._tolerance_s = tolerance_s
        self._max_remembered = max_remembered
        self._max_bytes = max_bytes
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # webhook-id -> forget after
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret
        return f"<WebhookVerifier tolerance_s={self._tolerance_s:g} remembered={len(self._seen)}>"

    def verify(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
        """The verified, parsed event; :class:`~rtconfig.WebhookError` (with ``reason``) if the
        delivery is unsigned, badly signed, stale, from the future, replayed or malformed."""
        now = self._clock()
        webhook_id, raw = _verified(
            self._key,
            body,
            headers,
            now=now,
            tolerance_s=self._tolerance_s,
            max_bytes=self._max_bytes,
        )
        event = parse_event(raw, webhook_id)  # a malformed body is not remembered
        self._remember(webhook_id, now)
        return event

    def _remember(self, webhook_id: str, now: float) -> None:
        with self._lock:
            seen = self._seen
            while seen:
                oldest, forget_at = next(iter(seen.items()))
                if forget_at > now and len(seen) < self._max_remembered:
                    break
                del seen[oldest]
            if webhook_id in seen:
                raise WebhookError(
                    "replayed", f"webhook-id {webhook_id} was already delivered: refused as replay"
                )
            seen[webhook_id] = now + 2 * self._tolerance_s


# ---------------------------------------------------------------------------------------------
# Parsing (after verification only)


def _malformed(what: str) -> WebhookError:
    return WebhookError("malformed", f"the webhook payload is malformed: {what}")


def parse_event(raw: bytes, webhook_id: str) -> WebhookEvent:
    """The typed event of a verified body; :class:`WebhookError` ``malformed`` if it is not one."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _malformed("not JSON") from None
    if not isinstance(payload, dict):
        raise _malformed("not a JSON object")
    event_id, kind, created = payload.get("id"), payload.get("type"), payload.get("created_at")
    data = payload.get("data")
    if not isinstance(event_id, str) or not isinstance(kind, str):
        raise _malformed("'id' and 'type' must be strings")
    if not isinstance(data, dict):
        raise _malformed("'data' must be an object")
    created_at = created if isinstance(created, int) and not isinstance(created, bool) else None
    if kind != INCOMING_CALL:
        return WebhookEvent(event_id, kind, created_at, webhook_id, data)
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id):
        raise _malformed("data.call_id is not an OpenAI call id (rtc_…)")
    security = data.get("sip_media_security")
    if security not in (None, "rtp", "srtp"):
        raise _malformed("data.sip_media_security must be 'rtp' or 'srtp'")
    return IncomingCall(
        event_id,
        kind,
        created_at,
        webhook_id,
        data,
        call_id=call_id,
        sip_headers=_sip_headers(data.get("sip_headers")),
        sip_media_security=security,
    )


def _sip_headers(raw: Any) -> tuple[SipHeader, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > _MAX_SIP_HEADERS:
        raise _malformed(f"data.sip_headers must be a list of at most {_MAX_SIP_HEADERS} headers")
    headers = []
    for item in raw:
        if not isinstance(item, dict):
            raise _malformed("each of data.sip_headers must be {name, value}")
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise _malformed("each of data.sip_headers must have string 'name' and 'value'")
        headers.append(SipHeader(name, value))
    return tuple(headers)
