"""Checking a request body: the models' verdict in plain words, plus the API's unwritten rules.

:func:`check_body` is the one entry point. It validates a body with the endpoint's model, turns
each pydantic error into one :class:`Problem` located at the most precise key of the *request
body*, then adds what the API checks but the schema does not say (tool names, ``tool_choice``
targets, function ``parameters`` being a JSON Schema, MCP server sources, ``gpt-realtime-whisper``
without VAD) and warns about unknown models and voices.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from pydantic_core import ValidationError
from typing_extensions import is_typeddict

from rtconfig._codes import DiagnosticCode
from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._suggest import closest
from rtconfig._validator_cache import known_values, validator

__all__ = ["MAX_SCHEMA_DEPTH", "Problem", "check_body"]

BodyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request body, at ``path`` in the body (union tags stripped)."""

    code: DiagnosticCode
    path: BodyPath
    message: str
    severity: Literal["error", "warning"] = "error"


def check_body(endpoint: Endpoint, body: Mapping[str, Any]) -> list[Problem]:
    """Every problem with ``body`` as a request to ``endpoint``: errors first, then warnings."""
    if not isinstance(body, dict):
        body = dict(body) if isinstance(body, Mapping) else body
    problems: list[Problem] = []
    checked = _typed_guess(endpoint, body, problems)
    try:
        validator(endpoint).validate_python(checked)
    except ValidationError as exc:
        problems.extend(_translate(endpoint, checked, exc.errors(include_url=False)))
    if isinstance(body, dict):
        if endpoint is Endpoint.CLIENT_SECRETS:
            session = checked.get("session")
            if isinstance(session, dict):
                kind = session.get("type")
                if kind == "realtime":
                    _check_realtime(session, ("session",), problems)
                elif kind == "transcription":
                    _check_transcription(session, ("session",), problems)
        elif endpoint is Endpoint.SESSIONS:
            _check_beta_session(body, problems)
        elif endpoint is Endpoint.TRANSCRIPTION_SESSIONS:
            _check_beta_transcription(body, problems)
        else:
            _check_translation(body, problems)
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


# --------------------------------------------------------------------------------------------
# pydantic errors → problems


def _translate(endpoint: Endpoint, body: Any, errors: Iterable[Any]) -> Iterable[Problem]:
    # Only the error path walks the model types: the models are imported on demand.
    from rtconfig._models import request_model

    root = request_model(endpoint)
    for error in errors:
        yield _problem(root, body, error)


_KIND_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _problem(root: Any, body: Any, error: Mapping[str, Any]) -> Problem:
    """The one problem a pydantic error stands for."""
    loc: tuple[str | int, ...] = error["loc"]
    kind: str = error["type"]
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    path = _body_path(body, loc)

    if kind == "missing":
        return Problem(C.MISSING_FIELD, path, "is required")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        table = _type_at(root, loc[:-1])
        moved = _moved()
        if (table, name) in moved:  # a renamed field beats a look-alike
            hint = f" ({moved[table, name]})"
        else:
            pool = list(_fields(table)) if is_typeddict(table) else []
            if table in _template_roots():  # what a template may write at its top level
                pool = [k for k in pool if k != "client_secret"] + sorted(_META_KEYS)
            hint = _did_you_mean(name, pool)
        return Problem(C.UNKNOWN_FIELD, path, f"unknown field {name!r}{hint}")
    from rtconfig._models import UNION_ERRORS

    union = UNION_ERRORS.get(kind)
    if union is not None:
        if value is None:
            return Problem(C.NULL_NOT_ALLOWED, path, "cannot be null")
        if union.key and isinstance(value, dict):
            tag = value.get(union.key, _ABSENT)
            if tag is _ABSENT:
                return Problem(C.MISSING_FIELD, (*path, union.key), "is required")
            if tag is None:
                return Problem(C.NULL_NOT_ALLOWED, (*path, union.key), "cannot be null")
            return Problem(C.INVALID_CHOICE, (*path, union.key), _one_of(union.allowed, tag))
        return Problem(C.TYPE_ERROR, path, f"must be {union.expected} (got {_show(value)})")
    if value is None and (kind in _KIND_NAMES or kind == "literal_error"):
        return Problem(C.NULL_NOT_ALLOWED, path, "cannot be null")
    if kind in _KIND_NAMES:
        return Problem(C.TYPE_ERROR, path, f"must be {_KIND_NAMES[kind]} (got {_show(value)})")
    if kind == "literal_error":
        return Problem(C.INVALID_CHOICE, path, _one_of(_literal_values(root, loc), value))
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return Problem(C.OUT_OF_RANGE, path, f"must be {word} {bound} (got {_show(value)})")
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "greater than"
        return Problem(C.OUT_OF_RANGE, path, f"must be {word} {bound} (got {_show(value)})")
    if kind == "too_short":
        least = ctx.get("min_length")
        got = len(value) if isinstance(value, list | dict | str) else ctx.get("actual_length")
        return Problem(
            C.OUT_OF_RANGE, path, f"must have at least {least} item{_s(least)} (got {got})"
        )
    if kind == "too_long":
        most = ctx.get("max_length")
        got = len(value) if isinstance(value, list | dict | str) else ctx.get("actual_length")
        message = f"must have at most {most} item{_s(most)} (got {got})"
        if path[-1:] == ("output_modalities",):
            message += ": 'text' and 'audio' cannot be requested together"
        return Problem(C.OUT_OF_RANGE, path, message)
    if kind == "string_pattern_mismatch":
        return Problem(
            C.PATTERN_MISMATCH, path, f"must match {ctx.get('pattern')} (got {_show(value)})"
        )
    if kind == "finite_number":
        return Problem(C.INVALID_VALUE, path, f"must be a finite number (got {_show(value)})")
    message = str(error.get("msg", kind))
    return Problem(
        C.INVALID_VALUE, path, f"{message[:1].lower()}{message[1:]} (got {_show(value)})"
    )


