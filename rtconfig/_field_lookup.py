"""Whether a dotted template path names a field the endpoint has at all (for ``explain``).

It walks the editor schema of the template's endpoint (and GA session type): a path no layer
sets may still be a real field (the API default applies), or may be a typo — which deserves a
"no such field" with a suggestion, not "not set by any layer".
"""

from __future__ import annotations

import re
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._errors import format_path
from rtconfig._suggest import did_you_mean

__all__ = ["no_such_field"]

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(dotted: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _PART.findall(dotted)]


def _branches(node: Any) -> list[dict[str, Any]]:
    """``node`` and, recursively, every ``anyOf``/``oneOf`` alternative in it."""
    if not isinstance(node, dict):
        return []
    out = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, ()):
            out.extend(_branches(sub))
    return out


def _step(
    nodes: list[dict[str, Any]], part: str | int
) -> tuple[list[dict[str, Any]], bool, set[str]]:
    """The schema nodes under ``part``; whether anything there is open (accepts any key); and
    the names that would have been accepted (for a suggestion)."""
    found: list[dict[str, Any]] = []
    known: set[str] = set()
    open_ = False
    for node in (branch for n in nodes for branch in _branches(n)):
        if isinstance(part, int):
            if isinstance(node.get("items"), dict):
                found.append(node["items"])
            continue
        properties = node.get("properties")
        if isinstance(properties, dict):
            known.update(properties)
            if part in properties:
                found.append(properties[part])
        extra = node.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            open_ = True
    return found, open_, known


def no_such_field(endpoint: Endpoint, session_type: str | None, dotted: str) -> str | None:
    """Why ``dotted`` is not a field of a template for ``endpoint``, or None when it is one
    (or lies under a free-form table such as ``tracing.metadata``)."""
    from rtconfig._models import template_json_schema

    if endpoint is Endpoint.CLIENT_SECRETS and session_type not in ("realtime", "transcription"):
        session_type = None
    nodes = [template_json_schema(endpoint, session_type)]
    walked: list[str | int] = []
    for part in _parts(dotted):
        found, open_, known = _step(nodes, part)
        if not found:
            if open_:
                return None
            where = format_path(walked) or "a template"
            if isinstance(part, int):
                return f"{where} is not an array: it has no element [{part}]"
            return (
                f"no such field: {where} has no field {part!r}"
                + did_you_mean(part, sorted(known))
                + f" (for endpoint {endpoint.value})"
            )
        nodes = found
        walked.append(part)
    return None
