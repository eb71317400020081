"""The session-minting endpoints and where a template's fields go in each request body.

A template is written in the endpoint's *session* shape; the only field that moves is the token
lifetime ``expires_after`` (contract §1). Paths in diagnostics, plans and provenance are always
template paths: :func:`template_path` maps a body path back.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rtconfig._keys import MISSING, KeyPath

__all__ = ["GA_WRAPPED", "Endpoint", "body_from_template", "template_path", "template_view"]


class Endpoint(StrEnum):
    SESSIONS = "realtime/sessions"
    CLIENT_SECRETS = "realtime/client_secrets"
    TRANSCRIPTION_SESSIONS = "realtime/transcription_sessions"
    TRANSLATIONS = "realtime/translations/client_secrets"

    @property
    def lifetime_path(self) -> KeyPath:
        """Where ``expires_after`` lands in the request body."""
        if self in GA_WRAPPED:
            return ("expires_after",)
        if self is Endpoint.SESSIONS:
            return ("client_secret", "expires_after")
        # openai-python's TranscriptionSessionCreateParams names it client_secret.expires_at.
        return ("client_secret", "expires_at")


GA_WRAPPED = frozenset({Endpoint.CLIENT_SECRETS, Endpoint.TRANSLATIONS})
"""The GA endpoints, whose body wraps the template as ``{expires_after, session}``."""


def body_from_template(endpoint: Endpoint, fields: dict[str, Any]) -> dict[str, Any]:
    """The exact request body for a resolved template's fields (meta-keys already removed)."""
    fields = dict(fields)
    lifetime = fields.pop("expires_after", MISSING)
    if endpoint in GA_WRAPPED:
        body: dict[str, Any] = {}
        if lifetime is not MISSING:
            body["expires_after"] = lifetime
        body["session"] = fields
        return body
    if lifetime is not MISSING:
        fields["client_secret"] = {endpoint.lifetime_path[1]: lifetime}
    return fields


def template_view(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`body_from_template`: the template-shaped fields of a request body."""
    if endpoint in GA_WRAPPED:
        fields = dict(body.get("session") or {})
        if "expires_after" in body:
            fields["expires_after"] = body["expires_after"]
        return fields
    fields = dict(body)
    secret = fields.pop("client_secret", None)
    if isinstance(secret, dict) and endpoint.lifetime_path[1] in secret:
        fields["expires_after"] = secret[endpoint.lifetime_path[1]]
    return fields


def template_path(endpoint: Endpoint, body_path: KeyPath) -> KeyPath:
    """Map a path in the request body to the path the user wrote in the template."""
    lifetime = endpoint.lifetime_path
    if body_path[: len(lifetime)] == lifetime:
        return ("expires_after", *body_path[len(lifetime) :])
    if endpoint in GA_WRAPPED and body_path[:1] == ("session",):
        return body_path[1:]
    return body_path
