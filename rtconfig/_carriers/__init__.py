"""What differs per carrier: the request each one sends for a template (CONTRACT §10, NOTES §9).

::

    template (endpoint, body) ──► session_of ──► the GA session object, hashed by session_sha256
        ├─ ephemeral token     POST realtime/client_secrets   {expires_after, session}  (the body)
        ├─ WebRTC call         POST realtime/calls            multipart: sdp + session
        ├─ SIP call            POST realtime/calls/{id}/accept  the session itself (flat)
        └─ WebSocket / data channel  no request: {"type": "session.update", "session": …}

Pure functions of plain data: no HTTP, no I/O. The applier sends what these build; the CLI
prints what they return. Bad input (an SDP offer, a call id, a status, a target URI) is refused
here, before any request, with :class:`~rtconfig.UsageError`.
"""

from rtconfig._carriers._calls import (
    MAX_SDP_BYTES,
    CallRequest,
    accept_call_request,
    check_call_id,
    check_sdp_offer,
    create_call_request,
    hangup_call_request,
    parse_call_location,
    refer_call_request,
    reject_call_request,
)
from rtconfig._carriers._records import (
    TemplateRecord,
    call_session_for,
    session_update,
    sha256_of_session,
)
from rtconfig._carriers._session import (
    Carrier,
    call_session,
    carriers_of,
    refusal,
    session_of,
    session_sha256,
    session_update_event,
)

__all__ = [
    "MAX_SDP_BYTES",
    "CallRequest",
    "Carrier",
    "TemplateRecord",
    "accept_call_request",
    "call_session",
    "call_session_for",
    "carriers_of",
    "check_call_id",
    "check_sdp_offer",
    "create_call_request",
    "hangup_call_request",
    "parse_call_location",
    "refer_call_request",
    "refusal",
    "reject_call_request",
    "session_of",
    "session_sha256",
    "session_update",
    "session_update_event",
    "sha256_of_session",
]
