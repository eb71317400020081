"""Importing: a session object, as sent or as returned by any of the three endpoints, becomes a
sessions.toml template.

What is dropped, and why:

- response-only fields (``id``, ``object``, ``expires_at``, the token: ``client_secret`` in beta
  responses, top-level ``value`` in GA ones). The token's value is never copied anywhere;
- fields set to exactly the spec's documented default (the same table ``plan`` uses), unless
  leaving one out would make the template invalid;
- in responses only, nulls and fields that the request does not accept (servers echo
  ``"include": null`` or ``modalities`` on transcription sessions; a request cannot send them).

Explicit nulls that matter (``turn_detection: null`` turns VAD off) are kept as the template's
``null = [...]`` list, since TOML has no null. The result is checked like any template: it must
validate and resolve back to the same body (less the defaults).

This module is pure: it takes parsed JSON and returns a template; the CLI reads and prints.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import (
    GA_WRAPPED,
    Endpoint,
    body_from_template,
    template_path,
    template_view,
)
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._keys import KeyPath, format_path
from rtconfig._sources import iter_leaves
from rtconfig._values import same_value

if TYPE_CHECKING:
    from rtconfig._checks import Problem

__all__ = [
    "ImportedTemplate",
    "import_session",
    "infer_endpoint",
    "template_name_from",
    "to_toml",
]


# Keys only a response carries, at the level of the session object.
RESPONSE_ONLY = frozenset({"id", "object", "expires_at"})
# Keys that only a GA session has.
GA_KEYS = frozenset({"type", "audio", "output_modalities", "max_output_tokens", "reasoning"})
# Keys that only a beta realtime session (never a beta transcription session) has.
BETA_SESSION_KEYS = frozenset(
    {
        "model",
        "voice",
        "modalities",
        "instructions",
        "speed",
        "temperature",
        "output_audio_format",
        "tools",
        "tool_choice",
        "max_response_output_tokens",
        "tracing",
        "truncation",
        "prompt",
    }
)
# At most this many passes to settle what must be kept for the template to validate.
_MAX_PASSES = 20


@dataclass(frozen=True, slots=True)
class ImportedTemplate:
    """A template made from a session object.

    ``fields`` is template-shaped (``expires_after`` included) and holds the kept nulls as None;
    ``body`` is the request body it resolves to; ``dropped`` names what was left out and why.
    """

    name: str
    endpoint: Endpoint
    fields: dict[str, Any]
    body: dict[str, Any]
    response: bool
    dropped: tuple[tuple[str, str], ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())

    @property
    def nulls(self) -> tuple[str, ...]:
        return tuple(format_path(p) for p, v in iter_leaves(self.fields) if v is None)


def template_name_from(filename: str) -> str:
    """A template name from a file name: ``support-session.json`` -> ``support-session``."""
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem[: -len(".json")] if stem.endswith(".json") else stem
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")
    return name if name and stem != "-" else "imported"


def infer_endpoint(data: Mapping[str, Any]) -> Endpoint:
    """The endpoint a session object belongs to, from its shape.

    A ``session`` wrapper or GA keys (``type``, ``audio``, ``output_modalities``…) mean
    ``realtime/client_secrets``; a transcription object (``object`` says so, or
    ``input_audio_transcription`` and no realtime-only key) ``realtime/transcription_sessions``;
    anything else ``realtime/sessions``.
    """
    if isinstance(data.get("session"), dict) or GA_KEYS & data.keys():
        return Endpoint.CLIENT_SECRETS
    if data.get("object") == "realtime.transcription_session":
        return Endpoint.TRANSCRIPTION_SESSIONS
    secret = data.get("client_secret")
    if isinstance(secret, dict) and isinstance(secret.get("expires_at"), dict):
        return Endpoint.TRANSCRIPTION_SESSIONS  # the SDK's transcription lifetime key
    looks_transcription = "input_audio_transcription" in data or "include" in data
    if looks_transcription and not BETA_SESSION_KEYS & data.keys():
        return Endpoint.TRANSCRIPTION_SESSIONS
    return Endpoint.SESSIONS


def _is_response(data: Mapping[str, Any]) -> bool:
    if "value" in data or RESPONSE_ONLY & data.keys():
        return True
    session = data.get("session")
    if isinstance(session, dict) and RESPONSE_ONLY & session.keys():
        return True
    secret = data.get("client_secret")
    if "client_secret" in data and secret is None:
        return True  # the spec's own beta transcription example
    return isinstance(secret, dict) and "value" in secret


def _template_fields(
    original: Mapping[str, Any], endpoint: Endpoint, response: bool, dropped: list[tuple[str, str]]
) -> dict[str, Any]:
    """The template-shaped fields of ``data``, response-only keys removed."""
    data = copy.deepcopy(dict(original))
    if endpoint in GA_WRAPPED:
        wrapped = isinstance(data.get("session"), dict)
        if wrapped:
            for key in ("value", "expires_at"):
                if key in data:
                    data.pop(key)
                    dropped.append((key, "the token" if key == "value" else "response only"))
            session = data.pop("session")
            extra = sorted(k for k in data if k != "expires_after")
            if extra:
                raise ConfigError.single(
                    "unexpected top-level key(s) beside session: " + ", ".join(extra),
                    code=C.INVALID_IMPORT,
                )
            body = {"session": session, **data}
        else:
            body = {"session": data}
        for key in sorted(RESPONSE_ONLY & body["session"].keys()):
            body["session"].pop(key)
            dropped.append((f"session.{key}" if wrapped else key, "response only"))
        return template_view(endpoint, body)
    if isinstance(data.get("session"), dict):
        raise ConfigError.single(
            f"a {{session: …}} object is a realtime/client_secrets body, not {endpoint.value}; "
            "leave out --endpoint or pass --endpoint realtime/client_secrets",
            code=C.INVALID_IMPORT,
        )
    for key in sorted(RESPONSE_ONLY & data.keys()):
        data.pop(key)
        dropped.append((key, "response only"))
    secret = data.get("client_secret", {})
    token = response or not isinstance(secret, dict) or "value" in secret
    if token and "client_secret" in data:
        data.pop("client_secret")
        dropped.append(("client_secret", "the token"))
    return template_view(endpoint, data)


def _check(endpoint: Endpoint, fields: Mapping[str, Any]) -> list[Problem]:
    """Every problem the template's body has, each located at its *template* path."""
    from rtconfig._checks import check_body  # the models are a heavy import: load on demand

    body = body_from_template(endpoint, dict(fields))
    return [
        dataclasses.replace(p, path=template_path(endpoint, p.path))
        for p in check_body(endpoint, body)
    ]


