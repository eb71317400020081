"""The emulator's call routes (NOTES §9): ``POST /realtime/calls`` (a multipart SDP offer →
an SDP answer and a ``Location`` with an ``rtc_…`` id) and ``/realtime/calls/{id}/accept``,
``reject``, ``hangup``, ``refer``, validated the way the API does. Pure functions of a request;
``rtconfig.testing.Emulator`` routes to them and keeps the calls' states."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from rtconfig._emulated import error_body, model_not_found, unknown_model
from rtconfig._endpoints import Endpoint
from rtconfig._errors import format_path
from rtconfig._webhooks import CALL_ID

__all__ = ["CallAnswer", "answer_call", "call_route", "sdp_answer"]

_ROUTE = re.compile(r"(?:/v1)?/realtime/calls(?:/(?P<id>[^/]+)/(?P<action>[a-z]+))?/?")
ACTIONS = ("accept", "reject", "hangup", "refer")
#: The state a call is in after each action.
STATES = {"create": "active", "accept": "active", "reject": "rejected", "hangup": "ended"}
STATES["refer"] = "referred"

# (status, extra headers, body, new call id or None)
CallAnswer = tuple[int, dict[str, str], bytes, str | None]


def call_route(path: str) -> tuple[str, str | None] | None:
    """``("create", None)``, ``(action, call_id)``, or None when ``path`` is no call route."""
    match = _ROUTE.fullmatch(path)
    if match is None:
        return None
    action = match.group("action")
    if action is None:
        return ("create", None)
    return (action, match.group("id"))


def _error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> CallAnswer:
    return status, {}, error_body(message, param=param, code=code), None


def _session_problem(
    session: Any, prefix: str, models: frozenset[str]
) -> tuple[str, str, str | None] | None:
    """(param, message, code) of the first reason a call cannot take ``session``."""
    from rtconfig._checks import check_body

    if not isinstance(session, dict):
        return prefix.rstrip(".") or "session", "must be a JSON object (a realtime session)", None
    if session.get("type") != "realtime":
        return (
            f"{prefix}type",
            "calls take only realtime sessions: type must be 'realtime' "
            f"(got {json.dumps(session.get('type'))})",
            "invalid_value",
        )
    for problem in check_body(Endpoint.CLIENT_SECRETS, {"session": session}):
        if problem.severity == "error":
            return prefix + format_path(problem.path[1:]), problem.message, "invalid_value"
    unknown = unknown_model(Endpoint.CLIENT_SECRETS, {"session": session})
    if unknown is not None and unknown[1] not in models:
        message = model_not_found(unknown[1])
        return prefix + unknown[0].removeprefix("session."), message, "invalid_model"
    return None


def answer_call(
    action: str,
    call_id: str | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    validate: bool,
    models: frozenset[str],
    known: Mapping[str, str],
) -> CallAnswer:
    """The API's answer to one call request (``known``: call id → state, for conflicts)."""
    if action == "create":
        return _create(headers, body, validate=validate, models=models)
    if action not in ACTIONS:
        return _error(404, f"Invalid URL (POST /v1/realtime/calls/{call_id}/{action})")
    if call_id is None or not CALL_ID.fullmatch(call_id):
        return _error(404, f"No call found with id '{str(call_id)[:64]}'.", code="call_not_found")
    state = known.get(call_id)
    if state in ("ended", "rejected", "referred") or (action == "accept" and state == "active"):
        return _error(409, f"Call '{call_id}' is {state}: it cannot be {action}ed now.")
    payload: Any = None
    if body.strip():
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "We could not parse the JSON body of your request.")
    if action == "accept" and validate:
        problem = _session_problem(payload, "", models)
        if problem is not None:
            return _error(
                400, f"Invalid '{problem[0]}': {problem[1]}", param=problem[0], code=problem[2]
            )
    if action == "reject" and payload is not None:
        status = payload.get("status_code") if isinstance(payload, dict) else None
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 699:
            return _error(
                400,
                "Invalid 'status_code': must be a SIP status from 400 to 699.",
                param="status_code",
            )
    if action == "refer":
        target = payload.get("target_uri") if isinstance(payload, dict) else None
        if not isinstance(target, str) or not target.lower().startswith(("tel:", "sip:", "sips:")):
            return _error(
                400, "Invalid 'target_uri': must be a tel: or sip: URI.", param="target_uri"
            )
    return 200, {"Content-Type": "application/json"}, b"", None


