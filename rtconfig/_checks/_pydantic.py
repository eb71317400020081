"""pydantic's validation errors, each turned into the one :class:`Problem` it stands for.

Only the error path walks the model types, so the models are imported on demand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
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

from typing_extensions import is_typeddict

from rtconfig._checks._problem import BodyPath, Problem
from rtconfig._checks._wording import did_you_mean, one_of, plural_s, show
from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._keys import MISSING
from rtconfig._sources import META_KEYS

__all__ = ["translate"]


def translate(endpoint: Endpoint, body: Any, errors: Iterable[Any]) -> Iterable[Problem]:
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
    path = _body_path(body, loc)
    if kind == "missing":
        return Problem(C.MISSING_FIELD, path, "is required")
    if kind == "extra_forbidden":
        return _unknown_field(root, loc, path)
    from rtconfig._models import UNION_ERRORS

    union = UNION_ERRORS.get(kind)
    if union is not None:
        return _union_problem(union, value, path)
    if value is None and (kind in _KIND_NAMES or kind == "literal_error"):
        return Problem(C.NULL_NOT_ALLOWED, path, "cannot be null")
    if kind in _KIND_NAMES:
        return Problem(C.TYPE_ERROR, path, f"must be {_KIND_NAMES[kind]} (got {show(value)})")
    if kind == "literal_error":
        return Problem(C.INVALID_CHOICE, path, one_of(_literal_values(root, loc), value))
    return _constraint_problem(kind, value, error.get("ctx") or {}, path, error)


def _unknown_field(root: Any, loc: tuple[str | int, ...], path: BodyPath) -> Problem:
    name = str(loc[-1])
    table = _type_at(root, loc[:-1])
    moved = _moved()
    if (table, name) in moved:  # a renamed field beats a look-alike
        hint = f" ({moved[table, name]})"
    else:
        pool = list(_fields(table)) if is_typeddict(table) else []
        if table in _template_roots():  # what a template may write at its top level
            pool = [k for k in pool if k != "client_secret"] + sorted(META_KEYS)
        hint = did_you_mean(name, pool)
    return Problem(C.UNKNOWN_FIELD, path, f"unknown field {name!r}{hint}")


def _union_problem(union: Any, value: Any, path: BodyPath) -> Problem:
    """A value no member of a (tagged) union accepts: a null, a missing or wrong tag, a type."""
    if value is None:
        return Problem(C.NULL_NOT_ALLOWED, path, "cannot be null")
    if union.key and isinstance(value, dict):
        tag = value.get(union.key, MISSING)
        if tag is MISSING:
            return Problem(C.MISSING_FIELD, (*path, union.key), "is required")
        if tag is None:
            return Problem(C.NULL_NOT_ALLOWED, (*path, union.key), "cannot be null")
        return Problem(C.INVALID_CHOICE, (*path, union.key), one_of(union.allowed, tag))
    return Problem(C.TYPE_ERROR, path, f"must be {union.expected} (got {show(value)})")


def _constraint_problem(
    kind: str, value: Any, ctx: Mapping[str, Any], path: BodyPath, error: Mapping[str, Any]
) -> Problem:
    """A value of the right type that breaks a constraint: a bound, a length, a pattern."""
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        word = "at most" if kind == "less_than_equal" else "less than"
        return Problem(C.OUT_OF_RANGE, path, f"must be {word} {bound} (got {show(value)})")
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        word = "at least" if kind == "greater_than_equal" else "greater than"
        return Problem(C.OUT_OF_RANGE, path, f"must be {word} {bound} (got {show(value)})")
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        got = len(value) if isinstance(value, list | dict | str) else ctx.get("actual_length")
        word = "at least" if kind == "too_short" else "at most"
        message = f"must have {word} {limit} item{plural_s(limit)} (got {got})"
        if kind == "too_long" and path[-1:] == ("output_modalities",):
            message += ": 'text' and 'audio' cannot be requested together"
        return Problem(C.OUT_OF_RANGE, path, message)
    if kind == "string_pattern_mismatch":
        return Problem(
            C.PATTERN_MISMATCH, path, f"must match {ctx.get('pattern')} (got {show(value)})"
        )
    if kind == "finite_number":
        return Problem(C.INVALID_VALUE, path, f"must be a finite number (got {show(value)})")
    message = str(error.get("msg", kind))
    return Problem(C.INVALID_VALUE, path, f"{message[:1].lower()}{message[1:]} (got {show(value)})")


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
