"""Validation (contract §4): a resolution becomes the exact request body, or diagnostics that
point at the line that set each offending value."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint, body_from_template, template_path
from rtconfig._errors import Diagnostic
from rtconfig._keys import KeyPath, format_path
from rtconfig._lifecycle import LIFECYCLE, lifecycle_problems
from rtconfig._origins import FieldRecord, Origin
from rtconfig._resolver import Resolution, ResolvedTemplate
from rtconfig._settings import Settings, endpoint_unreliable
from rtconfig._sources import Sources

if TYPE_CHECKING:
    from rtconfig._checks import Problem
    from rtconfig._lifecycle import LifecycleProblem

__all__ = ["BETA_ONLY_KEYS", "validate"]

# Top-level keys only the flat beta session has (NOTES §7, §20): a template without `type` that
# sets one of these was written for v1's default endpoint, realtime/sessions.
BETA_ONLY_KEYS = frozenset(
    {
        "modalities",
        "voice",
        "speed",
        "input_audio_format",
        "output_audio_format",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "turn_detection",
        "temperature",
        "max_response_output_tokens",
    }
)


def validate(
    sources: Sources,
    name: str,
    env: str | None,
    settings: Settings,
    resolution: Resolution,
    today: _dt.date | None = None,
    settings_fields: Mapping[KeyPath, FieldRecord] | None = None,
    *,
    unreliable: bool | None = None,
) -> tuple[ResolvedTemplate | None, list[Diagnostic]]:
    """Check one resolved template against its endpoint; the template when it has no errors.

    ``today`` (None: skip) dates the lifecycle checks (CONTRACT §8). ``unreliable`` is
    :func:`endpoint_unreliable` for ``env`` when the caller has worked it out once for many
    templates."""
    values = resolution.values
    endpoint_value = values.get("endpoint")
    if endpoint_value is None:
        if endpoint_unreliable(sources, env) if unreliable is None else unreliable:
            return None, []  # [api] endpoint is misspelt or invalid: reported once, not per field
        if _own_endpoint_invalid(sources, name):
            return None, []
    # body_from_template copies the top level, so the resolution's own dict is only read here.
    fields = values
    if "endpoint" in values:
        fields = {k: v for k, v in values.items() if k != "endpoint"}
    endpoint = Endpoint(endpoint_value) if endpoint_value is not None else settings.endpoint
    body = body_from_template(endpoint, fields)
    template = sources.templates[name]
    located = _Located(sources, name, env, template.header, resolution.records)
    diagnostics = _diagnostics(sources, env, endpoint, endpoint_value, fields, body, today, located)
    if any(d.severity == "error" for d in diagnostics):
        return None, diagnostics
    resolved = ResolvedTemplate(
        name=name,
        env=env,
        endpoint=endpoint,
        settings=settings,
        body=body,
        fields=resolution.records,
        header=template.header,
        description=template.description,
        warnings=tuple(diagnostics),
        settings_fields=settings_fields or {},
    )
    return resolved, diagnostics


class _Located(NamedTuple):  # a tuple: built once per template and environment
    """What a diagnostic about one template in one environment needs to find its line."""

    sources: Sources
    name: str
    env: str | None
    header: Origin
    fields: Mapping[KeyPath, FieldRecord]


def _diagnostics(
    sources: Sources,
    env: str | None,
    endpoint: Endpoint,
    endpoint_value: Any,
    fields: Mapping[str, Any],
    body: dict[str, Any],
    today: _dt.date | None,
    at: _Located,
) -> list[Diagnostic]:
    """The body's problems, the v1-default error and the lifecycle warnings, located."""
    from rtconfig._checks import check_body  # the models are the heaviest import: load on demand

    problems: list[Any] = list(check_body(endpoint, body))
    v1 = _v1_default(sources, env, endpoint, endpoint_value, fields)
    if v1 is not None:
        problems = [p for p in problems if not _explained_by_v1(template_path(endpoint, p.path))]
    diagnostics = [
        _diagnostic(at, template_path(endpoint, problem.path), problem) for problem in problems
    ]
    if v1 is not None:
        diagnostics.insert(0, _at_header(at, "error", v1))
    if today is not None and v1 is None:
        for found in lifecycle_problems(endpoint, fields, today):
            diagnostics.append(_diagnostic(at, found.path, found))
    return diagnostics


def _own_endpoint_invalid(sources: Sources, name: str) -> bool:
    """The template (or an overlay of it) wrote an invalid ``endpoint``, already reported: its
    fields would be checked against a guess."""
    return any(
        d.severity == "error" and d.template == name and d.path == "endpoint"
        for d in sources.diagnostics
    )


_BETA_SHUTDOWN = next(r.shutdown for r in LIFECYCLE if r.name == Endpoint.SESSIONS.value)


def _v1_default(
    sources: Sources,
    env: str | None,
    endpoint: Endpoint,
    own_endpoint: Any,
    fields: Mapping[str, Any],
) -> str | None:
    """The one message for a template written for v1's default endpoint (beta fields, no
    ``type``, no ``endpoint`` anywhere), or None."""
    if endpoint is not Endpoint.CLIENT_SECRETS or own_endpoint is not None or "type" in fields:
        return None
    environment = sources.environments.get(env) if env else None
    if "endpoint" in sources.api or (environment is not None and "endpoint" in environment.api):
        return None
    beta = sorted(BETA_ONLY_KEYS & fields.keys())
    if not beta:
        return None
    return (
        f"this template is written for the beta endpoint realtime/sessions, v1's default (it "
        f"sets beta fields such as {beta[0]!r} and no type); rtconfig now defaults to the GA "
        f"realtime/client_secrets. "
        f"Run `rtconfig migrate {sources.file}` to rewrite it for GA, or set [api] endpoint = "
        f'"realtime/sessions" to keep the beta endpoint (shut down by OpenAI on {_BETA_SHUTDOWN})'
    )


def _explained_by_v1(path: KeyPath) -> bool:
    """Whether a GA problem at ``path`` is a consequence of a beta-shaped template."""
    return path == ("type",) or (len(path) >= 1 and path[0] in BETA_ONLY_KEYS)


def _at_header(resolved: _Located, severity: Any, message: str) -> Diagnostic:
    header = resolved.header
    return Diagnostic(
        severity,
        message,
        code=C.V1_DEFAULT_ENDPOINT,
        file=header.file,
        line=header.line,
        col=header.col,
        template=resolved.name,
        env=resolved.env,
    )


def _diagnostic(
    resolved: _Located, path: KeyPath, problem: Problem | LifecycleProblem
) -> Diagnostic:
    origin = _locate(resolved.sources, resolved, path)
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


def _locate(sources: Sources, resolved: _Located, path: KeyPath) -> Origin:
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
    # A table written inline or across lines: its first leaf.
    for leaf, record in resolved.fields.items():
        if leaf[: len(path)] == path:
            return record.origin
    # A missing key: point at the table that should hold it, if the template wrote one.
    for end in range(len(path) - 1, 0, -1):
        prefix = path[:end]
        for leaf, record in resolved.fields.items():
            if leaf[:end] == prefix:
                return record.origin
    return resolved.header