# What a server echoes that a request cannot send: nulls and fields outside the request.
_SERVER_ECHOES = frozenset({C.NULL_NOT_ALLOWED, C.UNKNOWN_FIELD})


def _diagnostic(problem: Problem, source: str, name: str) -> Diagnostic:
    return Diagnostic(
        problem.severity,
        problem.message,
        code=problem.code,
        file=source,
        template=name,
        path=format_path(problem.path) or None,
    )


def _get(tree: Mapping[str, Any], path: KeyPath) -> Any:
    node: Any = tree
    for part in path:
        node = node[part]
    return node


def _has(tree: Mapping[str, Any], path: KeyPath) -> bool:
    node: Any = tree
    for part in path:
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not found:
            return False
        node = node[part]
    return True


def _put(tree: dict[str, Any], path: KeyPath, value: Any) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _delete(tree: dict[str, Any], path: KeyPath) -> None:
    """Remove the leaf at ``path`` and every table the removal leaves empty."""
    parents: list[tuple[dict[str, Any], Any]] = []
    node: Any = tree
    for part in path[:-1]:
        parents.append((node, part))
        node = node[part]
    del node[path[-1]]
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]


def _related(a: KeyPath, b: KeyPath) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def import_session(
    data: Any, *, name: str = "imported", endpoint: Endpoint | None = None, source: str = "-"
) -> ImportedTemplate:
    """A template from a session object (request or response of any endpoint).

    Raises :class:`ConfigError` when ``data`` is not a session object, holds what TOML cannot
    write (a null inside an array), or would not make a valid template.
    """
    _refuse_bad_input(data, name, source)
    response = _is_response(data)
    endpoint = endpoint or infer_endpoint(data)
    dropped: list[tuple[str, str]] = []
    try:
        fields = _template_fields(data, endpoint, response, dropped)
    except ConfigError as exc:
        raise ConfigError(
            [Diagnostic("error", d.message, code=d.code, file=source) for d in exc.diagnostics]
        ) from None
    _refuse_unwritable(fields, source)
    if response:
        _drop_server_echoes(endpoint, fields, dropped)
    kept = _without_defaults(endpoint, fields, dropped)
    problems = _check(endpoint, kept)
    errors = [_diagnostic(p, source, name) for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
    warnings = tuple(_diagnostic(p, source, name) for p in problems if p.severity == "warning")
    return ImportedTemplate(
        name=name,
        endpoint=endpoint,
        fields=kept,
        body=body_from_template(endpoint, copy.deepcopy(kept)),
        response=response,
        dropped=tuple(dropped),
        warnings=warnings,
    )


def _refuse_bad_input(data: Any, name: str, source: str) -> None:
    """Not a JSON object, or a template name sessions.toml cannot hold: a clear error."""
    if not isinstance(data, dict):
        raise ConfigError.single(
            "a session must be a JSON object", code=C.INVALID_IMPORT, file=source
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError.single(
            f"invalid template name {name!r}: use letters, digits, '_' and '-'",
            code=C.INVALID_NAME,
            file=source,
        )


def _drop_server_echoes(
    endpoint: Endpoint, fields: dict[str, Any], dropped: list[tuple[str, str]]
) -> None:
    """In a response, echoed nulls and keys a request cannot send are the server's, not the
    user's: remove them from ``fields`` (recorded in ``dropped``) until none is left."""
    for _ in range(_MAX_PASSES):
        doomed = [
            p.path
            for p in _check(endpoint, fields)
            if p.severity == "error" and p.code in _SERVER_ECHOES and _has(fields, p.path)
        ]
        if not doomed:
            return
        for path in doomed:
            if _has(fields, path):
                dropped.append((format_path(path), "a request cannot send it"))
                _delete(fields, path)


def _without_defaults(
    endpoint: Endpoint, fields: dict[str, Any], dropped: list[tuple[str, str]]
) -> dict[str, Any]:
    """A copy of ``fields`` without the leaves set to exactly the spec's default, except a
    default whose absence breaks validation (a discriminator, a required key)."""
    from rtconfig._models import defaults_for

    defaults = defaults_for(endpoint, fields)
    at_default = {
        path: value
        for path, value in iter_leaves(fields)
        if path in defaults and same_value(value, defaults[path])  # type: ignore[index]
    }
    kept = dict(copy.deepcopy(fields))
    removed = dict(at_default)
    for path in at_default:
        _delete(kept, path)
    for _ in range(_MAX_PASSES):
        broken = [p.path for p in _check(endpoint, kept) if p.severity == "error"]
        restore = [d for d in removed if any(_related(d, p) for p in broken)]
        if not restore:
            break
        for path in restore:
            _put(kept, path, removed.pop(path))
    dropped.extend((format_path(p), "the spec default") for p in removed)
    return kept


def _refuse_unwritable(fields: Mapping[str, Any], source: str) -> None:
    """TOML has no null: one inside an array cannot be written (a table's becomes ``null=``);
    and a ``null`` path is dotted, so a key holding a dot cannot be nulled."""
    problems: list[Diagnostic] = []

    def walk(value: Any, path: KeyPath, in_array: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key), in_array)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index), True)
        elif value is None and in_array:
            problems.append(
                Diagnostic(
                    "error",
                    "null inside an array cannot be written in TOML",
                    code=C.INVALID_IMPORT,
                    file=source,
                    path=format_path(path),
                )
            )
        elif value is None and any("." in str(p) for p in path):
            problems.append(
                Diagnostic(
                    "error",
                    "a null under a key containing '.' cannot be written as a null = [...] path",
                    code=C.INVALID_IMPORT,
                    file=source,
                    path=format_path(path),
                )
            )

    walk(fields, (), False)
    if problems:
        raise ConfigError(problems)


