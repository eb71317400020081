"""Validation (contract §4): a resolution becomes the exact request body, or diagnostics that
point at the line that set each offending value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtconfig._endpoints import Endpoint, body_from_template, template_path
from rtconfig._errors import Diagnostic
from rtconfig._keys import KeyPath, format_path
from rtconfig._origins import Origin
from rtconfig._resolver import Resolution, ResolvedTemplate
from rtconfig._settings import Settings
from rtconfig._sources import Sources

if TYPE_CHECKING:
    from rtconfig._checks import Problem

__all__ = ["validate"]


def validate(
    sources: Sources,
    name: str,
    env: str | None,
    settings: Settings,
    resolution: Resolution,
) -> tuple[ResolvedTemplate | None, list[Diagnostic]]:
    """Check one resolved template against its endpoint; the template when it has no errors."""
    from rtconfig._checks import check_body  # the models are the heaviest import: load on demand

    template = sources.templates[name]
    fields: dict[str, Any] = dict(resolution.values)
    endpoint_value = fields.pop("endpoint", None)
    endpoint = Endpoint(endpoint_value) if endpoint_value is not None else settings.endpoint
    body = body_from_template(endpoint, fields)
    resolved = ResolvedTemplate(
        name=name,
        env=env,
        endpoint=endpoint,
        settings=settings,
        body=body,
        fields=resolution.records,
        header=template.header,
        description=template.description,
    )
    diagnostics = [
        _diagnostic(sources, resolved, template_path(endpoint, problem.path), problem)
        for problem in check_body(endpoint, body)
    ]
    if any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    warnings = tuple(diagnostics)
    if warnings:
        resolved = ResolvedTemplate(**{**_fields_of(resolved), "warnings": warnings})
    return resolved, diagnostics


def _fields_of(resolved: ResolvedTemplate) -> dict[str, Any]:
    return {slot: getattr(resolved, slot) for slot in ResolvedTemplate.__slots__}


def _diagnostic(
    sources: Sources, resolved: ResolvedTemplate, path: KeyPath, problem: Problem
) -> Diagnostic:
    origin = _locate(sources, resolved, path)
    return Diagnostic(
        problem.severity,
        problem.message,
        code=problem.code,
        file=origin.var if origin.var else ("--set" if origin.kind == "set" else origin.file),
        line=origin.line,
        col=origin.col,
        template=resolved.name,
        env=resolved.env,
        path=format_path(path) or None,
    )


def _locate(sources: Sources, resolved: ResolvedTemplate, path: KeyPath) -> Origin:
    """The origin of the leaf holding ``path``; inside an array written in the file, the exact
    element's line; with no leaf at all (a missing key), the template's header."""
    for end in range(len(path), 0, -1):
        record = resolved.fields.get(path[:end])
        if record is None:
            continue
        origin = record.origin
        if end < len(path) and origin.key is not None:
            found = sources.document.position((*origin.key, *path[end:]))
            if found and found[0] != origin.line:
                return origin.at(found[0], found[1])
        return origin
    # A missing key: point at the table that should hold it, if the template wrote one.
    for end in range(len(path) - 1, 0, -1):
        prefix = path[:end]
        for leaf, record in resolved.fields.items():
            if leaf[:end] == prefix:
                return record.origin
    return resolved.header
