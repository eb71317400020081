"""A body as the difference from another: the subset of JSON Patch (RFC 6902) the lock file uses.

An environment's lock entry records its body as the operations that turn the same template's
default-environment body into it. Only ``add``, ``replace`` and ``remove`` on object members
are written, with JSON Pointer paths (RFC 6901); arrays are replaced whole, as rtconfig treats
them as leaves everywhere else. A JSON *merge* patch (RFC 7386) would be shorter, but cannot say
"set this to null", and GA bodies send nulls (``turn_detection = null`` turns VAD off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PatchError", "apply_patch", "diff_patch"]

Operation = dict[str, Any]
_OPS = ("add", "replace", "remove")


class PatchError(ValueError):
    """A patch that is not one this module writes (the lock reader reports it)."""


def diff_patch(base: Mapping[str, Any], target: Mapping[str, Any]) -> list[Operation]:
    """The operations that turn ``base`` into ``target``, in sorted key order."""
    out: list[Operation] = []
    _diff(base, target, "", out)
    return out


def _diff(
    base: Mapping[str, Any], target: Mapping[str, Any], at: str, out: list[Operation]
) -> None:
    for key in sorted(base.keys() | target.keys()):
        path = f"{at}/{_escape(key)}"
        if key not in target:
            out.append({"op": "remove", "path": path})
        elif key not in base:
            out.append({"op": "add", "path": path, "value": target[key]})
        else:
            old, new = base[key], target[key]
            if isinstance(old, dict) and isinstance(new, dict):
                _diff(old, new, path, out)
            elif old != new or type(old) is not type(new):  # 1 == 1.0 == True in Python
                out.append({"op": "replace", "path": path, "value": new})


def apply_patch(base: Mapping[str, Any], patch: Any) -> dict[str, Any]:
    """``base`` with ``patch`` applied; ``base`` itself is never changed (tables on the way are
    copied, the rest is shared). :class:`PatchError` for anything :func:`diff_patch` does not
    write."""
    if not isinstance(patch, list):
        raise PatchError("patch is not a list of operations")
    result = dict(base)
    for index, operation in enumerate(patch):
        if not isinstance(operation, dict) or operation.get("op") not in (
            "add",
            "replace",
            "remove",
        ):
            raise PatchError(f"patch[{index}] is not an add, replace or remove operation")
        path = operation.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise PatchError(f"patch[{index}] has no JSON Pointer path")
        _apply_one(result, [_unescape(p) for p in path[1:].split("/")], operation, index)
    return result


def _apply_one(result: dict[str, Any], parts: list[str], operation: Operation, index: int) -> None:
    node = result
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            raise PatchError(f"patch[{index}] path {operation['path']!r} runs through no table")
        node[part] = node = dict(child)
    last, op = parts[-1], operation["op"]
    if op == "remove" or op == "replace":
        if last not in node:
            raise PatchError(f"patch[{index}] {op}s {operation['path']!r}, which is not there")
    elif last in node:
        raise PatchError(f"patch[{index}] adds {operation['path']!r}, which is there already")
    if op == "remove":
        del node[last]
        return
    if "value" not in operation:
        raise PatchError(f"patch[{index}] has no value")
    node[last] = operation["value"]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
