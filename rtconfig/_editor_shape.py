"""Reshape a JSON Schema so that editors (taplo) report a mistake once, on its line, naming it.

taplo reports an error of a whole table (``additionalProperties: false``, ``anyOf``) at every key
of the table; an error of one value, at that value. So:

- every closed table gets a ``patternProperties`` entry matching any key it does not know, whose
  schema rejects the value: a typo is one error, at its own line, that lists the keys the table
  takes;
- an ``anyOf`` of tables (the shapes a key takes on different endpoints, or a union told apart by
  ``type``) becomes ONE table accepting every shape's keys, and, where the shapes carry a
  ``type`` tag, an ``if``/``then`` per tag refusing the keys that tag does not take; an ``anyOf``
  mixing tables and other values becomes ``if: object, then: the table, else: the others``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["editor_shaped", "merge_tables", "refuse"]


_CONDITIONS = frozenset({"if", "not"})


def _is_table(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and "anyOf" not in node
        and (node.get("type") == "object" or "properties" in node)
    )


def _is_array(node: Any) -> bool:
    return isinstance(node, dict) and "anyOf" not in node and node.get("type") == "array"


def _flatten(branches: list[Any]) -> list[Any]:
    out: list[Any] = []
    for branch in branches:
        if isinstance(branch, dict) and set(branch) == {"anyOf"}:
            out.extend(_flatten(branch["anyOf"]))
        elif branch not in out:
            out.append(branch)
    return out


def _tag(table: dict[str, Any], key: str) -> str | None:
    """The single value ``table`` requires for ``key`` (a ``const`` or one-value ``enum``)."""
    sub = table.get("properties", {}).get(key)
    if not isinstance(sub, dict):
        return None
    if "const" in sub and isinstance(sub["const"], str):
        return sub["const"]
    enum = sub.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return enum[0]
    return None


def merge_tables(
    tables: list[dict[str, Any]], discriminators: tuple[str, ...] = ("type",)
) -> dict[str, Any]:
    """One table accepting the keys of every table in ``tables``; for a ``discriminator`` key
    whose value tells the tables apart, ``if``/``then`` rules refuse the keys foreign to it."""
    if len(tables) == 1:
        return tables[0]
    shapes: dict[str, list[Any]] = {}
    for table in tables:
        for key, sub in table.get("properties", {}).items():
            bucket = shapes.setdefault(key, [])
            if sub not in bucket:
                bucket.append(sub)
    merged: dict[str, Any] = {"type": "object"}
    for table in tables:
        if isinstance(table.get("description"), str):
            merged["description"] = table["description"]
            break
    merged["properties"] = {
        key: subs[0] if len(subs) == 1 else {"anyOf": subs} for key, subs in shapes.items()
    }
    if all(table.get("additionalProperties") is False for table in tables):
        merged["additionalProperties"] = False
    rules = []
    for key in discriminators:
        tagged = [(table, _tag(table, key)) for table in tables]
        if any(tag is None for _, tag in tagged):
            continue
        by_tag: dict[str, set[str]] = {}
        for table, tag in tagged:
            if tag is not None:
                by_tag.setdefault(tag, set()).update(table.get("properties", {}))
        for tag, keys in by_tag.items():
            foreign = sorted(set(shapes) - keys)
            if foreign:
                rules.append(
                    {
                        "if": {"properties": {key: {"const": tag}}, "required": [key]},
                        "then": refuse(foreign, f"a field of {key} {tag!r}"),
                    }
                )
    if rules:
        merged["allOf"] = rules
    return merged


def refuse(keys: set[str] | list[str], what: str) -> dict[str, Any]:
    """A schema refusing each of ``keys`` with an error, on its value, that names it."""
    return {"properties": {key: {"not": {f"{key} is not": what}} for key in sorted(keys)}}


def _unknown_keys(table: dict[str, Any]) -> dict[str, Any]:
    known = sorted(table.get("properties", {}))
    pattern = "^(?!(" + "|".join(re.escape(k) for k in known) + ")$)" if known else "^"
    takes = ", ".join(known) if known else "no keys"
    return {pattern: {"not": {"unknown key: this table takes": takes}}}


def editor_shaped(node: Any) -> Any:
    """``node`` reshaped as the module docstring says (a new object; ``node`` is not changed)."""
    if isinstance(node, list):
        return [editor_shaped(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "anyOf" in node:
        branches = _flatten(node["anyOf"])
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        tables = [b for b in branches if _is_table(b)]
        arrays = [b for b in branches if _is_array(b)]
        others = [b for b in branches if not _is_table(b) and not _is_array(b)]
        if len(arrays) > 1:
            items = _flatten([a.get("items", {}) for a in arrays])
            merged_array = {**arrays[0], "items": {"anyOf": items} if len(items) > 1 else items[0]}
            arrays = [merged_array]
        pieces: list[Any] = []
        if tables:
            pieces.append(merge_tables(tables))
        pieces += arrays
        if len(pieces) == 1 and not others:
            return editor_shaped({**rest, **pieces[0]})
        if len(pieces) == 1 and tables and others:
            kind = "object"
        elif len(pieces) == 1 and arrays and others:
            kind = "array"
        else:
            return {**rest, "anyOf": [editor_shaped(b) for b in pieces + others]}
        alternative = others[0] if len(others) == 1 else {"anyOf": others}
        return {
            **{k: editor_shaped(v) for k, v in rest.items()},
            "if": {"type": kind},
            "then": editor_shaped(pieces[0]),
            "else": editor_shaped(alternative),
        }
    # Conditions (`if`, `not`) are tests, not shapes to report against: left as written.
    out = {k: v if k in _CONDITIONS else editor_shaped(v) for k, v in node.items()}
    if out.get("additionalProperties") is False and isinstance(out.get("properties"), dict):
        out["patternProperties"] = _unknown_keys(out)
    return out