def _parts(headers: Mapping[str, str], body: bytes) -> dict[str, tuple[str, bytes]] | str:
    """The multipart form's parts by name: (content type, bytes); or why it is not one."""
    content_type = headers.get("content-type", "")
    if (
        not content_type.lower().startswith("multipart/form-data")
        or "boundary=" not in content_type
    ):
        return "the request must be multipart/form-data with an 'sdp' part"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return "the multipart body could not be parsed"
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_content_type(), payload)
    return parts


def _create(
    headers: Mapping[str, str], body: bytes, *, validate: bool, models: frozenset[str]
) -> CallAnswer:
    parts = _parts(headers, body)
    if isinstance(parts, str):
        return _error(400, parts)
    if "sdp" not in parts:
        return _error(
            400,
            "Missing required parameter: 'sdp'.",
            param="sdp",
            code="missing_required_parameter",
        )
    sdp_type, offer = parts["sdp"]
    try:
        text = offer.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text.lstrip().startswith("v="):
        return _error(400, "Invalid 'sdp': not an SDP offer.", param="sdp")
    if validate and sdp_type != "application/sdp":
        return _error(
            400,
            f"Invalid 'sdp': content type must be application/sdp (got {sdp_type}).",
            param="sdp",
        )
    if "session" in parts and validate:
        session_type, raw = parts["session"]
        try:
            session = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "Invalid 'session': not JSON.", param="session")
        problem = _session_problem(session, "session.", models)
        if problem is not None:
            return _error(
                400, f"Invalid '{problem[0]}': {problem[1]}", param=problem[0], code=problem[2]
            )
        if session_type != "application/json":
            return _error(
                400, "Invalid 'session': content type must be application/json.", param="session"
            )
    call_id = "rtc_" + secrets.token_hex(16)
    extra = {"Content-Type": "application/sdp", "Location": f"/v1/realtime/calls/{call_id}"}
    return 201, extra, sdp_answer(text, call_id).encode(), call_id


def sdp_answer(offer: str, call_id: str) -> str:
    """A syntactically valid SDP answer to ``offer``: one media section per offered one (same
    media, port 9, same mid), ICE credentials, a fingerprint, ``setup:passive``."""
    lines = [
        "v=0",
        f"o=- {int(call_id[4:20], 16) % 10**15} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
    ]
    media = [line for line in offer.splitlines() if line.startswith("m=")]
    mids = [line[6:] for line in offer.splitlines() if line.startswith("a=mid:")]
    group = " ".join(mids)
    if group:
        lines.append(f"a=group:BUNDLE {group}")
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    for index, line in enumerate(media or ["m=audio 9 UDP/TLS/RTP/SAVPF 111"]):
        kind, _, rest = line[2:].partition(" ")
        _, _, formats = rest.partition(" ")
        lines += [
            f"m={kind} 9 {formats}",
            "c=IN IP4 127.0.0.1",
            f"a=ice-ufrag:{secrets.token_hex(4)}",
            f"a=ice-pwd:{secrets.token_hex(12)}",
            f"a=fingerprint:sha-256 {fingerprint}",
            "a=setup:passive",
        ]
        if index < len(mids):
            lines.append(f"a=mid:{mids[index]}")
        lines += ["a=sendrecv", "a=rtcp-mux"]
    return "\r\n".join(lines) + "\r\n"
