"""The plain-Python callables inside the request models' validators.

The models' unions pick a branch with a callable discriminator, and ``rate`` rejects ``24000.0``
with a before-validator. They live here, not beside the models, so that a validator rebuilt from
a cached core schema (:mod:`rtconfig._validator_cache`) can name them without importing the
models: :func:`spec_of` says how to rebuild one of them and :func:`rebuild` turns that back into
an equal callable. The pickers are plain closures (pydantic-core calls them for every union it
validates). Importing this module imports nothing heavier than ``pydantic_core`` (and
rtconfig's shared vocabulary, :mod:`rtconfig._keys`, for the one "missing" sentinel).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import PydanticCustomError

from rtconfig._keys import MISSING

__all__ = ["by_shape", "by_type", "rebuild", "spec_of", "strict_int"]

Picker = Callable[[Any], "str | None"]

_KINDS: Mapping[str, type] = {"str": str, "int": int, "list": list, "dict": dict}
# How each picker made here was made: functions hash by identity, and live as long as the
# models (or a cached validator) that hold them.
_SPECS: dict[Callable[..., Any], dict[str, Any]] = {}


def by_shape(**tags: str) -> Picker:
    """Pick a branch by the JSON kind of the value: ``str``, ``int``, ``list`` or ``dict``."""
    table = [(_KINDS[name], tag) for name, tag in tags.items()]

    def pick(value: Any) -> str | None:
        if isinstance(value, bool):  # bool is an int to Python, never to JSON
            return None
        for kind, tag in table:
            if isinstance(value, kind):
                return tag
        return None

    _SPECS[pick] = {"by_shape": dict(tags)}
    return pick


def by_type(tags: Mapping[str, str], default: str | None = None, **shapes: str) -> Picker:
    """Pick a branch of a table by its ``type`` key (``default`` when it has none)."""
    shape = by_shape(**shapes) if shapes else None

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("type", MISSING)
            if kind is MISSING:
                return default
            return tags.get(kind) if isinstance(kind, str) else None
        return shape(value) if shape is not None else None

    _SPECS[pick] = {"by_type": {"tags": dict(tags), "default": default, "shapes": dict(shapes)}}
    return pick


def strict_int(value: Any) -> Any:
    """``Literal[24000]`` alone would accept ``24000.0`` (equality), but the spec says integer."""
    if type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def spec_of(func: Any) -> dict[str, Any] | None:
    """How to rebuild ``func`` (one of this module's callables), or None for any other."""
    if func is strict_int:
        return {"strict_int": None}
    try:
        return _SPECS.get(func)
    except TypeError:  # unhashable: certainly not ours
        return None


def rebuild(spec: Mapping[str, Any]) -> Any:
    """The callable that :func:`spec_of` described; ``ValueError`` for anything else."""
    if len(spec) != 1:
        raise ValueError("a callable's spec has exactly one key")
    ((name, args),) = spec.items()
    if name == "strict_int" and args is None:
        return strict_int
    if name == "by_shape" and _kinds_map(args):
        return by_shape(**args)
    if name == "by_type" and isinstance(args, dict) and set(args) == {"tags", "default", "shapes"}:
        default, tags, shapes = args["default"], args["tags"], args["shapes"]
        valid_default = default is None or isinstance(default, str)
        if valid_default and _str_map(tags) and _kinds_map(shapes):
            return by_type(tags, default, **shapes)
    raise ValueError(f"not a callable of rtconfig._pickers: {name!r}")


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _kinds_map(value: Any) -> bool:
    return _str_map(value) and set(value) <= set(_KINDS)
