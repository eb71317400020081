"""What the API checks but the schema does not say: tool names, ``tool_choice`` targets, MCP
server sources, ``gpt-realtime-whisper`` without VAD; warnings for unknown models and voices."""

from __future__ import annotations

import re
from typing import Any

from rtconfig._checks._problem import BodyPath, Problem
from rtconfig._checks._schema import check_parameters
from rtconfig._checks._wording import did_you_mean, show, undeclared
from rtconfig._codes import DiagnosticCode as C
from rtconfig._keys import MISSING
from rtconfig._validator_cache import known_values

__all__ = [
    "check_beta_session",
    "check_beta_transcription",
    "check_realtime",
    "check_transcription",
    "check_translation",
]


_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_CHOICE_MODES = ("auto", "none", "required")
_MCP_SOURCES = ("server_url", "connector_id", "tunnel_id")
_WHISPER = "gpt-realtime-whisper"


def check_beta_session(body: dict[str, Any], out: list[Problem]) -> None:
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
    _check_beta_vad(body.get("turn_detection"), out)
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
        hint = did_you_mean(choice, [*_TOOL_CHOICE_MODES, *functions], bare=True)
        out.append(
            Problem(
                C.INVALID_CHOICE,
                ("tool_choice",),
                "must be 'auto', 'none', 'required' or the name of a declared function tool"
                f" (got {choice!r}{hint})",
            )
        )


# Keys of the beta flat turn_detection that only one VAD type uses (openai-python documents them so;
# GA's discriminated ServerVad/SemanticVad refuses the others: a migration could not keep them).
_ONLY_FOR_VAD = {
    "eagerness": "semantic_vad",
    "threshold": "server_vad",
    "prefix_padding_ms": "server_vad",
    "silence_duration_ms": "server_vad",
}


def _check_beta_vad(detection: Any, out: list[Problem]) -> None:
    """A beta ``turn_detection`` whose keys belong to the other VAD type (``type`` unset is
    ``server_vad``) is refused: the GA session it migrates to could not say it."""
    if not isinstance(detection, dict):
        return
    kind = detection.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        return
    for key, owner in _ONLY_FOR_VAD.items():
        if key in detection and owner != kind:
            shown = f"type is {kind!r}" + ("" if "type" in detection else ", the default")
            out.append(
                Problem(
                    C.UNSUPPORTED_COMBINATION,
                    ("turn_detection", key),
                    f"is used only by {owner} turn detection ({shown}): remove it, or set "
                    f'type = "{owner}"',
                )
            )


def check_beta_transcription(body: dict[str, Any], out: list[Problem]) -> None:
    transcription = body.get("input_audio_transcription")
    if isinstance(transcription, dict):
        path = ("input_audio_transcription",)
        _warn_unknown(
            transcription, "model", path, known_values().transcription_models, "model", out
        )
        _check_whisper(transcription.get("model"), body, (), out)


def check_translation(body: dict[str, Any], out: list[Problem]) -> None:
    # The translation model is an open set NOTES §9 does not enumerate: no warning for it.
    session = body.get("session")
    audio = session.get("audio") if isinstance(session, dict) else None
    audio_input = audio.get("input") if isinstance(audio, dict) else None
    transcription = audio_input.get("transcription") if isinstance(audio_input, dict) else None
    if isinstance(transcription, dict):
        path = ("session", "audio", "input", "transcription")
        models = known_values().transcription_models
        _warn_unknown(transcription, "model", path, models, "model", out)


def check_realtime(session: dict[str, Any], prefix: BodyPath, out: list[Problem]) -> None:
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
                    undeclared(name, "function tool", functions),
                )
            )
        label = choice.get("server_label")
        if kind == "mcp" and isinstance(label, str) and label not in labels:
            out.append(
                Problem(
                    C.UNDECLARED_TOOL,
                    (*path, "server_label"),
                    undeclared(label, "MCP server", labels),
                )
            )


def check_transcription(session: dict[str, Any], prefix: BodyPath, out: list[Problem]) -> None:
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
    detection = holder.get("turn_detection", MISSING)
    if detection is None:
        return
    verb = "must be set to null" if detection is MISSING else "must be null"
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
        hint = did_you_mean(value, sorted(known))
        code = C.UNKNOWN_VOICE if noun == "voice" else C.UNKNOWN_MODEL
        out.append(Problem(code, (*prefix, key), f"unknown {noun} {value!r}{hint}", "warning"))


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
            name = tool.get("name", MISSING)
            if name is MISSING:
                # Optional in the schema, but a function the model cannot name cannot be called.
                out.append(Problem(C.MISSING_FIELD, (*here, "name"), "is required"))
            elif isinstance(name, str):
                if not _TOOL_NAME.fullmatch(name):
                    out.append(
                        Problem(
                            C.PATTERN_MISMATCH,
                            (*here, "name"),
                            f"must match ^[a-zA-Z0-9_-]{{1,64}}$ (got {show(name)})",
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
                check_parameters(parameters, (*here, "parameters"), out)
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
                f"must be an absolute http(s) URL (got {show(url)})",
            )
        )


def _is_http_url(url: str) -> bool:
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return bool(sep) and scheme.lower() in ("http", "https") and bool(host) and " " not in url
