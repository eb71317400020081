"""The request a plan record sends (pure): method, URL, headers and the exact body bytes.

``apply`` sends these; ``apply --dry-run`` prints the very same requests with the key redacted,
so what a reviewer sees is what goes on the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtconfig._version import __version__

if TYPE_CHECKING:
    from rtconfig._plan.records import PlanRecord

__all__ = ["USER_AGENT", "PreparedRequest", "prepare"]

USER_AGENT = f"rtconfig/{__version__}"
KEY_SHOWN = "Bearer [REDACTED]"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """One HTTP request, ready to send. ``headers`` hold the key: never print them raw."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes

    def shown_headers(self) -> dict[str, str]:
        """The headers with the key replaced (what ``--dry-run`` prints)."""
        return {
            name: KEY_SHOWN if name == "Authorization" else value for name, value in self.headers
        }


def prepare(record: PlanRecord, key: str | None) -> PreparedRequest:
    """The POST that mints ``record``. ``key=None`` prepares it for showing only."""
    settings = record.settings
    headers = [
        ("Authorization", f"Bearer {key}" if key is not None else KEY_SHOWN),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
        ("User-Agent", USER_AGENT),
    ]
    if settings.organization:
        headers.append(("OpenAI-Organization", settings.organization))
    if settings.project:
        headers.append(("OpenAI-Project", settings.project))
    return PreparedRequest("POST", record.url, tuple(headers), encode_body(record.body))


def encode_body(body: Any) -> bytes:
    """The body as sent: compact JSON, UTF-8, non-ASCII kept (the hash uses sorted keys)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