def to_toml(imported: ImportedTemplate, *, source: str | None = None) -> str:
    """The template as a ``[templates.NAME]`` TOML snippet (tomli-w), with a comment saying
    what was dropped. Never contains the token: it is dropped before this point."""
    import tomli_w

    values = copy.deepcopy(imported.fields)
    nulls = imported.nulls
    for path, value in list(iter_leaves(values)):
        if value is None:
            _delete(values, path)
    table: dict[str, Any] = {"endpoint": imported.endpoint.value}
    if nulls:
        table["null"] = list(nulls)
    table.update(values)
    header = [
        f"# Imported by `rtconfig import` from {source or 'a session object'}"
        + (" (a response)" if imported.response else "")
        + f" for {imported.endpoint.value}."
    ]
    header.extend(_wrap_comment("Dropped: ", [f"{path} ({why})" for path, why in imported.dropped]))
    text = tomli_w.dumps({"templates": {imported.name: table}}, multiline_strings=True)
    return "\n".join(header) + "\n" + text


def _wrap_comment(lead: str, items: Iterable[str], width: int = 98) -> list[str]:
    items = list(items)
    if not items:
        return []
    return textwrap.wrap(
        ", ".join(items) + ".",
        width,
        initial_indent="# " + lead,
        subsequent_indent="#   ",
        break_long_words=False,
        break_on_hyphens=False,
    )
