"""The checker's one value type: a problem with a request body, at a path in the body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rtconfig._codes import DiagnosticCode

__all__ = ["BodyPath", "Problem"]

BodyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request body, at ``path`` in the body (union tags stripped)."""

    code: DiagnosticCode
    path: BodyPath
    message: str
    severity: Literal["error", "warning"] = "error"
