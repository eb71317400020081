"""Checking a request body: the models' verdict in plain words, plus the API's unwritten rules.

:func:`check_body` is the one entry point. It validates a body with the endpoint's model, turns
each pydantic error into one :class:`Problem` located at the most precise key of the *request
body* (:mod:`._pydantic`), then adds what the API checks but the schema does not say
(:mod:`._rules`: tool names, ``tool_choice`` targets, function ``parameters`` being a JSON
Schema (:mod:`._schema`), MCP server sources, ``gpt-realtime-whisper`` without VAD) and warns
about unknown models and voices. How findings are worded lives in :mod:`._wording`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import ValidationError

from rtconfig._checks._problem import BodyPath, Problem
from rtconfig._checks._pydantic import translate
from rtconfig._checks._rules import (
    check_beta_session,
    check_beta_transcription,
    check_realtime,
    check_transcription,
    check_translation,
)
from rtconfig._checks._schema import MAX_SCHEMA_DEPTH
from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._validator_cache import validator

__all__ = ["MAX_SCHEMA_DEPTH", "Problem", "check_body"]


def check_body(endpoint: Endpoint, body: Mapping[str, Any]) -> list[Problem]:
    """Every problem with ``body`` as a request to ``endpoint``: errors first, then warnings."""
    if not isinstance(body, dict):
        body = dict(body) if isinstance(body, Mapping) else body
    problems: list[Problem] = []
    checked = _typed_guess(endpoint, body, problems)
    try:
        validator(endpoint).validate_python(checked)
    except ValidationError as exc:
        problems.extend(translate(endpoint, checked, exc.errors(include_url=False)))
    if isinstance(body, dict):
        if endpoint is Endpoint.CLIENT_SECRETS:
            session = checked.get("session")
            if isinstance(session, dict):
                kind = session.get("type")
                if kind == "realtime":
                    check_realtime(session, ("session",), problems)
                elif kind == "transcription":
                    check_transcription(session, ("session",), problems)
        elif endpoint is Endpoint.SESSIONS:
            check_beta_session(body, problems)
        elif endpoint is Endpoint.TRANSCRIPTION_SESSIONS:
            check_beta_transcription(body, problems)
        else:
            check_translation(body, problems)
    if len(problems) > 1:
        problems = _ordered(problems)
    return problems


def _typed_guess(endpoint: Endpoint, body: Any, problems: list[Problem]) -> Any:
    """A GA session without ``type`` is reported as such and then checked as the type it most
    likely is, so that the missing ``type`` never hides the template's other errors."""
    if endpoint is not Endpoint.CLIENT_SECRETS or not isinstance(body, dict):
        return body
    session = body.get("session")
    if not isinstance(session, dict) or "type" in session:
        return body
    problems.append(Problem(C.MISSING_FIELD, ("session", "type"), "is required"))
    audio = session.get("audio")
    transcription_only = (
        session.keys() <= {"audio", "include"}
        and isinstance(audio, dict)
        and audio.keys() <= {"input"}
        and isinstance(audio.get("input"), dict)
        and "transcription" in audio["input"]
    )
    guess = "transcription" if transcription_only else "realtime"
    return {**body, "session": {"type": guess, **session}}


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Drop duplicates, keep the order found, errors before warnings."""
    seen: set[tuple[BodyPath, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return sorted(unique, key=lambda p: p.severity != "error")
