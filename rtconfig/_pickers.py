"""The plain-Python callables inside the request models' validators.

The models' unions pick a branch with a callable discriminator, and ``rate`` rejects ``24000.0``
with a before-validator. They live here, not beside the models, so that a validator rebuilt from
a cached core schema (:mod:`rtconfig._validator_cache`) can name them without importing the
models: each says how to rebuild itself (:meth:`spec`) and :func:`rebuild` turns that back into
an equal callable. Importing this module imports nothing heavier than ``pydantic_core``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = ["ByShape", "ByType", "rebuild", "spec_of", "strict_int"]

_KINDS: Mapping[str, type] = {"str": str, "int": int, "list": list, "dict": dict}
_ABSENT = object()


class ByShape:
    """Pick a branch by the JSON kind of the value: ``str``, ``int``, ``list`` or ``dict``."""

    __slots__ = ("_table", "tags")

    def __init__(self, **tags: str) -> None:
        self.tags = dict(tags)
        self._table = [(_KINDS[name], tag) for name, tag in tags.items()]

    def __call__(self, value: Any) -> str | None:
        if isinstance(value, bool):  # bool is an int to Python, never to JSON
            return None
        for kind, tag in self._table:
            if isinstance(value, kind):
                return tag
        return None

    @property
    def __name__(self) -> str:  # pydantic-core names a discriminator function by it
        return "pick"

    def spec(self) -> dict[str, Any]:
        return {"by_shape": self.tags}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByShape) and other.tags == self.tags

    def __hash__(self) -> int:
        return hash(tuple(self.tags.items()))


class ByType:
    """Pick a branch of a table by its ``type`` key (``default`` when it has none)."""

    __slots__ = ("_by_shape", "default", "shapes", "tags")

    def __init__(self, tags: Mapping[str, str], default: str | None = None, **shapes: str) -> None:
        self.tags = dict(tags)
        self.default = default
        self.shapes = dict(shapes)
        self._by_shape = ByShape(**shapes) if shapes else None

    def __call__(self, value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("type", _ABSENT)
            if kind is _ABSENT:
                return self.default
            return self.tags.get(kind) if isinstance(kind, str) else None
        return self._by_shape(value) if self._by_shape is not None else None

    @property
    def __name__(self) -> str:  # pydantic-core names a discriminator function by it
        return "pick"

    def spec(self) -> dict[str, Any]:
        return {"by_type": {"tags": self.tags, "default": self.default, "shapes": self.shapes}}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByType) and other.spec() == self.spec()

    def __hash__(self) -> int:
        return hash((tuple(self.tags.items()), self.default, tuple(self.shapes.items())))


def strict_int(value: Any) -> Any:
    """``Literal[24000]`` alone would accept ``24000.0`` (equality), but the spec says integer."""
    if type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def spec_of(func: Any) -> dict[str, Any] | None:
    """How to rebuild ``func`` (one of this module's callables), or None for any other."""
    if func is strict_int:
        return {"strict_int": None}
    if isinstance(func, ByShape | ByType):
        return func.spec()
    return None


def rebuild(spec: Mapping[str, Any]) -> Any:
    """The callable that :func:`spec_of` described; ``ValueError`` for anything else."""
    if len(spec) != 1:
        raise ValueError("a callable's spec has exactly one key")
    ((name, args),) = spec.items()
    if name == "strict_int" and args is None:
        return strict_int
    if name == "by_shape" and _str_map(args) and set(args) <= set(_KINDS):
        return ByShape(**args)
    if name == "by_type" and isinstance(args, dict) and set(args) == {"tags", "default", "shapes"}:
        default = args["default"]
        shapes = args["shapes"]
        valid_shapes = _str_map(shapes) and set(shapes) <= set(_KINDS)
        if _str_map(args["tags"]) and valid_shapes and _str_or_none(default):
            return ByType(args["tags"], default, **args["shapes"])
    raise ValueError(f"not a callable of rtconfig._pickers: {name!r}")


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)
