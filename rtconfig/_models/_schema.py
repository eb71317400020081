"""The JSON Schema of templates, for editors."""

import copy
import functools
from typing import Any

from pydantic import TypeAdapter

from rtconfig._endpoints import Endpoint
from rtconfig._models._requests import (
    SESSION_TYPES as _SESSION_TYPES,
)
from rtconfig._models._requests import (
    BetaExpiresAfter,
    ExpiresAfter,
    RealtimeSessionGA,
    SessionCreateRequest,
    TranscriptionExpiresAt,
    TranscriptionSessionCreateRequest,
    TranscriptionSessionGA,
)
from rtconfig._models._translations import TranslationSession

# --------------------------------------------------------------------------------------------
# JSON Schema of templates, for editors


def template_json_schema(endpoint: Endpoint, session_type: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a template's API fields for ``endpoint`` (GA: of ``session_type``).

    Self-contained (no ``$ref``) and partial-friendly: a template may inherit any key, so
    ``required`` is kept only inside array items, which are never merged. Meta-keys such as
    ``extends`` are not included; the caller adds them to ``properties``.
    """
    if endpoint is Endpoint.CLIENT_SECRETS:
        if session_type is None:
            return {"anyOf": [_template_schema(endpoint, t) for t in _SESSION_TYPES]}
        if session_type not in _SESSION_TYPES:
            raise ValueError(f"session_type must be one of {_SESSION_TYPES}, not {session_type!r}")
    elif session_type is not None:
        raise ValueError(f"{endpoint.value} has no session types")
    return _template_schema(endpoint, session_type)


def _template_schema(endpoint: Endpoint, session_type: str | None) -> dict[str, Any]:
    return copy.deepcopy(_cached_template_schema(endpoint, session_type))


@functools.cache
def _cached_template_schema(endpoint: Endpoint, session_type: str | None) -> dict[str, Any]:
    session: Any
    lifetime: Any
    if endpoint is Endpoint.CLIENT_SECRETS:
        session = RealtimeSessionGA if session_type == "realtime" else TranscriptionSessionGA
        lifetime = ExpiresAfter
    elif endpoint is Endpoint.TRANSLATIONS:
        session, lifetime = TranslationSession, ExpiresAfter
    elif endpoint is Endpoint.SESSIONS:
        session, lifetime = SessionCreateRequest, BetaExpiresAfter
    else:
        session, lifetime = TranscriptionSessionCreateRequest, TranscriptionExpiresAt
    schema = _editor_schema(TypeAdapter(session).json_schema())
    kind = f"{session_type} session" if session_type else "session"
    schema["description"] = f"A {kind} template for endpoint {endpoint.value}."
    schema["properties"].pop("client_secret", None)  # written as `expires_after` instead
    expires = _editor_schema(TypeAdapter(lifetime).json_schema())
    expires["description"] = "Lifetime of the client secret (moved to where the endpoint wants it)."
    schema["properties"]["expires_after"] = expires
    return schema


def _editor_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``\\ s, drop titles and discriminators, and ``oneOf`` → ``anyOf``."""
    defs = schema.pop("$defs", {})

    def walk(node: Any, in_array: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, in_array) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = dict(defs[node["$ref"].rsplit("/", 1)[-1]])
            target.update((k, v) for k, v in node.items() if k != "$ref")
            return walk(target, in_array)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "discriminator"):
                continue
            if key == "required" and not in_array:
                continue  # a template may inherit the required key from a parent
            if key == "oneOf":
                key = "anyOf"  # editors ignore `discriminator`; partial tables may match both
            if key == "properties":
                out[key] = {name: walk(sub, in_array) for name, sub in value.items()}
            elif key == "description" and isinstance(value, str):
                out[key] = value.replace("``", "`")  # docstrings are reST; editors show Markdown
            elif key in ("examples", "enum", "const", "default"):
                out[key] = value
            else:
                out[key] = walk(value, in_array or key == "items")
        return out

    result: dict[str, Any] = walk(schema, False)
    return result