# Where a key that is unknown at one level lives instead: the beta ↔ GA renames (NOTES §7).
_GA_NAMES = {
    "voice": "audio.output.voice",
    "speed": "audio.output.speed",
    "output_audio_format": "audio.output.format",
    "modalities": "output_modalities",
    "max_response_output_tokens": "max_output_tokens",
}
_GA_INPUT_NAMES = {
    "input_audio_format": "audio.input.format",
    "input_audio_transcription": "audio.input.transcription",
    "input_audio_noise_reduction": "audio.input.noise_reduction",
    "turn_detection": "audio.input.turn_detection",
}
_BETA_NAMES = {v: k for k, v in (_GA_NAMES | _GA_INPUT_NAMES).items() if "." not in v}
_TOKEN = "client_secret.value is the token the API returns; a request sets only the lifetime"


@functools.cache
def _moved() -> dict[tuple[Any, str], str]:
    from rtconfig._models import (
        BetaClientSecret,
        RealtimeSessionGA,
        SessionCreateRequest,
        TranscriptionClientSecret,
        TranscriptionSessionCreateRequest,
        TranscriptionSessionGA,
    )

    return {
        **{(RealtimeSessionGA, k): f"in GA sessions it is {v}" for k, v in _GA_NAMES.items()},
        **{(RealtimeSessionGA, k): f"in GA sessions it is {v}" for k, v in _GA_INPUT_NAMES.items()},
        **{
            (TranscriptionSessionGA, k): f"in GA sessions it is {v}"
            for k, v in _GA_INPUT_NAMES.items()
        },
        (RealtimeSessionGA, "temperature"): "GA sessions have no temperature",
        **{
            (SessionCreateRequest, k): f"in beta sessions it is {v}" for k, v in _BETA_NAMES.items()
        },
        (
            SessionCreateRequest,
            "audio",
        ): "beta sessions are flat: voice, speed, input_audio_format, …",
        (
            SessionCreateRequest,
            "type",
        ): "GA sessions, with a type, use endpoint realtime/client_secrets",
        (
            TranscriptionSessionCreateRequest,
            "audio",
        ): "beta sessions are flat: input_audio_format, …",
        (TranscriptionSessionCreateRequest, "type"): (
            "GA sessions, with a type, use endpoint realtime/client_secrets"
        ),
        (BetaClientSecret, "value"): _TOKEN,
        (BetaClientSecret, "expires_at"): "realtime/sessions takes expires_after",
        (TranscriptionClientSecret, "value"): _TOKEN,
        (TranscriptionClientSecret, "expires_after"): (
            "realtime/transcription_sessions takes expires_at (openai-python's name)"
        ),
    }


# The tables a template's own top-level keys land in, and the meta-keys a template may write
# there too (CONTRACT §2): `extend = "base"` should suggest 'extends', not a field.
@functools.cache
def _template_roots() -> frozenset[Any]:
    from rtconfig._models import (
        RealtimeSessionGA,
        SessionCreateRequest,
        TranscriptionSessionCreateRequest,
        TranscriptionSessionGA,
    )

    return frozenset(
        {
            RealtimeSessionGA,
            TranscriptionSessionGA,
            SessionCreateRequest,
            TranscriptionSessionCreateRequest,
        }
    )


