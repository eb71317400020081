"""How the checker words what it found: values as the user wrote them, choices, suggestions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rtconfig._suggest import closest

__all__ = ["did_you_mean", "one_of", "plural_s", "show", "undeclared"]


def show(value: Any) -> str:
    """A value as the user would recognise it: 'text', 2.0, true, null, [1, 2]."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None or isinstance(value, bool | int | float | list | dict):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (ValueError, RecursionError):  # circular or absurdly deep
            text = type(value).__name__
    else:
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def plural_s(count: Any) -> str:
    return "" if count == 1 else "s"


def one_of(allowed: Iterable[Any], got: Any) -> str:
    allowed = list(allowed)
    if not allowed:
        return f"is not allowed (got {show(got)})"
    choices = ", ".join(repr(a) for a in allowed)
    head = f"must be {choices}" if len(allowed) == 1 else f"must be one of {choices}"
    hint = ""
    if isinstance(got, str):
        hint = did_you_mean(got, [a for a in allowed if isinstance(a, str)], bare=True)
    return f"{head} (got {show(got)}{hint})"


def did_you_mean(word: str, candidates: Iterable[str], bare: bool = False) -> str:
    """`` (did you mean 'voice'?)``, or ``; did you mean 'voice'?`` with ``bare``; or ''."""
    match = closest(word, candidates, fold_case=False)
    if match is None:
        return ""
    return f"; did you mean {match!r}?" if bare else f" (did you mean {match!r}?)"


def undeclared(name: str, what: str, declared: Iterable[str]) -> str:
    declared = sorted(declared)
    if not declared:
        return f"{name!r} is not a declared {what} (none is declared in tools)"
    hint = did_you_mean(name, declared)
    if hint:
        return f"{name!r} is not a declared {what}{hint}"
    return f"{name!r} is not a declared {what} (declared: {', '.join(map(repr, declared))})"
