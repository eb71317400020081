"""Where a value came from: the layer kinds of contract §3 and one record per resolved leaf."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from rtconfig._keys import KeyPath

__all__ = ["FieldRecord", "Locator", "Origin", "OriginKind"]


class OriginKind(StrEnum):
    """The layer that set a value, in the contract's words (explain ``origin.kind``)."""

    TEMPLATE = "template"  # a [templates.T] table (T itself or a parent)
    ENVIRONMENT = "environment"  # an [environments.E.templates.T] or ."*" overlay
    ENV_VAR = "env_var"  # RTCONFIG__T__FIELD
    SET = "set"  # --set T.field=VALUE
    FILE = "file"  # instructions_file
    # Settings only ([api], explain --settings):
    API = "api"  # an [api] or [environments.E.api] table
    DEFAULT = "default"  # rtconfig's built-in default
    FLAG = "flag"  # a command-line flag other than --set (--base-url)


class Locator(Protocol):
    """Finds where a key path is written (a loaded TOML document)."""

    def position(self, path: KeyPath) -> tuple[int, int] | None: ...


class Origin:
    """One source location. ``file``/``line`` point into the TOML (for ``FILE`` too: the line of
    ``instructions_file``; ``source`` then names the prompt file).

    The line may be found lazily: an origin made with a ``locator`` and a ``key`` asks the
    document where the key is only when ``line`` is first read, so validating a large valid file
    never pays for indexing positions. Immutable; equal when the same layer set the same key.
    """

    __slots__ = (
        "_col",
        "_line",
        "_locator",
        "env",
        "file",
        "key",
        "kind",
        "source",
        "template",
        "var",
    )

    kind: OriginKind
    file: str | None
    template: str | None
    env: str | None
    var: str | None
    source: str | None
    key: KeyPath | None
    _line: int | None
    _col: int | None
    _locator: Locator | None

    def __init__(
        self,
        kind: OriginKind,
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        template: str | None = None,
        env: str | None = None,
        var: str | None = None,
        source: str | None = None,
        key: KeyPath | None = None,
        locator: Locator | None = None,
    ) -> None:
        init = object.__setattr__  # __setattr__ below forbids changes after construction
        init(self, "kind", kind)
        init(self, "file", file)
        init(self, "template", template)
        init(self, "env", env)
        init(self, "var", var)
        init(self, "source", source)
        # Full key path of the value in the TOML document, to locate problems inside arrays.
        init(self, "key", key)
        init(self, "_line", line)
        init(self, "_col", col)
        init(self, "_locator", locator if line is None else None)

    def _resolve(self) -> None:
        locator = self._locator
        object.__setattr__(self, "_locator", None)
        if locator is not None and self.key is not None:
            found = locator.position(self.key)
            if found:
                object.__setattr__(self, "_line", found[0])
                object.__setattr__(self, "_col", found[1])

    @property
    def line(self) -> int | None:
        if self._locator is not None:
            self._resolve()
        return self._line

    @property
    def col(self) -> int | None:
        if self._locator is not None:
            self._resolve()
        return self._col

    def at(self, line: int, col: int | None) -> Origin:
        """The same origin, pointing at another position (an element inside an array)."""
        return Origin(
            self.kind,
            self.file,
            line,
            col,
            self.template,
            self.env,
            self.var,
            self.source,
            self.key,
        )

    def _identity(self) -> tuple[object, ...]:
        where = self.key if self.key is not None else (self.line, self.col)
        return (self.kind, self.file, where, self.template, self.env, self.var, self.source)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Origin):
            return NotImplemented
        return self is other or self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        return f"Origin({self.kind.value}, {self.describe()})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Origin is immutable: cannot set {name!r}")

    def location(self) -> str:
        """``file:line`` for file layers, the variable name for env vars, ``--set`` for flags."""
        if self.kind is OriginKind.ENV_VAR:
            return self.var or "environment"
        if self.kind is OriginKind.SET:
            return "--set"
        if self.kind is OriginKind.FLAG:
            return self.source or "command line"
        if self.kind is OriginKind.DEFAULT:
            return "default"
        if self.file is None:
            return "?"
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def describe(self) -> str:
        """A short human phrase: ``template support (sessions.toml:12)``."""
        where = self.location()
        if self.kind is OriginKind.TEMPLATE:
            return f"template {self.template} ({where})"
        if self.kind is OriginKind.ENVIRONMENT:
            target = '"*"' if self.template in (None, "*") else self.template
            return f"environment {self.env} overlay {target} ({where})"
        if self.kind is OriginKind.FILE:
            return f"instructions_file {self.source} ({where})"
        if self.kind is OriginKind.ENV_VAR:
            return f"environment variable {where}"
        if self.kind is OriginKind.API:
            table = f"[environments.{self.env}.api]" if self.env else "[api]"
            return f"{table} ({where})"
        if self.kind is OriginKind.DEFAULT:
            return "rtconfig's default"
        if self.kind is OriginKind.FLAG:
            return f"{where} on the command line"
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


class FieldRecord(NamedTuple):
    """A resolved leaf: its value, where it came from, and the record it overrode.

    The override chain is a link (``below``) to the record this one replaced, not a copied
    tuple: a 10,000-template file overrides hundreds of thousands of leaves, and a link costs
    one object per override where a tuple of pairs cost one per value per override.
    ``overridden`` lists the chain, newest first.
    """

    value: Any
    origin: Origin
    below: FieldRecord | None = None

    @property
    def overridden(self) -> tuple[tuple[Any, Origin], ...]:
        """The values this leaf replaced, newest first, each with its origin."""
        out: list[tuple[Any, Origin]] = []
        record = self.below
        while record is not None:
            out.append((record.value, record.origin))
            record = record.below
        return tuple(out)

    def overrode(self, origin: Origin) -> bool:
        """Whether a value from ``origin`` is somewhere in this leaf's override chain."""
        record = self.below
        while record is not None:
            if record.origin == origin:
                return True
            record = record.below
        return False

    @staticmethod
    def chain(
        value: Any, origin: Origin, overridden: Iterable[tuple[Any, Origin]] = ()
    ) -> FieldRecord:
        """A record from an explicit override chain (newest first)."""
        below: FieldRecord | None = None
        for older_value, older_origin in reversed(list(overridden)):
            below = FieldRecord(older_value, older_origin, below)
        return FieldRecord(value, origin, below)