_META_KEYS = frozenset(
    {
        "extends",
        "abstract",
        "description",
        "endpoint",
        "expires_after",
        "instructions_file",
        "null",
        "unset",
    }
)


def _body_path(body: Any, loc: tuple[str | int, ...]) -> BodyPath:
    """``loc`` without the union tags pydantic puts in it, following the data to tell them apart."""
    node = body
    path: list[str | int] = []
    for part in loc:
        if isinstance(part, str):
            in_node = isinstance(node, dict) and part in node
            if part.startswith("~") and not in_node:
                continue  # our union tags all start with "~"
            if part == "[key]" and not in_node:
                continue
            node = node[part] if in_node else None
        elif isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
        path.append(part)
    return tuple(path)


def _show(value: Any) -> str:
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


def _s(count: Any) -> str:
    return "" if count == 1 else "s"


def _one_of(allowed: Iterable[Any], got: Any) -> str:
    allowed = list(allowed)
    if not allowed:
        return f"is not allowed (got {_show(got)})"
    choices = ", ".join(repr(a) for a in allowed)
    head = f"must be {choices}" if len(allowed) == 1 else f"must be one of {choices}"
    hint = ""
    if isinstance(got, str):
        hint = _did_you_mean(got, [a for a in allowed if isinstance(a, str)], bare=True)
    return f"{head} (got {_show(got)}{hint})"


def _did_you_mean(word: str, candidates: Iterable[str], bare: bool = False) -> str:
    """`` (did you mean 'voice'?)``, or ``; did you mean 'voice'?`` with ``bare``; or ''."""
    match = closest(word, candidates, fold_case=False)
    if match is None:
        return ""
    return f"; did you mean {match!r}?" if bare else f" (did you mean {match!r}?)"


# ---- walking the model types along an error location (only on the error path)


def _type_at(root: Any, loc: tuple[str | int, ...]) -> Any:
    """The type the model expects at ``loc`` (tags included), or None when it cannot tell."""
    tp = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, str) and part.startswith("~") and _is_union(tp):
            tp = _branch(tp, part)
        elif is_typeddict(tp):
            tp = _fields(tp).get(part) if isinstance(part, str) else None
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
        if tp is None:
            return None
    return _unwrap(tp)


def _literal_values(root: Any, loc: tuple[str | int, ...]) -> tuple[Any, ...]:
    tp = _type_at(root, loc)
    return get_args(tp) if get_origin(tp) is Literal else ()


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated``, ``Required``, ``NotRequired`` and ``| None`` down to the real type."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated or origin is Required or origin is NotRequired:
            tp = get_args(tp)[0]
        elif _is_union(tp):
            members = [m for m in get_args(tp) if m is not NoneType]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, UnionType)


def _branch(union: Any, tag: str) -> Any:
    from pydantic import Tag

    for member in get_args(union):
        if get_origin(member) is Annotated and any(
            isinstance(meta, Tag) and meta.tag == tag for meta in member.__metadata__
        ):
            return member
    return None


@functools.cache
def _fields(typed_dict: Any) -> dict[str, Any]:
    return get_type_hints(typed_dict, include_extras=True)


# --------------------------------------------------------------------------------------------
# What the API checks but the schema does not say


_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_CHOICE_MODES = ("auto", "none", "required")
_MCP_SOURCES = ("server_url", "connector_id", "tunnel_id")
_WHISPER = "gpt-realtime-whisper"
_ABSENT: Any = object()


def _check_beta_session(body: dict[str, Any], out: list[Problem]) -> None:
    model = body.get("model")
    known = known_values()
    if isinstance(model, str) and model in known.models and model not in known.beta_models:
        message = (
            f"model {model!r} is not listed for the beta realtime/sessions endpoint"
            " (GA models are minted with endpoint realtime/client_secrets)"
        )
        out.append(Problem(C.MODEL_NOT_ON_ENDPOINT, ("model",), message, "warning"))
    else:
        _warn_unknown(body, "model", (), known_values().beta_models, "model", out)
    _warn_unknown(body, "voice", (), known_values().voices, "voice", out)
    transcription = body.get("input_audio_transcription")
    if isinstance(transcription, dict):
        path = ("input_audio_transcription",)
        _warn_unknown(
            transcription, "model", path, known_values().transcription_models, "model", out
        )
    functions: dict[str, int] = {}
    tools = body.get("tools")
    if isinstance(tools, list):
        functions, _ = _check_tools(tools, ("tools",), out, mcp=False)
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice not in _TOOL_CHOICE_MODES and choice not in functions:
        # The beta tool_choice is one string: a mode or the name of a declared function.
        hint = _did_you_mean(choice, [*_TOOL_CHOICE_MODES, *functions], bare=True)
        out.append(
            Problem(
                C.INVALID_CHOICE,
                ("tool_choice",),
                "must be 'auto', 'none', 'required' or the name of a declared function tool"
                f" (got {choice!r}{hint})",
            )
        )


