"""Resolution (contract §3): layers merged in order, every leaf remembering where it came from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rtconfig.endpoints import Endpoint
from rtconfig.errors import Diagnostic
from rtconfig.origins import FieldRecord, Origin
from rtconfig.settings import Settings

Path = tuple[str | int, ...]

__all__ = ["ResolvedTemplate", "body_sha256"]


def body_sha256(body: Mapping[str, Any]) -> str:
    """The contract's body hash: sha256 of the sorted, compact, UTF-8 JSON."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ResolvedTemplate:
    """A template resolved for one environment and validated: the exact body to send.

    ``fields`` maps every leaf's *template path* (``("audio", "output", "voice")``) to its
    value and provenance. Arrays are leaves.
    """

    name: str
    env: str | None
    endpoint: Endpoint
    settings: Settings
    body: dict[str, Any]
    fields: Mapping[Path, FieldRecord]
    header: Origin
    description: str | None = None
    warnings: tuple[Diagnostic, ...] = field(default=())

    @property
    def sha256(self) -> str:
        return body_sha256(self.body)

    def origin_of(self, path: Path) -> Origin:
        """The origin of the leaf at ``path`` or of the nearest enclosing leaf; else the header."""
        for end in range(len(path), 0, -1):
            record = self.fields.get(path[:end])
            if record is not None:
                return record.origin
        return self.header
