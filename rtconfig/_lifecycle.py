"""The API's lifecycle (CONTRACT §8): what OpenAI retires, when, and what replaces it.

One table, :data:`LIFECYCLE`, with the source of every row. ``validate``, ``plan`` and ``apply``
read it through :func:`lifecycle_problems`: a model whose shutdown is ahead is a warning, one
whose shutdown has passed is an error; a beta endpoint is a warning (rtconfig still mints it:
it is the seed's endpoint); a stored ``prompt`` object is a warning. "Today" is the machine's
UTC date, or ``RTCONFIG_TODAY=YYYY-MM-DD`` (:func:`today`), so CI can fail before a shutdown.

Facts as checked on 2026-12-01 (``shared/spec/NOTES.md`` §8): openai-python 3.57.0's
docstrings and public reports, cited per row. Re-check them whenever the SDK moves
(``tests/test_sdk_conformance.py`` pins it) and against OpenAI's deprecations page.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rtconfig._codes import DiagnosticCode
from rtconfig._endpoints import Endpoint

__all__ = [
    "LIFECYCLE",
    "LifecycleProblem",
    "Retirement",
    "lifecycle_problems",
    "parse_today",
    "replacement_for",
    "today",
]

Kind = Literal["endpoint", "model", "transcription_model", "field"]
TemplatePath = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Retirement:
    """One retired (or retiring) thing: its ``kind`` and ``name``, the announced shutdown date,
    the replacement OpenAI names (None: none named), and where the facts come from."""

    kind: Kind
    name: str
    shutdown: _dt.date
    replacement: str | None
    source: str
    note: str = ""


_BETA_SOURCE = (
    "OpenAI's deprecation notice of 2025-09-15; after the date the API answers "
    "invalid_request_error beta_api_shape_disabled (reported in kizuna-ai-lab/sokuji#115, "
    "OpenWhispr/openwhispr#811 and #820, jsboige/CoursIA#13149; some reports say 2026-05-12)"
)
_PREVIEW_SOURCE = "kizuna-ai-lab/sokuji#115 (deprecated with the beta interface, 2026-05-07)"
_MODEL_SOURCE = (
    "openai-python 3.57.0 types/realtime/realtime_session_create_request_param.py, `model`: "
    '"Announced shutdown date: 2027-01-20"; replacements from third-party notices (the SDK '
    "points to OpenAI's deprecations page)"
)
_TRANSCRIBE_SOURCE = (
    "openai-python 3.57.0 types/realtime/audio_transcription_param.py, `model`: announced "
    "shutdown 2027-02-26; no replacement stated (gpt-transcribe and gpt-live-transcribe are the "
    "current models)"
)
_PROMPTS_SOURCE = (
    "OpenAI's 'migrate from prompt objects' guide, as reported: v1/prompts shut down 2026-11-30"
)

_BETA_DAY = _dt.date(2026, 5, 7)
_MODEL_DAY = _dt.date(2027, 1, 20)
_TRANSCRIBE_DAY = _dt.date(2027, 2, 26)

LIFECYCLE: tuple[Retirement, ...] = (
    Retirement(
        "endpoint",
        Endpoint.SESSIONS.value,
        _BETA_DAY,
        Endpoint.CLIENT_SECRETS.value,
        _BETA_SOURCE,
        "the Realtime beta interface",
    ),
    Retirement(
        "endpoint",
        Endpoint.TRANSCRIPTION_SESSIONS.value,
        _BETA_DAY,
        Endpoint.CLIENT_SECRETS.value,
        _BETA_SOURCE,
        "the Realtime beta interface",
    ),
    *(
        Retirement("model", name, _BETA_DAY, "gpt-realtime-2.1", _PREVIEW_SOURCE)
        for name in (
            "gpt-4o-realtime-preview",
            "gpt-4o-realtime-preview-2024-10-01",
            "gpt-4o-realtime-preview-2024-12-17",
            "gpt-4o-realtime-preview-2025-06-03",
        )
    ),
    *(
        Retirement("model", name, _BETA_DAY, "gpt-realtime-2.1-mini", _PREVIEW_SOURCE)
        for name in ("gpt-4o-mini-realtime-preview", "gpt-4o-mini-realtime-preview-2024-12-17")
    ),
    *(
        Retirement("model", name, _MODEL_DAY, "gpt-realtime-2.1", _MODEL_SOURCE)
        for name in ("gpt-realtime", "gpt-realtime-2025-08-28")
    ),
    *(
        Retirement("model", name, _MODEL_DAY, "gpt-realtime-2.1-mini", _MODEL_SOURCE)
        for name in (
            "gpt-realtime-mini",
            "gpt-realtime-mini-2025-12-15",
            "gpt-audio-mini",
            "gpt-audio-mini-2025-12-15",
        )
    ),
    *(
        Retirement("transcription_model", name, _TRANSCRIBE_DAY, None, _TRANSCRIBE_SOURCE)
        for name in (
            "whisper-1",
            "gpt-4o-mini-transcribe",
            "gpt-4o-mini-transcribe-2025-12-15",
            "gpt-4o-transcribe",
            "gpt-4o-transcribe-diarize",
        )
    ),
    Retirement(
        "field",
        "prompt",
        _dt.date(2026, 11, 30),
        "instructions (kept in files under review: instructions_file)",
        _PROMPTS_SOURCE,
        "stored prompt objects (v1/prompts)",
    ),
)
"""Every retirement rtconfig knows, one row per name."""

_BY_NAME: Mapping[tuple[Kind, str], Retirement] = {(r.kind, r.name): r for r in LIFECYCLE}
_CURRENT_TRANSCRIBE = "'gpt-transcribe' or 'gpt-live-transcribe'"


def replacement_for(kind: Kind, name: str) -> str | None:
    """The replacement OpenAI names for a retiring ``name`` (None: not retiring, or none named)."""
    row = _BY_NAME.get((kind, name))
    return row.replacement if row is not None else None


def parse_today(text: str) -> _dt.date | None:
    """``YYYY-MM-DD`` as a date, or None when it is not one."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        return None