def _check_beta_transcription(body: dict[str, Any], out: list[Problem]) -> None:
    transcription = body.get("input_audio_transcription")
    if isinstance(transcription, dict):
        path = ("input_audio_transcription",)
        _warn_unknown(
            transcription, "model", path, known_values().transcription_models, "model", out
        )
        _check_whisper(transcription.get("model"), body, (), out)


def _check_translation(body: dict[str, Any], out: list[Problem]) -> None:
    # The translation model is an open set NOTES §9 does not enumerate: no warning for it.
    session = body.get("session")
    audio = session.get("audio") if isinstance(session, dict) else None
    audio_input = audio.get("input") if isinstance(audio, dict) else None
    transcription = audio_input.get("transcription") if isinstance(audio_input, dict) else None
    if isinstance(transcription, dict):
        path = ("session", "audio", "input", "transcription")
        models = known_values().transcription_models
        _warn_unknown(transcription, "model", path, models, "model", out)


def _check_realtime(session: dict[str, Any], prefix: BodyPath, out: list[Problem]) -> None:
    _warn_unknown(session, "model", prefix, known_values().models, "model", out)
    audio = session.get("audio")
    if isinstance(audio, dict):
        output = audio.get("output")
        if isinstance(output, dict):
            path = (*prefix, "audio", "output")
            _warn_unknown(output, "voice", path, known_values().voices, "voice", out)
        _check_audio_input(audio, prefix, out, transcription_session=False)
    functions: dict[str, int] = {}
    labels: set[str] = set()
    tools = session.get("tools")
    if isinstance(tools, list):
        functions, labels = _check_tools(tools, (*prefix, "tools"), out, mcp=True)
    choice = session.get("tool_choice")
    if isinstance(choice, dict):
        kind, path = choice.get("type"), (*prefix, "tool_choice")
        name = choice.get("name")
        if kind == "function" and isinstance(name, str) and name not in functions:
            out.append(
                Problem(
                    C.UNDECLARED_TOOL,
                    (*path, "name"),
                    _undeclared(name, "function tool", functions),
                )
            )
        label = choice.get("server_label")
        if kind == "mcp" and isinstance(label, str) and label not in labels:
            out.append(
                Problem(
                    C.UNDECLARED_TOOL,
                    (*path, "server_label"),
                    _undeclared(label, "MCP server", labels),
                )
            )


def _check_transcription(session: dict[str, Any], prefix: BodyPath, out: list[Problem]) -> None:
    audio = session.get("audio")
    if isinstance(audio, dict):
        _check_audio_input(audio, prefix, out, transcription_session=True)


def _check_audio_input(
    audio: dict[str, Any], prefix: BodyPath, out: list[Problem], transcription_session: bool
) -> None:
    audio_input = audio.get("input")
    if not isinstance(audio_input, dict):
        return
    transcription = audio_input.get("transcription")
    if isinstance(transcription, dict):
        path = (*prefix, "audio", "input", "transcription")
        _warn_unknown(
            transcription, "model", path, known_values().transcription_models, "model", out
        )
        if transcription_session:
            _check_whisper(
                transcription.get("model"), audio_input, (*prefix, "audio", "input"), out
            )


def _check_whisper(
    model: Any, holder: dict[str, Any], prefix: BodyPath, out: list[Problem]
) -> None:
    # RealtimeTurnDetection: "For gpt-realtime-whisper transcription sessions, turn detection
    # must be set to null; VAD is not supported." Leaving it out gets the default VAD.
    if model != _WHISPER:
        return
    detection = holder.get("turn_detection", _ABSENT)
    if detection is None:
        return
    verb = "must be set to null" if detection is _ABSENT else "must be null"
    out.append(
        Problem(
            C.UNSUPPORTED_COMBINATION,
            (*prefix, "turn_detection"),
            f"{verb}: transcription model {_WHISPER!r} does not support turn detection (VAD)",
        )
    )


