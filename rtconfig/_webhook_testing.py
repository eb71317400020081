"""Signed ``realtime.call.incoming`` deliveries, for tests (re-exported by ``rtconfig.testing``).

What OpenAI sends when a phone call reaches a SIP trunk: a JSON event signed the Standard
Webhooks way (:func:`rtconfig._webhooks.sign_webhook`). :func:`send_incoming_call` POSTs one to a
URL so a receiver can be tested offline. Standard library only.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rtconfig._webhooks import sign_webhook

__all__ = [
    "DeliveredWebhook",
    "incoming_call_event",
    "new_call_id",
    "send_incoming_call",
    "signed_incoming_call",
]


def new_call_id() -> str:
    """A fresh id in the shape OpenAI gives calls (``rtc_…``)."""
    return f"rtc_{secrets.token_hex(16)}"


def incoming_call_event(
    *,
    call_id: str | None = None,
    sip_headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    sip_media_security: str | None = None,
    created_at: int | None = None,
) -> dict[str, Any]:
    """The ``realtime.call.incoming`` event OpenAI sends (NOTES §9)."""
    pairs = sip_headers.items() if isinstance(sip_headers, Mapping) else sip_headers
    data: dict[str, Any] = {
        "call_id": call_id or new_call_id(),
        "sip_headers": [{"name": name, "value": value} for name, value in pairs],
    }
    if sip_media_security is not None:
        data["sip_media_security"] = sip_media_security
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "created_at": int(time.time()) if created_at is None else created_at,
        "type": "realtime.call.incoming",
        "data": data,
    }


def signed_incoming_call(
    secret: str, *, timestamp: int | None = None, webhook_id: str | None = None, **event: Any
) -> tuple[bytes, dict[str, str]]:
    """A signed delivery: the raw body and its headers (``event`` as for
    :func:`incoming_call_event`)."""
    body = json.dumps(incoming_call_event(**event), separators=(",", ":")).encode()
    headers = sign_webhook(
        body,
        secret,
        webhook_id=webhook_id or f"wh_{secrets.token_hex(12)}",
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    return body, headers


@dataclass(frozen=True, slots=True)
class DeliveredWebhook:
    """What the receiver answered to a delivery, and what was delivered."""

    status: int
    body: bytes
    call_id: str
    webhook_id: str
    payload: bytes


def send_incoming_call(
    url: str,
    secret: str,
    *,
    timeout_s: float = 10.0,
    timestamp: int | None = None,
    webhook_id: str | None = None,
    **event: Any,
) -> DeliveredWebhook:
    """POST a correctly signed ``realtime.call.incoming`` webhook to ``url`` (as OpenAI would)
    and return the receiver's answer; an HTTP error status is returned, not raised."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"send_incoming_call posts to http:// or https:// URLs, not {url!r}")
    body, headers = signed_incoming_call(
        secret, timestamp=timestamp, webhook_id=webhook_id, **event
    )
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={**headers, "Content-Type": "application/json", "User-Agent": "OpenAI/Webhooks"},
    )
    call_id = json.loads(body)["data"]["call_id"]
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    return DeliveredWebhook(status, answer, call_id, headers["webhook-id"], body)
