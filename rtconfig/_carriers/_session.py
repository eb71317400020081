"""Which carriers a template can ride, and the session object each of them sends."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from rtconfig._endpoints import GA_WRAPPED, Endpoint

__all__ = [
    "Carrier",
    "call_session",
    "carriers_of",
    "refusal",
    "session_of",
    "session_sha256",
    "session_update_event",
]


class Carrier(StrEnum):
    """The ways one session configuration reaches OpenAI (CONTRACT §10)."""

    TOKEN = "token"  # an ephemeral token (apply): every endpoint
    WEBRTC = "webrtc"  # POST /realtime/calls from your server: GA realtime only
    SIP = "sip"  # POST /realtime/calls/{call_id}/accept: GA realtime only
    SESSION_UPDATE = "session.update"  # the client event: GA realtime or transcription


_CALLS = (Carrier.WEBRTC, Carrier.SIP)
# The GA endpoints wrap the session the same way: {expires_after, session}.
_WRAPPED = GA_WRAPPED


def session_of(endpoint: Endpoint, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The GA ``session`` object inside a minting body, or None (a beta body has none)."""
    if endpoint not in _WRAPPED:
        return None
    session = body.get("session")
    return session if isinstance(session, Mapping) else None


def session_sha256(endpoint: Endpoint, body: Mapping[str, Any]) -> str | None:
    """The contract's hash (``sha256`` of §5) of the session object, or None without one."""
    from rtconfig._resolver import body_sha256

    session = session_of(endpoint, body)
    return body_sha256(session) if session is not None else None


def _session_type(endpoint: Endpoint, body: Mapping[str, Any]) -> str | None:
    session = session_of(endpoint, body)
    if session is None or endpoint is not Endpoint.CLIENT_SECRETS:
        return None
    kind = session.get("type")
    return kind if isinstance(kind, str) else None


def carriers_of(endpoint: Endpoint, body: Mapping[str, Any]) -> tuple[Carrier, ...]:
    """Every carrier that can deliver this template, in the order of CONTRACT §10's table."""
    return tuple(c for c in Carrier if refusal(endpoint, body, c) is None)


def refusal(endpoint: Endpoint, body: Mapping[str, Any], carrier: Carrier) -> str | None:
    """None when ``carrier`` can deliver this template; else why not, in words for people."""
    if carrier is Carrier.TOKEN:
        return None
    what = "take calls" if carrier in _CALLS else "be sent as a session.update event"
    allowed = (
        'only GA type = "realtime" sessions can take calls'
        if carrier in _CALLS
        else 'only GA type = "realtime" or "transcription" sessions can'
    )
    if endpoint is not Endpoint.CLIENT_SECRETS:
        if session_of(endpoint, body) is not None:
            return f"a template on {endpoint.value} cannot {what}: {allowed}"
        return (
            f"a template on the beta endpoint {endpoint.value} cannot {what}: {allowed} "
            "(endpoint realtime/client_secrets; `rtconfig migrate` rewrites it)"
        )
    kind = _session_type(endpoint, body)
    if kind == "realtime" or (kind == "transcription" and carrier is Carrier.SESSION_UPDATE):
        return None
    if kind == "transcription":
        return f'a transcription session (type = "transcription") cannot {what}: {allowed}'
    return f'a session without type = "realtime" cannot {what}: {allowed}'


def call_session(endpoint: Endpoint, body: Mapping[str, Any]) -> dict[str, Any]:
    """The session object sent to ``calls`` and ``accept``: flat, ``type = "realtime"``, no
    ``expires_after`` (that belongs to tokens). ``ValueError`` with the reason otherwise."""
    why = refusal(endpoint, body, Carrier.SIP)
    if why is not None:
        raise ValueError(why)
    session = session_of(endpoint, body)
    assert session is not None
    return dict(session)


def session_update_event(
    endpoint: Endpoint, body: Mapping[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    """The ``session.update`` client event for WebSocket and data-channel connections.
    ``ValueError`` with the reason when the template cannot be sent that way."""
    why = refusal(endpoint, body, Carrier.SESSION_UPDATE)
    if why is not None:
        raise ValueError(why)
    session = session_of(endpoint, body)
    assert session is not None
    event: dict[str, Any] = {"type": "session.update", "session": dict(session)}
    if event_id is not None:
        event["event_id"] = event_id
    return event
