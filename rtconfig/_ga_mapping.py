"""The beta → GA mapping of NOTES §7, as pure functions of template-shaped values.

:func:`map_fields` renames one layer's keys (a template table, an overlay, or a whole resolved
template); :func:`map_path` does the same for a dotted ``null``/``unset`` path; :func:`map_body`
maps a rendered beta request body to the GA body it stands for. ``rtconfig migrate`` applies the
first two to every layer of a file, and the property tests check that the result renders what
:func:`map_body` says. Every value is mapped on its own (the mapping is key-local), so mapping
layers and then merging them gives what merging and then mapping gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rtconfig._endpoints import Endpoint, body_from_template, template_view

__all__ = [
    "AUDIO_FORMATS",
    "DROPPED",
    "RENAMES",
    "Lossy",
    "SessionKind",
    "kind_of",
    "map_body",
    "map_fields",
    "map_path",
    "map_value",
]

SessionKind = Literal["realtime", "transcription"]
KeyPath = tuple[str, ...]

_INPUT = {
    "input_audio_format": ("audio", "input", "format"),
    "input_audio_transcription": ("audio", "input", "transcription"),
    "input_audio_noise_reduction": ("audio", "input", "noise_reduction"),
    "turn_detection": ("audio", "input", "turn_detection"),
}
RENAMES: Mapping[SessionKind, Mapping[str, KeyPath]] = {
    "realtime": {
        **_INPUT,
        "voice": ("audio", "output", "voice"),
        "speed": ("audio", "output", "speed"),
        "output_audio_format": ("audio", "output", "format"),
        "modalities": ("output_modalities",),
        "max_response_output_tokens": ("max_output_tokens",),
    },
    "transcription": dict(_INPUT),
}
"""Beta top-level key → GA template path, per session kind."""

DROPPED: Mapping[SessionKind, Mapping[str, str]] = {
    "realtime": {"temperature": "GA sessions have no temperature; it is dropped"},
    "transcription": {
        "modalities": "GA transcription sessions have no modalities; it is dropped",
    },
}
"""Beta keys with no GA equivalent, and why."""

AUDIO_FORMATS: Mapping[str, dict[str, Any]] = {
    "pcm16": {"type": "audio/pcm", "rate": 24000},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}
_TOOL_CHOICE_MODES = ("auto", "none", "required")


@dataclass(frozen=True, slots=True)
class Lossy:
    """Something the mapping could not carry over exactly, at ``path`` (the beta path)."""

    path: KeyPath
    message: str


def kind_of(endpoint: Endpoint) -> SessionKind:
    """The GA session type a beta endpoint's templates become."""
    return "transcription" if endpoint is Endpoint.TRANSCRIPTION_SESSIONS else "realtime"


def map_value(key: str, value: Any, kind: SessionKind) -> tuple[Any, str | None]:
    """The GA value of beta ``key`` = ``value``, and a note when it changed meaning."""
    if key in ("input_audio_format", "output_audio_format") and isinstance(value, str):
        mapped = AUDIO_FORMATS.get(value)
        return (dict(mapped), None) if mapped is not None else (value, None)
    if key == "modalities" and kind == "realtime" and isinstance(value, list):
        if "audio" in value and "text" in value:
            return ["audio"], (
                f"modalities = {value!r} becomes output_modalities = ['audio']: a GA session "
                "answers in one modality (audio comes with its transcript)"
            )
        return list(value), None
    if key == "tool_choice" and isinstance(value, str) and value not in _TOOL_CHOICE_MODES:
        return {"type": "function", "name": value}, None
    return value, None


def map_fields(fields: Mapping[str, Any], kind: SessionKind) -> tuple[dict[str, Any], list[Lossy]]:
    """One layer's beta keys as GA keys (nested tables merged), and what was lossy."""
    renames, dropped = RENAMES[kind], DROPPED[kind]
    out: dict[str, Any] = {}
    lossy: list[Lossy] = []
    for key, value in fields.items():
        if key in dropped:
            lossy.append(Lossy((key,), f"{key} = {value!r}: {dropped[key]}"))
            continue
        mapped, note = map_value(key, value, kind)
        if note is not None:
            lossy.append(Lossy((key,), note))
        _put(out, renames.get(key, (key,)), mapped)
    return out, lossy


def map_path(path: KeyPath, kind: SessionKind) -> KeyPath | None:
    """A dotted ``null``/``unset`` path in GA terms; None when it names a dropped key."""
    if not path:
        return path
    if path[0] in DROPPED[kind]:
        return None
    return (*RENAMES[kind].get(path[0], (path[0],)), *path[1:])


def map_body(endpoint: Endpoint, body: Mapping[str, Any]) -> dict[str, Any]:
    """The GA ``realtime/client_secrets`` body a rendered beta ``body`` maps to (NOTES §7):
    renamed fields, GA formats, a structured ``tool_choice``, ``type`` set, and the API's
    default ``server_vad`` written out where a turn detection names no type."""
    kind = kind_of(endpoint)
    fields, _ = map_fields(template_view(endpoint, dict(body)), kind)
    fields = {"type": kind, **fields}
    detection = fields.get("audio", {}).get("input", {}).get("turn_detection")
    if isinstance(detection, dict) and "type" not in detection:
        fields["audio"]["input"]["turn_detection"] = {"type": "server_vad", **detection}
    return body_from_template(Endpoint.CLIENT_SECRETS, fields)


def _put(out: dict[str, Any], path: KeyPath, value: Any) -> None:
    node = out
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    last = path[-1]
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value
