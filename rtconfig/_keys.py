"""The small vocabulary every stage shares: key paths, the "missing" sentinel, labels.

One of each, used by every module (front half and back half alike):

- :data:`KeyPath`, a path of table keys and array indexes: ``("audio", "output", "voice")``,
  ``("tools", 0, "name")``. A path into the TOML document, a template or a request body is the
  same type; which one it is depends on where it is used;
- :func:`format_path`, a key path the way users write it: ``tools[0].name``;
- :data:`MISSING`, "no value here", distinct from ``None`` (which is JSON ``null``);
- :func:`label`, a (template, environment) pair as messages show it: ``support [production]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

__all__ = ["MISSING", "KeyPath", "format_path", "label"]

KeyPath = tuple[str | int, ...]


class _Missing:
    """The type of :data:`MISSING`: one instance, falsy, and says what it is."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"  # copies and pickles stay the one instance


MISSING: Final[Any] = _Missing()
"""No value at all (a key that is absent), as opposed to ``None``, an explicit null."""


def format_path(path: Sequence[str | int]) -> str:
    """Render a key path the way users write it: ``tools[0].name``, ``audio.output.voice``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def label(name: str, env: str | None) -> str:
    """A template in an environment as messages show it: ``support [production]``, or just
    ``support`` in the default environment."""
    return name if env is None else f"{name} [{env}]"
