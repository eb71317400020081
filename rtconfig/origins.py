"""Where a value came from: the layer kinds of contract §3 and one record per resolved leaf."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["FieldRecord", "Origin", "OriginKind"]


class OriginKind(StrEnum):
    """The layer that set a value, in the contract's words (explain ``origin.kind``)."""

    TEMPLATE = "template"  # a [templates.T] table (T itself or a parent)
    ENVIRONMENT = "environment"  # an [environments.E.templates.T] or ."*" overlay
    ENV_VAR = "env_var"  # RTCONFIG__T__FIELD
    SET = "set"  # --set T.field=VALUE
    FILE = "file"  # instructions_file


@dataclass(frozen=True, slots=True)
class Origin:
    """One source location. ``file``/``line`` point into the TOML (for ``FILE`` too: the line of
    ``instructions_file``; ``source`` then names the prompt file)."""

    kind: OriginKind
    file: str | None = None
    line: int | None = None
    col: int | None = None
    template: str | None = None
    env: str | None = None
    var: str | None = None
    source: str | None = None
    # Full key path of the value in the TOML document, to locate problems inside arrays.
    key: tuple[str | int, ...] | None = field(default=None, compare=False, repr=False)

    def location(self) -> str:
        """``file:line`` for file layers, the variable name for env vars, ``--set`` for flags."""
        if self.kind is OriginKind.ENV_VAR:
            return self.var or "environment"
        if self.kind is OriginKind.SET:
            return "--set"
        if self.file is None:
            return "?"
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def describe(self) -> str:
        """A short human phrase: ``template support (sessions.toml:12)``."""
        where = self.location()
        if self.kind is OriginKind.TEMPLATE:
            return f"template {self.template} ({where})"
        if self.kind is OriginKind.ENVIRONMENT:
            target = self.template if self.template is not None else '"*"'
            return f"environment {self.env} overlay {target} ({where})"
        if self.kind is OriginKind.FILE:
            return f"instructions_file {self.source} ({where})"
        if self.kind is OriginKind.ENV_VAR:
            return f"environment variable {where}"
        return "--set on the command line"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "file": self.file,
            "line": self.line,
            "template": self.template,
            "env": self.env,
            "var": self.var,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class FieldRecord:
    """A resolved leaf: its value, where it came from, and what it overrode (newest first)."""

    value: Any
    origin: Origin
    overridden: tuple[tuple[Any, Origin], ...] = ()
