"""Exact-origin CORS (CONTRACT §11): pure decisions, applied by the app's middleware.

Only the listed origins get CORS headers, and only on ``/v1/templates/…`` routes. A request that
carries an ``Origin`` the file does not list is refused outright (403), not merely left unreadable:
a page on another site must not spend the quota even blind.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

__all__ = ["ALLOWED_HEADERS", "CorsDecision", "actual", "is_cors_route", "preflight"]

ALLOWED_HEADERS = frozenset({"authorization", "content-type"})
MAX_AGE_S = 600


@dataclass(frozen=True, slots=True)
class CorsDecision:
    """What to do: ``status`` None means go on to the route; headers to add either way."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)


def is_cors_route(path: str) -> bool:
    return path.startswith("/v1/templates/")


def _vary() -> dict[str, str]:
    return {"Vary": "Origin"}


def preflight(
    path: str,
    origin: str | None,
    method: str | None,
    request_headers: str | None,
    allowed: Collection[str],
) -> CorsDecision:
    """An ``OPTIONS`` request: 204 with the CORS headers for a listed origin asking to POST with
    allowed headers on a template route; 403 without CORS headers otherwise."""
    asked = {h.strip().lower() for h in (request_headers or "").split(",") if h.strip()}
    if (
        not is_cors_route(path)
        or origin is None
        or origin not in allowed
        or method != "POST"
        or not asked <= ALLOWED_HEADERS
    ):
        return CorsDecision(403, _vary())
    return CorsDecision(
        204,
        {
            **_vary(),
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": ", ".join(sorted(ALLOWED_HEADERS)),
            "Access-Control-Max-Age": str(MAX_AGE_S),
        },
    )


def actual(path: str, origin: str | None, allowed: Collection[str]) -> CorsDecision:
    """A non-preflight request: no ``Origin`` (not a browser's cross-site call) goes on; a listed
    origin on a template route goes on with CORS headers; any other origin is refused (403)."""
    if origin is None:
        return CorsDecision(None)
    if is_cors_route(path) and origin in allowed:
        return CorsDecision(
            None,
            {
                **_vary(),
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Expose-Headers": "Location, Retry-After, X-Request-Id",
            },
        )
    if is_cors_route(path):
        return CorsDecision(403, _vary())
    return CorsDecision(None)
