"""JSON values compared as JSON compares them, shared by the front half and the back half.

- :func:`same_value`: equality with JSON's types (``1 == 1.0`` but ``true != 1``; arrays in
  order). The importer drops a field equal to the spec's default with it; the planner marks a
  leaf ``redundant`` with it.
- :func:`canonical_json`: the one text a value hashes and compares as on the wire (sorted keys,
  compact, UTF-8; ``1`` and ``1.0`` differ).

Imports nothing from rtconfig: any stage may use it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_json", "same_value"]


def same_value(a: Any, b: Any) -> bool:
    """JSON equality with JSON's types: ``1 == 1.0`` but ``true != 1``; arrays in order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def canonical_json(value: Any) -> str:
    """The form a body hash sees: ``1`` and ``1.0`` differ here, as they do on the wire."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
