"""The requests of the call carriers (NOTES §9): create (WebRTC), accept (SIP), reject, hangup,
refer — each a :class:`CallRequest` built from plain values, after checking them."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rtconfig._errors import UsageError
from rtconfig._webhooks import CALL_ID

__all__ = [
    "MAX_SDP_BYTES",
    "CallRequest",
    "accept_call_request",
    "check_call_id",
    "check_sdp_offer",
    "create_call_request",
    "hangup_call_request",
    "parse_call_location",
    "refer_call_request",
    "reject_call_request",
]

#: An SDP offer larger than this is refused before any request (a browser's is a few KiB).
MAX_SDP_BYTES = 64 * 1024
_MAX_TARGET_URI = 2048
# Control characters other than CR, LF and TAB: an SDP offer is text, one field per line.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TARGET_URI = re.compile(r"(?:tel|sip|sips):[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call request: ``POST {base_url}/{path}`` with ``content`` (None: no body).

    ``action`` names what it does (``create``, ``accept``, ``reject``, ``hangup``, ``refer``);
    ``session_sha256`` is set when a session object is sent (it is the audit's ``body_sha256``).
    ``content`` may hold the caller's SDP offer: it is never logged or shown in a repr.
    """

    action: str
    path: str
    content: bytes | None = field(repr=False)
    content_type: str | None
    accept: str
    call_id: str | None = None
    session_sha256: str | None = None


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def check_sdp_offer(sdp_offer: str | bytes) -> str:
    """The offer as text; :class:`UsageError` (nothing sent) when it is empty, not text, or
    larger than :data:`MAX_SDP_BYTES`. The message never quotes the offer."""
    if isinstance(sdp_offer, bytes | bytearray | memoryview):
        raw = bytes(sdp_offer)
        if len(raw) > MAX_SDP_BYTES:
            raise UsageError(_too_big(len(raw)))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("the SDP offer is not UTF-8 text; nothing was sent") from None
    elif isinstance(sdp_offer, str):
        text = sdp_offer
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_SDP_BYTES:
            raise UsageError(_too_big(size))
    else:
        raise UsageError(
            f"the SDP offer must be text (str or bytes), not {type(sdp_offer).__name__}; "
            "nothing was sent"
        )
    if not text.strip():
        raise UsageError("the SDP offer is empty; nothing was sent")
    if _NOT_TEXT.search(text) or not _encodable(text):
        raise UsageError("the SDP offer is not text (it holds control bytes); nothing was sent")
    if not text.lstrip().startswith("v="):
        raise UsageError(
            "the SDP offer does not start with a version line (v=0): it is not SDP "
            "(pass the browser's RTCPeerConnection offer.sdp); nothing was sent"
        )
    return text


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def _too_big(size: int) -> str:
    return f"the SDP offer is {size} bytes, more than {MAX_SDP_BYTES}; nothing was sent"


def check_call_id(call_id: object) -> str:
    """The call id when it has OpenAI's shape (``rtc_`` and URL-safe characters); else
    :class:`UsageError`: nothing can be injected into a ``/realtime/calls/{call_id}`` URL."""
    if isinstance(call_id, str) and CALL_ID.fullmatch(call_id):
        return call_id
    shown = repr(call_id)[:80] if isinstance(call_id, str) else type(call_id).__name__
    raise UsageError(
        f"call id {shown} is not an OpenAI call id (rtc_ followed by letters, digits, _ or -, "
        "as in the realtime.call.incoming webhook's data.call_id); nothing was sent"
    )


def create_call_request(
    session: Mapping[str, Any],
    sdp_offer: str | bytes,
    *,
    session_sha256: str | None = None,
    boundary: str | None = None,
) -> CallRequest:
    """``POST realtime/calls``: multipart with part ``sdp`` (``application/sdp``, the offer)
    and part ``session`` (``application/json``, the session object); ``Accept:
    application/sdp``. ``boundary`` fixes the multipart boundary (tests)."""
    offer = check_sdp_offer(sdp_offer).encode("utf-8")
    session_json = _json(session)
    mark = boundary or f"rtconfig-{secrets.token_hex(16)}"
    while not boundary and (mark.encode() in offer or mark.encode() in session_json):
        mark = f"rtconfig-{secrets.token_hex(16)}"  # practically never: 128 random bits
    content = b"".join(
        [
            _part(mark, "sdp", "application/sdp", offer),
            _part(mark, "session", "application/json", session_json),
            f"--{mark}--\r\n".encode(),
        ]
    )
    return CallRequest(
        action="create",
        path="realtime/calls",
        content=content,
        content_type=f"multipart/form-data; boundary={mark}",
        accept="application/sdp",
        session_sha256=session_sha256,
    )


def _part(boundary: str, name: str, content_type: str, content: bytes) -> bytes:
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + content + b"\r\n"


def accept_call_request(
    session: Mapping[str, Any], call_id: str, *, session_sha256: str | None = None
) -> CallRequest:
    """``POST realtime/calls/{call_id}/accept``: the JSON body is the session object itself."""
    call_id = check_call_id(call_id)
    return CallRequest(
        action="accept",
        path=f"realtime/calls/{call_id}/accept",
        content=_json(session),
        content_type="application/json",
        accept="*/*",
        call_id=call_id,
        session_sha256=session_sha256,
    )


def reject_call_request(call_id: str, status: int = 603) -> CallRequest:
    """``POST realtime/calls/{call_id}/reject`` with ``{"status_code": status}`` (603 Decline
    by default; a SIP final failure status, 400 to 699)."""
    call_id = check_call_id(call_id)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 699:
        raise UsageError(
            f"reject status {status!r} is not a SIP failure status (an integer from 400 to 699; "
            "603 Decline, 486 Busy Here, 480 Temporarily Unavailable); nothing was sent"
        )
    return CallRequest(
        action="reject",
        path=f"realtime/calls/{call_id}/reject",
        content=_json({"status_code": status}),
        content_type="application/json",
        accept="*/*",
        call_id=call_id,
    )


def hangup_call_request(call_id: str) -> CallRequest:
    """``POST realtime/calls/{call_id}/hangup`` with no body."""
    call_id = check_call_id(call_id)
    return CallRequest(
        action="hangup",
        path=f"realtime/calls/{call_id}/hangup",
        content=None,
        content_type=None,
        accept="*/*",
        call_id=call_id,
    )


def refer_call_request(call_id: str, target_uri: str) -> CallRequest:
    """``POST realtime/calls/{call_id}/refer`` with ``{"target_uri": …}`` (``tel:`` or ``sip:``)."""
    call_id = check_call_id(call_id)
    if (
        not isinstance(target_uri, str)
        or len(target_uri) > _MAX_TARGET_URI
        or not _TARGET_URI.fullmatch(target_uri)
    ):
        raise UsageError(
            "the transfer target must be a tel: or sip: URI (e.g. tel:+14155550100 or "
            "sip:agent@example.com) without spaces, at most 2048 characters; nothing was sent"
        )
    return CallRequest(
        action="refer",
        path=f"realtime/calls/{call_id}/refer",
        content=_json({"target_uri": target_uri}),
        content_type="application/json",
        accept="*/*",
        call_id=call_id,
    )


def parse_call_location(location: str | None) -> str | None:
    """The call id in a ``Location`` header (its last path segment, query dropped), or None
    when the header is missing or its last segment is not an OpenAI call id."""
    if not location:
        return None
    path = location.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    return last if CALL_ID.fullmatch(last) else None
