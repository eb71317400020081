"""The server's decisions as plain functions (routes only call these and send what they say)."""

from __future__ import annotations

import copy
import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rtconfig._endpoints import Endpoint
from rtconfig._serve_settings import MAX_SDP_BYTES, SipRule

__all__ = [
    "CALLER_METADATA_KEY",
    "AuditSink",
    "Reply",
    "call_problem",
    "choose_sip_rule",
    "error_reply",
    "is_loopback_host",
    "retry_after_s",
    "sdp_problem",
    "token_reply",
    "upstream_failure_reply",
    "with_caller",
]


class AuditSink(Protocol):
    """Where audit records go (``rtconfig.audit.AuditLog``, or the library user's own)."""

    def emit(self, event: str, /, **fields: Any) -> None: ...

    def add_secret(self, secret: str) -> None: ...


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP (127.0.0.0/8, ::1): where serving without tokens is
    allowed, for local development."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: The ``tracing.metadata`` key that carries the caller, for templates in ``trace_caller``.
CALLER_METADATA_KEY = "rtconfig_caller"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer to send: status, JSON body (or raw bytes), extra headers."""

    status: int
    body: Mapping[str, Any] | bytes
    headers: Mapping[str, str] | None = None
    media_type: str = "application/json"


def error_reply(status: int, message: str, kind: str, **headers: str) -> Reply:
    """OpenAI's error shape, with a message written for the caller (never upstream details)."""
    return Reply(status, {"error": {"message": message, "type": kind}}, headers or None)


def token_reply(client_secret: str, expires_at: int | None, session_id: str | None) -> Reply:
    """What a browser gets for a minted token: the token, its expiry and the session id only —
    never the session object (instructions, tools) OpenAI sent back."""
    return Reply(200, {"value": client_secret, "expires_at": expires_at, "session_id": session_id})


def upstream_failure_reply() -> Reply:
    """Any failure upstream: 502 and nothing of OpenAI's error body (it goes to the audit log)."""
    return error_reply(502, "the upstream request failed; try again later", "upstream_error")


def retry_after_s(reset_at: float, now: float) -> int:
    """Whole seconds until a rate-limit window frees a slot (at least 1): ``Retry-After``."""
    return max(1, math.ceil(reset_at - now))


def sdp_problem(content_type: str | None, body: bytes) -> str | None:
    """Why a calls-route body is not an SDP offer we forward, or None."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/sdp":
        return "the body must be an SDP offer with Content-Type: application/sdp"
    if len(body) > MAX_SDP_BYTES:
        return f"the SDP offer is larger than {MAX_SDP_BYTES // 1024} KiB"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the SDP offer is not UTF-8 text"
    if not text.startswith("v=0"):
        return "the body is not an SDP offer (it must start with 'v=0')"
    return None


def call_problem(endpoint: Endpoint, session: Mapping[str, Any]) -> str | None:
    """Why a template cannot take a call (only GA ``type = "realtime"`` sessions can), or None."""
    if endpoint is not Endpoint.CLIENT_SECRETS or session.get("type") != "realtime":
        return (
            "this template cannot take calls: only GA realtime templates (endpoint "
            '"realtime/client_secrets", type = "realtime") can'
        )
    return None


def with_caller(session: Mapping[str, Any], caller_id: str) -> dict[str, Any]:
    """``session`` with the caller in ``tracing.metadata`` (the template opted in with
    ``[serve] trace_caller``). ``tracing = "auto"`` becomes a table with that metadata; a
    template without tracing is refused at startup (:func:`tracing_problem`)."""
    out = copy.deepcopy(dict(session))
    tracing = out.get("tracing")
    table: dict[str, Any] = dict(tracing) if isinstance(tracing, Mapping) else {}
    table["metadata"] = {**dict(table.get("metadata") or {}), CALLER_METADATA_KEY: caller_id}
    out["tracing"] = table
    return out


def tracing_problem(session: Mapping[str, Any]) -> str | None:
    """Why a template cannot carry the caller in ``tracing.metadata``, or None."""
    tracing = session.get("tracing")
    if tracing == "auto" or isinstance(tracing, Mapping):
        return None
    return 'trace_caller needs tracing on in the template (tracing = "auto" or a tracing table)'


def choose_sip_rule(rules: Sequence[SipRule], headers: Mapping[str, str]) -> SipRule | None:
    """The first ``[[serve.sip]]`` rule whose header matches (``headers``: lower-case SIP header
    name → its first value), or None: the call is then rejected."""
    for rule in rules:
        if rule.matches(headers.get(rule.header.lower())):
            return rule
    return None
