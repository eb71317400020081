"""Who is calling: serve tokens (constant-time) or the library user's own authorizer.

An *authorizer* is a callable that gets the Starlette request and returns the caller's identity
(a :class:`Caller`, or a plain string) or refuses: it returns None (401) or raises
:class:`Refused` (any 4xx, with a message the caller may see). It may be a coroutine function.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtconfig.audit import secret_fingerprint

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = [
    "MAX_TOKENS",
    "Authorizer",
    "Caller",
    "Refused",
    "TokenAuthorizer",
    "bearer_token",
    "match_token",
    "parse_tokens",
]

MAX_TOKENS = 1000
_MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller. ``id`` goes into the audit log, the access log, rate-limit keys
    and (when a template opts in) ``tracing.metadata``: never put a secret in it."""

    id: str
    kind: str = "custom"


class Refused(Exception):
    """An authorizer's refusal: ``status`` (401 or 403 usually) and a message safe to show."""

    def __init__(self, message: str = "unauthorized", status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


Authorizer = Callable[["Request"], "Caller | str | Awaitable[Caller | str | None] | None"]


def parse_tokens(text: str) -> tuple[str, ...]:
    """The serve tokens in ``text`` (comma-separated; blanks ignored)."""
    return tuple(t.strip() for t in text.split(",") if t.strip())


def token_problem(tokens: Sequence[str]) -> str | None:
    """Why a set of serve tokens is unusable, or None (never quoting a token)."""
    if len(tokens) > MAX_TOKENS:
        return f"holds {len(tokens)} tokens; at most {MAX_TOKENS}"
    for index, token in enumerate(tokens, 1):
        if len(token) < 16:
            return f"token {index} is shorter than 16 characters; use long random tokens"
        if len(token) > _MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable():
            return f"token {index} must be printable ASCII, at most {_MAX_TOKEN_CHARS} characters"
        if any(c.isspace() for c in token):
            return f"token {index} contains whitespace"
    return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization or len(authorization) > _MAX_TOKEN_CHARS + 16:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def match_token(presented: str | None, tokens: Sequence[str]) -> str | None:
    """The serve token equal to ``presented``, compared in constant time against every token
    (no early exit, so timing says nothing about which or how many matched), or None."""
    if presented is None:
        return None
    candidate = presented.encode("utf-8", "surrogatepass")
    found: str | None = None
    for token in tokens:
        if hmac.compare_digest(candidate, token.encode("utf-8")):
            found = token
    return found


class TokenAuthorizer:
    """The default authorizer: a bearer token from ``[serve] tokens_env``; the caller is the
    token's fingerprint (first 12 hex of its sha256), never the token."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = tuple(tokens)

    def __repr__(self) -> str:  # never the tokens
        return f"<TokenAuthorizer tokens={len(self._tokens)}>"

    def __call__(self, request: Request) -> Caller | None:
        token = match_token(bearer_token(request.headers.get("authorization")), self._tokens)
        return None if token is None else Caller(secret_fingerprint(token), "token")


def anonymous(_request: Any) -> Caller:
    """Loopback development without tokens: every caller is ``anonymous``."""
    return Caller("anonymous", "anonymous")
