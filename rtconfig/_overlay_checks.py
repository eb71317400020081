"""Warnings about overlays that do nothing: a ``"*"`` overlay key every template overrides.

A user reading ``expires_after.seconds = 60`` in ``[environments.staging.templates."*"]``
believes staging's tokens last 60 s; when every template sets ``expires_after`` itself, none
does. This runs after resolution, on the resolved templates of one environment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rtconfig._codes import DiagnosticCode as C
from rtconfig._errors import Diagnostic, format_path
from rtconfig._origins import OriginKind
from rtconfig._resolver import ResolvedTemplate
from rtconfig._sources import Sources, iter_leaves

__all__ = ["shadowed_star_overlay"]


def shadowed_star_overlay(
    sources: Sources, env: str, resolved: Sequence[ResolvedTemplate]
) -> list[Diagnostic]:
    """A warning for each leaf of ``env``'s ``"*"`` overlay that no template in ``resolved``
    (every mintable template of ``env``) takes from it."""
    environment = sources.environments.get(env)
    star = environment.overlays.get("*") if environment is not None else None
    if star is None or not resolved:
        return []
    names = _names(resolved)
    diagnostics = []
    for path, value in iter_leaves(star.values):
        origin = star.origin(path)
        if any(_takes_from_star(t, path, env) for t in resolved):
            continue
        dotted = format_path(path)
        diagnostics.append(
            Diagnostic(
                "warning",
                f"the value {_short(value)} has no effect: every template sets it itself "
                f"({names}), above this overlay; set it in each template's overlay instead, "
                "or remove it",
                code=C.SHADOWED_OVERLAY,
                file=origin.file,
                line=origin.line,
                col=origin.col,
                template="*",
                env=env,
                path=dotted,
            )
        )
    return diagnostics


def _takes_from_star(template: ResolvedTemplate, path: tuple[str | int, ...], env: str) -> bool:
    record = template.fields.get(path)
    if record is None:
        return False
    origin = record.origin
    return origin.kind is OriginKind.ENVIRONMENT and origin.template == "*" and origin.env == env


_NAMES_SHOWN = 10


def _names(resolved: Sequence[ResolvedTemplate]) -> str:
    """The templates, or the first ten and how many more: a file of 10,000 templates must not
    print all their names in every warning."""
    names = [t.name for t in resolved]
    if len(names) <= _NAMES_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:_NAMES_SHOWN]) + f", … and {len(names) - _NAMES_SHOWN} more"


def _short(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