def _warn_unknown(
    holder: dict[str, Any],
    key: str,
    prefix: BodyPath,
    known: frozenset[str],
    noun: str,
    out: list[Problem],
) -> None:
    value = holder.get(key)
    if isinstance(value, str) and value not in known:
        hint = _did_you_mean(value, sorted(known))
        code = C.UNKNOWN_VOICE if noun == "voice" else C.UNKNOWN_MODEL
        out.append(Problem(code, (*prefix, key), f"unknown {noun} {value!r}{hint}", "warning"))


def _undeclared(name: str, what: str, declared: Iterable[str]) -> str:
    declared = sorted(declared)
    if not declared:
        return f"{name!r} is not a declared {what} (none is declared in tools)"
    hint = _did_you_mean(name, declared)
    if hint:
        return f"{name!r} is not a declared {what}{hint}"
    return f"{name!r} is not a declared {what} (declared: {', '.join(map(repr, declared))})"


# Resolution shares one tools array between a template's children and environments, so a large
# file checks the same array thousands of times: remember results by identity. Each entry keeps
# its array alive, so an id is never reused while cached; the cache is bounded.
_TOOLS_CACHE: dict[
    tuple[int, BodyPath, bool], tuple[list[Any], list[Problem], dict[str, int], set[str]]
] = {}
_TOOLS_CACHE_SIZE = 4096


def _check_tools(
    tools: list[Any], path: BodyPath, out: list[Problem], mcp: bool
) -> tuple[dict[str, int], set[str]]:
    """Check each tool; return the function names (→ index) and MCP server labels declared.

    ``mcp`` says whether MCP tools exist here (GA) or are already an error (beta)."""
    key = (id(tools), path, mcp)
    cached = _TOOLS_CACHE.get(key)
    if cached is not None and cached[0] is tools:
        out.extend(cached[1])
        return cached[2], cached[3]
    found: list[Problem] = []
    functions, labels = _check_tools_uncached(tools, path, found, mcp)
    if len(_TOOLS_CACHE) >= _TOOLS_CACHE_SIZE:
        _TOOLS_CACHE.clear()
    _TOOLS_CACHE[key] = (tools, found, functions, labels)
    out.extend(found)
    return functions, labels


def _check_tools_uncached(
    tools: list[Any], path: BodyPath, out: list[Problem], mcp: bool
) -> tuple[dict[str, int], set[str]]:
    functions: dict[str, int] = {}
    labels: set[str] = set()
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        here = (*path, index)
        kind = tool.get("type", "function")
        if kind == "function":
            name = tool.get("name", _ABSENT)
            if name is _ABSENT:
                # Optional in the schema, but a function the model cannot name cannot be called.
                out.append(Problem(C.MISSING_FIELD, (*here, "name"), "is required"))
            elif isinstance(name, str):
                if not _TOOL_NAME.fullmatch(name):
                    out.append(
                        Problem(
                            C.PATTERN_MISMATCH,
                            (*here, "name"),
                            f"must match ^[a-zA-Z0-9_-]{{1,64}}$ (got {_show(name)})",
                        )
                    )
                elif name in functions:
                    out.append(
                        Problem(
                            C.DUPLICATE_TOOL,
                            (*here, "name"),
                            f"tool name {name!r} is already used by tools[{functions[name]}]",
                        )
                    )
                else:
                    functions[name] = index
            parameters = tool.get("parameters")
            if isinstance(parameters, dict):
                _check_parameters(parameters, (*here, "parameters"), out)
        elif kind == "mcp" and mcp:
            label = tool.get("server_label")
            if isinstance(label, str):
                labels.add(label)
            _check_mcp_source(tool, here, out)
    return functions, labels


def _check_mcp_source(tool: dict[str, Any], here: BodyPath, out: list[Problem]) -> None:
    # "One of `server_url`, `connector_id`, or `tunnel_id` must be provided" (text only).
    given = [key for key in _MCP_SOURCES if key in tool]
    if not given:
        out.append(
            Problem(
                C.INVALID_MCP_SERVER,
                here,
                "needs one of 'server_url', 'connector_id' or 'tunnel_id'",
            )
        )
    elif len(given) > 1:
        out.append(
            Problem(
                C.INVALID_MCP_SERVER,
                (*here, given[1]),
                f"cannot be set together with {given[0]!r}: give exactly one of"
                " 'server_url', 'connector_id' or 'tunnel_id'",
            )
        )
    url = tool.get("server_url")
    if isinstance(url, str) and not _is_http_url(url):
        out.append(
            Problem(
                C.INVALID_MCP_SERVER,
                (*here, "server_url"),
                f"must be an absolute http(s) URL (got {_show(url)})",
            )
        )