def today(environ: Mapping[str, str]) -> _dt.date | None:
    """``RTCONFIG_TODAY`` when set, else the machine's UTC date; None when the variable is set
    but is not a ``YYYY-MM-DD`` date (the caller reports that)."""
    pinned = environ.get("RTCONFIG_TODAY")
    if pinned is None or pinned == "":
        return _dt.datetime.now(_dt.UTC).date()
    return parse_today(pinned.strip())


@dataclass(frozen=True, slots=True)
class LifecycleProblem:
    """A lifecycle finding about one template, at ``path`` (a template path; () = the template)."""

    code: DiagnosticCode
    severity: Literal["error", "warning"]
    path: TemplatePath
    message: str


def lifecycle_problems(
    endpoint: Endpoint, fields: Mapping[str, Any], day: _dt.date
) -> list[LifecycleProblem]:
    """What the table says about a template with these resolved ``fields`` on ``endpoint``."""
    models = tuple(_get(fields, path) for path in _MODEL_PATHS[endpoint])
    prompt = fields.get("prompt") is not None and "prompt" in fields
    # A large file asks about the same few models thousands of times: the answers are values.
    return list(
        _problems(endpoint, tuple(m if isinstance(m, str) else None for m in models), prompt, day)
    )


_MODEL_PATHS: dict[Endpoint, tuple[TemplatePath, ...]] = {
    Endpoint.CLIENT_SECRETS: (("model",), ("audio", "input", "transcription", "model")),
    Endpoint.TRANSLATIONS: (("model",), ("audio", "input", "transcription", "model")),
    Endpoint.SESSIONS: (("model",), ("input_audio_transcription", "model")),
    Endpoint.TRANSCRIPTION_SESSIONS: (("input_audio_transcription", "model"),),
}


@functools.lru_cache(maxsize=1024)
def _problems(
    endpoint: Endpoint, names: tuple[str | None, ...], prompt: bool, day: _dt.date
) -> tuple[LifecycleProblem, ...]:
    out: list[LifecycleProblem] = []
    beta = _BY_NAME.get(("endpoint", endpoint.value))
    if beta is not None:
        out.append(
            LifecycleProblem(
                DiagnosticCode.BETA_ENDPOINT,
                "warning",
                ("endpoint",),
                f"endpoint {endpoint.value!r} is {beta.note}, which OpenAI shut down on "
                f"{beta.shutdown} (the API answers beta_api_shape_disabled); rtconfig still "
                f"mints it, but run `rtconfig migrate` to move this template to "
                f"{beta.replacement}",
            )
        )
    for path, name in zip(_MODEL_PATHS[endpoint], names, strict=True):
        kind: Kind = "model" if path == ("model",) else "transcription_model"
        row = _BY_NAME.get((kind, name)) if name is not None else None
        if row is not None:
            out.append(_model_problem(row, path, day))
    if prompt:
        row = _BY_NAME[("field", "prompt")]
        out.append(
            LifecycleProblem(
                DiagnosticCode.PROMPT_OBJECT,
                "warning",
                ("prompt",),
                f"{row.note} are gone: OpenAI shut the v1/prompts API down on {row.shutdown}; "
                "keep the instructions in the template (instructions or instructions_file)",
            )
        )
    return tuple(out)


def _model_problem(row: Retirement, path: TemplatePath, day: _dt.date) -> LifecycleProblem:
    noun = "model" if row.kind == "model" else "transcription model"
    if row.replacement is not None:
        advice = f"use {row.replacement!r}"
    else:
        advice = f"OpenAI names no replacement; the current models are {_CURRENT_TRANSCRIBE}"
    days = (row.shutdown - day).days
    if days > 0:
        return LifecycleProblem(
            DiagnosticCode.DEPRECATED_MODEL,
            "warning",
            path,
            f"{noun} {row.name!r} is scheduled for shutdown on {row.shutdown} "
            f"(in {days} day{'s' * (days != 1)}); {advice}",
        )
    return LifecycleProblem(
        DiagnosticCode.SHUT_DOWN_MODEL,
        "error",
        path,
        f"{noun} {row.name!r} was shut down on {row.shutdown}; {advice}",
    )


def _get(fields: Mapping[str, Any], path: TemplatePath) -> Any:
    node: Any = fields
    for part in path:
        if node.__class__ is not dict and not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node
