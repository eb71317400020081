"""What the emulator answers: the session objects OpenAI's API returns for a request body.

The API echoes the session it created with every field filled in: what the request set, and the
defaults it applied to the rest. These builders do the same, from the spec's example responses
(NOTES §6.1, §6.2, §6.3; the GA path example's trailing comma fixed with the component example's
full ``server_vad`` object, NOTES §25), and the answer to a minting request as a whole
(:func:`answer_mint`: OpenAI's errors for a body that is not JSON, fails rtconfig's checks or
names a model the API does not know; else the session with a fresh random token). Pure
functions of the request, no I/O.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from rtconfig._endpoints import GA_WRAPPED, Endpoint
from rtconfig._models import KNOWN_BETA_MODELS, KNOWN_MODELS, KNOWN_TRANSCRIPTION_MODELS

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TTL_S",
    "SEED_GA_SESSION",
    "MintAnswer",
    "answer_mint",
    "endpoint_for",
    "error_body",
    "model_not_found",
    "session_response",
    "unknown_model",
]

DEFAULT_MODEL = "gpt-realtime-2.1"
"""The model the emulator reports when a request names none (no announced shutdown, §8)."""

DEFAULT_TTL_S = {
    Endpoint.SESSIONS: 60,
    Endpoint.TRANSCRIPTION_SESSIONS: 60,
    Endpoint.CLIENT_SECRETS: 600,
    Endpoint.TRANSLATIONS: 600,
}

SEED_GA_SESSION: Mapping[str, Any] = {
    "type": "realtime",
    "object": "realtime.session",
    "id": "sess_C9CiUVUzUzYIssh3ELY1d",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "You are a friendly assistant.",
    "tools": [],
    "tool_choice": "auto",
    "max_output_tokens": "inf",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "expires_at": 0,
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
    },
    "include": None,
}
"""The session of the spec's component example of ``RealtimeCreateClientSecretResponse``
(NOTES §6.2, §25): the shape the real API answers a GA mint with, every field filled in. The
model is ``gpt-realtime`` (the example's ``gpt-realtime-2025-08-25`` is no model, NOTES §25).
The one copy: the emulator answers from it, and the tests import it."""

_PCM = SEED_GA_SESSION["audio"]["input"]["format"]
_SERVER_VAD = SEED_GA_SESSION["audio"]["input"]["turn_detection"]
_SEMANTIC_VAD = {
    "type": "semantic_vad",
    "eagerness": "auto",
    "create_response": True,
    "interrupt_response": True,
}
_GA_REALTIME: dict[str, Any] = {**copy.deepcopy(SEED_GA_SESSION), "id": "", "model": DEFAULT_MODEL}
_GA_TRANSCRIPTION: dict[str, Any] = {
    "type": "transcription",
    "object": "realtime.transcription_session",
    "id": "",
    "expires_at": 0,
    "audio": {
        "input": {
            "format": _PCM,
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {k: v for k, v in _SERVER_VAD.items() if k != "idle_timeout_ms"},
        }
    },
    "include": None,
}
_BETA_VAD = {k: v for k, v in _SERVER_VAD.items() if k != "idle_timeout_ms"}
_BETA_SESSION: dict[str, Any] = {
    "id": "",
    "object": "realtime.session",
    "model": DEFAULT_MODEL,
    "modalities": ["audio", "text"],
    "instructions": "You are a friendly assistant.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": None,
    "input_audio_noise_reduction": None,
    "turn_detection": _BETA_VAD,
    "tools": [],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "speed": 1.0,
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
}
_BETA_TRANSCRIPTION: dict[str, Any] = {
    "id": "",
    "object": "realtime.transcription_session",
    "modalities": ["audio", "text"],
    "turn_detection": {k: _BETA_VAD[k] for k in ("type", "threshold", "prefix_padding_ms")}
    | {"silence_duration_ms": 200},
    "input_audio_format": "pcm16",
    "input_audio_transcription": None,
    "input_audio_noise_reduction": None,
    "include": None,
}


# (status, extra headers, body, the token minted or None)
MintAnswer = tuple[int, dict[str, str], bytes, str | None]

_NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)


def error_body(
    message: str,
    kind: str = "invalid_request_error",
    *,
    param: str | None = None,
    code: str | None = None,
) -> bytes:
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return json.dumps({"error": error}).encode()


def model_not_found(model: str) -> str:
    """What the API says of a model it does not know (``invalid_model``)."""
    return f"The model '{model}' does not exist or you do not have access to it."


def endpoint_for(path: str) -> Endpoint | None:
    """The minting endpoint at ``path`` (``/v1/realtime/sessions`` or without ``/v1``)."""
    for endpoint in Endpoint:
        if path.rstrip("/") in (f"/v1/{endpoint.value}", f"/{endpoint.value}"):
            return endpoint
    return None


def answer_mint(
    endpoint: Endpoint,
    body: bytes,
    *,
    validate: bool = True,
    models: frozenset[str] = frozenset(),
    no_token: bool = False,
) -> MintAnswer:
    """The API's answer to a minting request (after authentication): a 400 in OpenAI's shape
    for a body that is not a JSON object, (``validate``) fails rtconfig's checks or names a
    model neither the API nor ``models`` knows; else 200 with the full session object and a
    fresh ``ek_…`` token (``no_token``: a 200 without it, and no token minted)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        return 400, {}, error_body(_NOT_JSON), None
    refused = _refusal(endpoint, payload, models) if validate else None
    if refused is not None:
        return 400, {}, refused, None
    token = "ek_" + secrets.token_hex(24)
    session_id = "sess_" + secrets.token_urlsafe(16).replace("-", "a").replace("_", "b")
    response = session_response(endpoint, payload, token, session_id)
    if no_token:
        _strip_token(endpoint, response)
    return 200, {}, json.dumps(response).encode(), None if no_token else token


def _refusal(endpoint: Endpoint, payload: dict[str, Any], models: frozenset[str]) -> bytes | None:
    """The 400 body for the first error rtconfig's checks find, or for an unknown model."""
    from rtconfig._checks import check_body
    from rtconfig._errors import format_path

    for problem in check_body(endpoint, payload):
        if problem.severity == "error":
            param = format_path(problem.path) or "body"
            message = f"Invalid '{param}': {problem.message}"
            return error_body(message, param=param, code="invalid_value")
    unknown = unknown_model(endpoint, payload)
    if unknown is not None and unknown[1] not in models:
        param, model = unknown
        return error_body(model_not_found(model), param=param, code="invalid_model")
    return None


def _strip_token(endpoint: Endpoint, response: dict[str, Any]) -> None:
    if endpoint in GA_WRAPPED:
        response.pop("value", None)
    else:
        response["client_secret"] = None


def session_response(
    endpoint: Endpoint, body: Mapping[str, Any], token: str, session_id: str
) -> dict[str, Any]:
    """The 200 answer to ``body`` at ``endpoint``: the full session object and its token."""
    now = int(time.time())
    if endpoint is Endpoint.TRANSLATIONS:
        ttl = _seconds(body.get("expires_after"), DEFAULT_TTL_S[endpoint])
        requested = body.get("session")
        session = {"object": "realtime.translation_session", "audio": {}}
        session = _filled(session, requested if isinstance(requested, Mapping) else {})
        session["id"] = session_id
        return {"value": token, "expires_at": now + ttl, "session": session}
    if endpoint is Endpoint.CLIENT_SECRETS:
        ttl = _seconds(body.get("expires_after"), DEFAULT_TTL_S[endpoint])
        requested = body.get("session")
        requested = requested if isinstance(requested, Mapping) else {"type": "realtime"}
        kind = requested.get("type", "realtime")
        template = _GA_TRANSCRIPTION if kind == "transcription" else _GA_REALTIME
        session = _filled(template, requested)
        session["id"] = session_id
        return {"value": token, "expires_at": now + ttl, "session": session}
    secret = body.get("client_secret")
    lifetime = secret.get(endpoint.lifetime_path[1]) if isinstance(secret, Mapping) else None
    ttl = _seconds(lifetime, DEFAULT_TTL_S[endpoint])
    template = _BETA_SESSION if endpoint is Endpoint.SESSIONS else _BETA_TRANSCRIPTION
    session = _filled(template, {k: v for k, v in body.items() if k != "client_secret"})
    session["id"] = session_id
    session["client_secret"] = {"value": token, "expires_at": now + ttl}
    return session


def unknown_model(endpoint: Endpoint, body: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(param, model)`` of the first model the API would not know, if any."""
    if endpoint is Endpoint.CLIENT_SECRETS:
        session = body.get("session")
        if not isinstance(session, Mapping):
            return None
        found = _model_at(session, ("model",), KNOWN_MODELS)
        found = found or _model_at(
            session, ("audio", "input", "transcription", "model"), KNOWN_TRANSCRIPTION_MODELS
        )
        return (f"session.{found[0]}", found[1]) if found else None
    if endpoint is Endpoint.SESSIONS:
        found = _model_at(body, ("model",), KNOWN_BETA_MODELS | KNOWN_MODELS)
        if found:
            return found
    return _model_at(body, ("input_audio_transcription", "model"), KNOWN_TRANSCRIPTION_MODELS)


def _model_at(
    holder: Mapping[str, Any], path: tuple[str, ...], known: frozenset[str]
) -> tuple[str, str] | None:
    node: Any = holder
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return (".".join(path), node) if isinstance(node, str) and node not in known else None


def _filled(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over a deep copy of ``defaults``: tables merge, anything else replaces.

    A turn detection of another ``type`` than the default's starts from that type's defaults;
    an explicit null stays null (the API echoes what turned a feature off)."""
    out = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        base = out.get(key)
        if key == "turn_detection" and isinstance(value, Mapping):
            base = _vad_defaults(value.get("type"), base)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            out[key] = _filled(base, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _vad_defaults(kind: Any, base: Any) -> Any:
    if kind == "semantic_vad":
        return _SEMANTIC_VAD
    if isinstance(base, Mapping) and base.get("type") == kind:
        return base
    return {k: v for k, v in _SERVER_VAD.items() if not isinstance(base, Mapping) or k in base}


def _seconds(lifetime: Any, default: int) -> int:
    seconds = lifetime.get("seconds") if isinstance(lifetime, Mapping) else None
    return seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else default
