"""Layers 5 and 6 of contract §3: ``RTCONFIG__T__FIELD`` variables and ``--set T.FIELD=VALUE``.

Each becomes a :class:`~rtconfig._sources.Layer` for the template it names (the resolver merges
them last). A value is JSON if it parses, else a string; every refusal (a malformed or unknown
name, a meta-key, a value nested past the limit, undecodable bytes, a key-like string) is a
diagnostic that never echoes the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rtconfig._codes import DiagnosticCode
from rtconfig._codes import DiagnosticCode as C
from rtconfig._errors import KEY_LIKE, Diagnostic
from rtconfig._loader import MAX_NESTING_DEPTH, deeper_than
from rtconfig._origins import Origin, OriginKind
from rtconfig._sources import FIELD_LIKE_META, META_KEYS, Layer, TemplateSource
from rtconfig._suggest import closest, did_you_mean

__all__ = ["ENV_PREFIX", "override_layers", "parse_value"]

ENV_PREFIX = "RTCONFIG__"

_Refusal = tuple[DiagnosticCode, str]


def override_layers(
    templates: Mapping[str, TemplateSource],
    environ: Mapping[str, str],
    sets: Sequence[str],
) -> tuple[dict[str, Layer], dict[str, Layer], list[Diagnostic]]:
    """Layers 5 (``RTCONFIG__T__FIELD`` variables) and 6 (``--set``) for each template they name."""
    diagnostics: list[Diagnostic] = []
    env_layers = _variable_layers(templates, environ, diagnostics)
    set_layers = _set_layers(templates, sets, diagnostics)
    return env_layers, set_layers, diagnostics


def _variable_layers(
    templates: Mapping[str, TemplateSource], environ: Mapping[str, str], out: list[Diagnostic]
) -> dict[str, Layer]:
    by_var_name: dict[str, list[str]] = {}
    for name in templates:
        by_var_name.setdefault(_normalise(name), []).append(name)
    layers: dict[str, Layer] = {}
    for var in sorted(environ):
        if not var.upper().startswith(ENV_PREFIX):
            continue
        parts = var[len(ENV_PREFIX) :].split("__")
        if len(parts) < 2 or not all(parts):
            message = "malformed variable: use RTCONFIG__<TEMPLATE>__<FIELD>[__<SUBFIELD>…]"
            out.append(Diagnostic("error", message, code=C.INVALID_OVERRIDE, file=var))
            continue
        names = by_var_name.get(_normalise(parts[0]), [])
        if len(names) != 1:
            out.append(_unmatched_variable(var, parts, names, by_var_name))
            continue
        name, path = names[0], tuple(p.lower() for p in parts[1:])
        refusal = _refuse_path(path, "from a variable")
        value, refusal = (None, refusal) if refusal else _override_value(environ[var], path)
        if refusal is not None:
            out.append(Diagnostic("error", refusal[1], code=refusal[0], file=var))
            continue
        layer = layers.setdefault(name, Layer(OriginKind.ENV_VAR, {}, template=name))
        _put(layer.values, path, value)
        layer.fixed[path] = Origin(OriginKind.ENV_VAR, template=name, var=var)
    return layers


def _unmatched_variable(
    var: str, parts: Sequence[str], names: Sequence[str], by_var_name: Mapping[str, list[str]]
) -> Diagnostic:
    """A variable naming no template, or several (names that differ only in case or -/_)."""
    if names:
        message = f"variable matches several templates ({', '.join(names)}); rename one"
        return Diagnostic("error", message, code=C.INVALID_OVERRIDE, file=var)
    message = f"variable names template {parts[0]!r}, which does not exist"
    close = closest(_normalise(parts[0]), by_var_name)
    if close is not None:
        fixed = by_var_name[close][0]
        rest = "__".join(parts[1:])
        message += (
            f" (did you mean {ENV_PREFIX}{_normalise(fixed)}__{rest}, for template {fixed!r}?)"
        )
    return Diagnostic("error", message, code=C.UNKNOWN_TEMPLATE, file=var)


def _set_layers(
    templates: Mapping[str, TemplateSource], sets: Sequence[str], out: list[Diagnostic]
) -> dict[str, Layer]:
    layers: dict[str, Layer] = {}
    for item in sets:
        target_path, eq, raw = item.partition("=")
        parts = target_path.split(".")
        if not eq or len(parts) < 2 or not all(parts):
            message = f"--set {target_path!r}: expected TEMPLATE.FIELD[.SUBFIELD…]=VALUE"
            out.append(Diagnostic("error", message, code=C.INVALID_OVERRIDE, file="--set"))
            continue
        name, path = parts[0], tuple(parts[1:])
        if name not in templates:
            message = f"--set names template {name!r}, which does not exist" + did_you_mean(
                name, templates
            )
            out.append(Diagnostic("error", message, code=C.UNKNOWN_TEMPLATE, file="--set"))
            continue
        refusal = _refuse_path(path, "with --set")
        if refusal is None:
            value, refusal = _override_value(raw, path)
            refusal = (refusal[0], f"--set {refusal[1]}") if refusal else None
        if refusal is not None:
            out.append(Diagnostic("error", refusal[1], code=refusal[0], file="--set"))
            continue
        layer = layers.setdefault(name, Layer(OriginKind.SET, {}, template=name))
        _put(layer.values, path, value)
        layer.fixed[path] = Origin(OriginKind.SET, template=name, source=target_path)
    return layers


def _refuse_path(path: Sequence[str], how: str) -> _Refusal | None:
    """A path that names a meta-key that only the file can set (``extends``, ``null``, …)."""
    if path[0] in META_KEYS - FIELD_LIKE_META:
        return C.INVALID_OVERRIDE, f"{path[0]!r} cannot be set {how}"
    return None


def parse_value(text: str) -> Any:
    """Contract §3: a value from a variable or ``--set`` is JSON if it parses, else a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _override_value(text: str, path: Sequence[str]) -> tuple[Any, _Refusal | None]:
    """A variable's or ``--set`` value, or why it is refused (without echoing it): a path or
    value nested past the limit, bytes that are not UTF-8 (the OS hands them over as lone
    surrogates, which no later stage can encode), or a key-like string anywhere (in a JSON
    value's keys too)."""
    if len(path) > MAX_NESTING_DEPTH:
        return None, (
            C.LIMIT_EXCEEDED,
            f"path has {len(path)} parts: it nests more than {MAX_NESTING_DEPTH} levels deep "
            "(the limit)",
        )
    if any(_SURROGATE.search(part) for part in path):
        return None, (
            C.INVALID_OVERRIDE,
            "path is not valid UTF-8 (an undecodable byte in the name)",
        )
    bad = _SURROGATE.search(text)
    if bad is not None:
        return None, (
            C.INVALID_OVERRIDE,
            f"value is not valid UTF-8 (an undecodable byte at character {bad.start() + 1}); "
            "write it in UTF-8",
        )
    try:
        value = parse_value(text)
    except RecursionError:
        value = None
    else:
        if deeper_than(value, MAX_NESTING_DEPTH - len(path) + 1) is None:
            return value, _string_problem(value)
    return None, (
        C.LIMIT_EXCEEDED,
        f"value nests more than {MAX_NESTING_DEPTH} levels deep (the limit)",
    )


def _string_problem(value: Any) -> _Refusal | None:
    """Why a string anywhere in ``value`` is refused (iterative: values may be deep): key-like,
    or a lone surrogate (a JSON ``"\\ud800"`` escape), which is not text."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if KEY_LIKE.search(node):
                return C.SECRET_REFUSED, "value looks like an OpenAI API key (sk-…)"
            if _SURROGATE.search(node):
                return (
                    C.INVALID_OVERRIDE,
                    "value holds a lone surrogate (\\ud800-\\udfff), which is not text",
                )
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def _put(values: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = values
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _normalise(name: str) -> str:
    return name.upper().replace("-", "_")