def _is_http_url(url: str) -> bool:
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return bool(sep) and scheme.lower() in ("http", "https") and bool(host) and " " not in url


# ---- function parameters: a structural check of JSON Schema (no jsonschema at runtime)

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


def _check_parameters(schema: dict[str, Any], path: BodyPath, out: list[Problem]) -> None:
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
                f"must be a JSON Schema: a table or a boolean (got {_show(node)})",
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
    deeper = depth + 1
    for key, value in node.items():
        here = (*path, key)
        if key == "type":
            _check_type_keyword(value, here, out)
        elif key in _SCHEMA_MAPS:
            if not isinstance(value, dict):
                out.append(
                    Problem(
                        C.INVALID_SCHEMA, here, f"must be a table of schemas (got {_show(value)})"
                    )
                )
            else:
                for name, sub in value.items():
                    _check_schema(sub, (*here, name), root, deeper, out)
        elif key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                out.append(
                    Problem(
                        C.INVALID_SCHEMA,
                        here,
                        f"must be a non-empty array of schemas (got {_show(value)})",
                    )
                )
            else:
                for index, sub in enumerate(value):
                    _check_schema(sub, (*here, index), root, deeper, out)
        elif key == "items":
            if isinstance(value, list):  # draft-04 tuple form
                for index, sub in enumerate(value):
                    _check_schema(sub, (*here, index), root, deeper, out)
            else:
                _check_schema(value, here, root, deeper, out)
        elif key in _SCHEMA_KEYWORDS:
            _check_schema(value, here, root, deeper, out)
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                out.append(
                    Problem(
                        C.INVALID_SCHEMA,
                        here,
                        f"must be an array of property names (got {_show(value)})",
                    )
                )
            elif len(set(value)) != len(value):
                out.append(Problem(C.INVALID_SCHEMA, here, "must not list a property twice"))
        elif key == "enum":
            if not isinstance(value, list) or not value:
                out.append(
                    Problem(
                        C.INVALID_SCHEMA, here, f"must be a non-empty array (got {_show(value)})"
                    )
                )
        elif key in _NON_NEGATIVE:
            if type(value) is not int or value < 0:
                out.append(
                    Problem(
                        C.INVALID_SCHEMA,
                        here,
                        f"must be a non-negative integer (got {_show(value)})",
                    )
                )
        elif key in _NUMBERS:
            if not _is_number(value) or (key == "multipleOf" and value <= 0):
                qualifier = "a positive number" if key == "multipleOf" else "a number"
                out.append(
                    Problem(C.INVALID_SCHEMA, here, f"must be {qualifier} (got {_show(value)})")
                )
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            if not _is_number(value) and not isinstance(value, bool):  # draft-04 used booleans
                out.append(
                    Problem(C.INVALID_SCHEMA, here, f"must be a number (got {_show(value)})")
                )
        elif key == "uniqueItems":
            if not isinstance(value, bool):
                out.append(
                    Problem(C.INVALID_SCHEMA, here, f"must be a boolean (got {_show(value)})")
                )
        elif key in _STRINGS:
            if not isinstance(value, str):
                out.append(
                    Problem(C.INVALID_SCHEMA, here, f"must be a string (got {_show(value)})")
                )
        elif key == "$ref":
            _check_ref(value, here, root, out)
        # Other keywords (const, default, examples, vendor extensions) accept anything.


def _check_type_keyword(value: Any, here: BodyPath, out: list[Problem]) -> None:
    names = value if isinstance(value, list) else [value]
    if isinstance(value, list) and (not value or len(set(map(str, value))) != len(value)):
        out.append(
            Problem(
                C.INVALID_SCHEMA,
                here,
                f"must be a type name or a non-empty array of distinct ones (got {_show(value)})",
            )
        )
        return
    for name in names:
        if not isinstance(name, str) or name not in _JSON_TYPES:
            out.append(Problem(C.INVALID_SCHEMA, here, _one_of(_JSON_TYPES, name)))
            return


def _check_ref(value: Any, here: BodyPath, root: Any, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(C.INVALID_SCHEMA, here, f"must be a string (got {_show(value)})"))
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
