"""A tool's ``parameters``: a structural check of JSON Schema (no jsonschema at runtime)."""

from __future__ import annotations

from typing import Any

from rtconfig._checks._problem import BodyPath, Problem
from rtconfig._checks._wording import one_of, show
from rtconfig._codes import DiagnosticCode as C

__all__ = ["MAX_SCHEMA_DEPTH", "check_parameters"]

MAX_SCHEMA_DEPTH = 32
"""How deeply a tool's ``parameters`` schema may nest before it is rejected."""

_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
_SCHEMA_KEYWORDS = (
    *("additionalProperties", "additionalItems", "contains", "not", "if", "then", "else"),
    *("propertyNames", "unevaluatedItems", "unevaluatedProperties"),
)
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_NON_NEGATIVE = (
    *("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"),
    *("minContains", "maxContains"),
)
_NUMBERS = ("minimum", "maximum", "multipleOf")
_STRINGS = ("pattern", "format", "title", "description", "$id", "$schema", "$anchor", "$comment")


def check_parameters(schema: dict[str, Any], path: BodyPath, out: list[Problem]) -> None:
    """``parameters`` must be a JSON Schema, and one of an object."""
    kind = schema.get("type", "object")
    if isinstance(kind, str) and kind != "object" and kind in _JSON_TYPES:
        out.append(
            Problem(
                C.INVALID_SCHEMA,
                (*path, "type"),
                f"must be 'object': parameters are an object (got {kind!r})",
            )
        )
    _check_schema(schema, path, schema, 0, out)


def _check_schema(node: Any, path: BodyPath, root: Any, depth: int, out: list[Problem]) -> None:
    if isinstance(node, bool):
        return
    if not isinstance(node, dict):
        out.append(
            Problem(
                C.INVALID_SCHEMA,
                path,
                f"must be a JSON Schema: a table or a boolean (got {show(node)})",
            )
        )
        return
    if depth >= MAX_SCHEMA_DEPTH:
        out.append(
            Problem(
                C.INVALID_SCHEMA,
                path,
                f"is nested too deeply (more than {MAX_SCHEMA_DEPTH} levels)",
            )
        )
        return
    for key, value in node.items():
        here = (*path, key)
        if key in _SUBSCHEMAS:
            _check_subschemas(key, value, here, root, depth + 1, out)
        elif key == "type":
            _check_type_keyword(value, here, out)
        elif key == "$ref":
            _check_ref(value, here, root, out)
        else:
            message = _keyword_problem(key, value)
            if message is not None:
                out.append(Problem(C.INVALID_SCHEMA, here, message))


_SUBSCHEMAS = frozenset({*_SCHEMA_MAPS, *_SCHEMA_LISTS, *_SCHEMA_KEYWORDS, "items"})


def _check_subschemas(
    key: str, value: Any, here: BodyPath, root: Any, depth: int, out: list[Problem]
) -> None:
    """A keyword whose value is a schema, a table of schemas or an array of them."""
    if key in _SCHEMA_MAPS:
        if not isinstance(value, dict):
            out.append(
                Problem(C.INVALID_SCHEMA, here, f"must be a table of schemas (got {show(value)})")
            )
            return
        for name, sub in value.items():
            _check_schema(sub, (*here, name), root, depth, out)
    elif key in _SCHEMA_LISTS:
        if not isinstance(value, list) or not value:
            out.append(
                Problem(
                    C.INVALID_SCHEMA,
                    here,
                    f"must be a non-empty array of schemas (got {show(value)})",
                )
            )
            return
        for index, sub in enumerate(value):
            _check_schema(sub, (*here, index), root, depth, out)
    elif key == "items" and isinstance(value, list):  # draft-04 tuple form
        for index, sub in enumerate(value):
            _check_schema(sub, (*here, index), root, depth, out)
    else:  # `items` as one schema, and the keywords that take one schema
        _check_schema(value, here, root, depth, out)


def _keyword_problem(key: str, value: Any) -> str | None:
    """What is wrong with the value of a keyword that takes no schema, or None. Other keywords
    (const, default, examples, vendor extensions) accept anything."""
    if key == "required":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"must be an array of property names (got {show(value)})"
        if len(set(value)) != len(value):
            return "must not list a property twice"
    elif key == "enum":
        if not isinstance(value, list) or not value:
            return f"must be a non-empty array (got {show(value)})"
    elif key in _NON_NEGATIVE:
        if type(value) is not int or value < 0:
            return f"must be a non-negative integer (got {show(value)})"
    elif key in _NUMBERS:
        if not _is_number(value) or (key == "multipleOf" and value <= 0):
            qualifier = "a positive number" if key == "multipleOf" else "a number"
            return f"must be {qualifier} (got {show(value)})"
    elif key in ("exclusiveMinimum", "exclusiveMaximum"):
        if not _is_number(value) and not isinstance(value, bool):  # draft-04 used booleans
            return f"must be a number (got {show(value)})"
    elif key == "uniqueItems":
        if not isinstance(value, bool):
            return f"must be a boolean (got {show(value)})"
    elif key in _STRINGS and not isinstance(value, str):
        return f"must be a string (got {show(value)})"
    return None


def _check_type_keyword(value: Any, here: BodyPath, out: list[Problem]) -> None:
    names = value if isinstance(value, list) else [value]
    if isinstance(value, list) and (not value or len(set(map(str, value))) != len(value)):
        out.append(
            Problem(
                C.INVALID_SCHEMA,
                here,
                f"must be a type name or a non-empty array of distinct ones (got {show(value)})",
            )
        )
        return
    for name in names:
        if not isinstance(name, str) or name not in _JSON_TYPES:
            out.append(Problem(C.INVALID_SCHEMA, here, one_of(_JSON_TYPES, name)))
            return


def _check_ref(value: Any, here: BodyPath, root: Any, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(C.INVALID_SCHEMA, here, f"must be a string (got {show(value)})"))
        return
    if not value.startswith("#"):
        return  # remote references are the API's business
    node = root
    for token in value[1:].split("/")[1:] if value != "#" else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            out.append(
                Problem(C.INVALID_SCHEMA, here, f"points at nothing in this schema (got {value!r})")
            )
            return


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
