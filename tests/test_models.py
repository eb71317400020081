"""Request models and body checks: every rule of the three request bodies, message and path."""

from __future__ import annotations

import copy
import pathlib
import subprocess
import sys
import timeit
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest

from rtconfig._checks import MAX_SCHEMA_DEPTH, Problem, check_body
from rtconfig._codes import DiagnosticCode
from rtconfig._endpoints import Endpoint, body_from_template
from rtconfig._models import (
    KNOWN_BETA_MODELS,
    KNOWN_MODELS,
    KNOWN_TRANSCRIPTION_MODELS,
    KNOWN_VOICES,
    SPEC_DEFAULTS,
    defaults_for,
    request_adapter,
    template_json_schema,
)

GA = Endpoint.CLIENT_SECRETS
BETA = Endpoint.SESSIONS
TRANSCRIPTION = Endpoint.TRANSCRIPTION_SESSIONS

Path = tuple[str | int, ...]
REPO = pathlib.Path(__file__).resolve().parents[1]


# --- helpers ---------------------------------------------------------------------------------


def realtime(**fields: Any) -> dict[str, Any]:
    """A GA body with a realtime session holding ``fields``."""
    return {"session": {"type": "realtime", **fields}}


def transcription(**fields: Any) -> dict[str, Any]:
    """A GA body with a transcription session holding ``fields``."""
    return {"session": {"type": "transcription", **fields}}


def put(base: Mapping[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``value`` at ``path``, creating tables on the way."""
    body: Any = copy.deepcopy(dict(base))
    node = body
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[path[-1]] = value
    return dict(body)


def errors(endpoint: Endpoint, body: Any) -> list[tuple[Path, str]]:
    return [(p.path, p.message) for p in check_body(endpoint, body) if p.severity == "error"]


def warnings(endpoint: Endpoint, body: Any) -> list[tuple[Path, str]]:
    return [(p.path, p.message) for p in check_body(endpoint, body) if p.severity == "warning"]


def one_error(endpoint: Endpoint, body: Any) -> tuple[Path, str]:
    found = errors(endpoint, body)
    assert len(found) == 1, found
    return found[0]


def assert_valid(endpoint: Endpoint, body: Any) -> None:
    problems = check_body(endpoint, body)
    assert problems == [], problems


FUNCTION = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
}
MCP = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/sse"}
SERVER_VAD = {"type": "server_vad"}
FULL_GA: dict[str, Any] = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a friendly assistant.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                "noise_reduction": {"type": "near_field"},
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "idle_timeout_ms": None},
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin", "speed": 1.1},
        },
        "include": ["item.input_audio_transcription.logprobs"],
        "tracing": {"workflow_name": "support", "group_id": "g1", "metadata": {"a": 1}},
        "tools": [FUNCTION, MCP],
        "tool_choice": {"type": "function", "name": "lookup_order"},
        "parallel_tool_calls": True,
        "reasoning": {"effort": "low"},
        "max_output_tokens": 4096,
        "truncation": {
            "type": "retention_ratio",
            "retention_ratio": 0.8,
            "token_limits": {"post_instructions": 5000},
        },
        "prompt": {
            "id": "pmpt_1",
            "version": None,
            "variables": {
                "city": "Paris",
                "note": {"type": "input_text", "text": "hi"},
                "photo": {"type": "input_image", "detail": "auto", "image_url": None},
                "doc": {"type": "input_file", "file_id": "file_1"},
            },
        },
    },
}
FULL_BETA: dict[str, Any] = {
    "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 600}},
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a friendly assistant.",
    "voice": "alloy",
    "speed": 1.0,
    "input_audio_format": "pcm16",
    "output_audio_format": "g711_ulaw",
    "input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "x"},
    "input_audio_noise_reduction": {"type": "far_field"},
    "turn_detection": {"type": "semantic_vad", "eagerness": "high", "create_response": True},
    "tools": [FUNCTION],
    "tool_choice": "lookup_order",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "tracing": "auto",
    "truncation": "auto",
    "prompt": {"id": "pmpt_1"},
}
FULL_TRANSCRIPTION: dict[str, Any] = {
    "client_secret": {"expires_at": {"anchor": "created_at", "seconds": 60}},
    "modalities": ["text"],
    "input_audio_format": "g711_alaw",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "languages": ["en", "fr"]},
    "input_audio_noise_reduction": None,
    "turn_detection": {"type": "server_vad", "threshold": 0.4, "silence_duration_ms": 200},
    "include": ["item.input_audio_transcription.logprobs"],
}


# --- valid bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (GA, FULL_GA),
        (GA, {}),
        (GA, {"expires_after": {}}),
        (GA, realtime()),
        (GA, transcription(audio={"input": {"turn_detection": {"type": "semantic_vad"}}})),
        (BETA, FULL_BETA),
        (BETA, {}),
        (TRANSCRIPTION, FULL_TRANSCRIPTION),
        (TRANSCRIPTION, {}),
    ],
    ids=["ga-full", "ga-empty", "ga-lifetime", "ga-type-only", "ga-transcription", "beta-full",
         "beta-empty", "transcription-full", "transcription-empty"],
)  # fmt: skip
def test_valid_bodies_have_no_problems(endpoint: Endpoint, body: dict[str, Any]) -> None:
    """Well-formed bodies using every field produce no problem at all."""
    assert_valid(endpoint, body)


def test_the_spec_examples_are_valid() -> None:
    """The request examples of the three operations in the spec pass."""
    assert_valid(
        BETA,
        {
            "model": "gpt-realtime",
            "modalities": ["audio", "text"],
            "instructions": "You are a friendly assistant.",
        },
    )
    assert_valid(
        GA,
        {
            "expires_after": {"anchor": "created_at", "seconds": 600},
            "session": {
                "type": "realtime",
                "model": "gpt-realtime",
                "instructions": "You are a friendly assistant.",
            },
        },
    )
    assert_valid(TRANSCRIPTION, {})


def test_any_mapping_is_accepted_as_the_body() -> None:
    """A read-only mapping is checked like the dict it holds."""
    assert_valid(GA, MappingProxyType(realtime(model="gpt-realtime")))


def test_a_body_that_is_not_a_table_is_one_error() -> None:
    """A list as body is reported once, at the root."""
    assert check_body(GA, [1]) == [
        Problem(DiagnosticCode.TYPE_ERROR, (), "must be a table (got [1])")
    ]  # type: ignore[arg-type]


# --- ranges ----------------------------------------------------------------------------------

TD = ("session", "audio", "input", "turn_detection")
BETA_SECONDS = ("client_secret", "expires_after", "seconds")
RANGES: list[tuple[Endpoint, dict[str, Any], Path, Any, Any, Any, Any]] = [
    # endpoint, base, path, lowest ok, highest ok, too low, too high
    (GA, realtime(), ("session", "audio", "output", "speed"), 0.25, 1.5, 0.24, 1.51),
    (BETA, {}, ("speed",), 0.25, 1.5, 0.2, 2.0),
    (BETA, {}, ("temperature",), 0.6, 1.2, 0.59, 1.21),
    (GA, realtime(), ("session", "max_output_tokens"), 1, 4096, 0, 4097),
    (BETA, {}, ("max_response_output_tokens",), 1, 4096, 0, 4097),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "threshold"),
     0, 1, -0.1, 1.1),
    (BETA, {}, ("turn_detection", "threshold"), 0.0, 1.0, -0.01, 1.01),
    (TRANSCRIPTION, {}, ("turn_detection", "threshold"), 0, 1, -1, 2),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "idle_timeout_ms"),
     5000, 30000, 4999, 30001),
    (GA, {}, ("expires_after", "seconds"), 10, 7200, 9, 7201),
    (BETA, {"client_secret": {"expires_after": {"anchor": "created_at"}}}, BETA_SECONDS,
     10, 7200, 9, 7201),
    (TRANSCRIPTION, {}, ("client_secret", "expires_at", "seconds"), 10, 7200, 9, 7201),
    (GA, realtime(truncation={"type": "retention_ratio"}),
     ("session", "truncation", "retention_ratio"), 0, 1, -0.5, 1.5),
]  # fmt: skip
RANGE_IDS = [
    "ga-speed", "beta-speed", "temperature", "max_output_tokens", "max_response_output_tokens",
    "ga-threshold", "beta-threshold", "transcription-threshold", "idle_timeout_ms",
    "ga-seconds", "beta-seconds", "transcription-seconds", "retention_ratio",
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "base", "path", "low", "high", "under", "over"), RANGES,
                         ids=RANGE_IDS)  # fmt: skip
def test_ranges_accept_both_ends(
    endpoint: Endpoint, base: dict[str, Any], path: Path, low: Any, high: Any, under: Any, over: Any
) -> None:
    """The documented bounds themselves are valid."""
    assert_valid(endpoint, put(base, path, low))
    assert_valid(endpoint, put(base, path, high))


@pytest.mark.parametrize(("endpoint", "base", "path", "low", "high", "under", "over"), RANGES,
                         ids=RANGE_IDS)  # fmt: skip
def test_ranges_reject_both_sides(
    endpoint: Endpoint, base: dict[str, Any], path: Path, low: Any, high: Any, under: Any, over: Any
) -> None:
    """Just outside each bound is one error at the field saying which bound and the value."""
    path_, message = one_error(endpoint, put(base, path, under))
    assert path_ == path
    assert message.startswith("must be at least ") and message.endswith(f"(got {under})")
    path_, message = one_error(endpoint, put(base, path, over))
    assert path_ == path
    assert message.startswith("must be at most ") and message.endswith(f"(got {over})")


def test_range_message_text() -> None:
    """The contract's example message, word for word."""
    body = realtime(audio={"output": {"speed": 2.0}})
    assert one_error(GA, body) == (
        ("session", "audio", "output", "speed"),
        "must be at most 1.5 (got 2.0)",
    )


@pytest.mark.parametrize(
    ("endpoint", "base", "path"),
    [
        (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "prefix_padding_ms")),
        (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}),
         (*TD, "silence_duration_ms")),
        (BETA, {}, ("turn_detection", "prefix_padding_ms")),
        (BETA, {}, ("turn_detection", "silence_duration_ms")),
        (TRANSCRIPTION, {}, ("turn_detection", "silence_duration_ms")),
        (GA, realtime(truncation={"type": "retention_ratio", "retention_ratio": 0.5}),
         ("session", "truncation", "token_limits", "post_instructions")),
    ],
)  # fmt: skip
def test_non_negative_integers(endpoint: Endpoint, base: dict[str, Any], path: Path) -> None:
    """Durations and token limits accept 0 and reject -1."""
    assert_valid(endpoint, put(base, path, 0))
    assert one_error(endpoint, put(base, path, -1)) == (path, "must be at least 0 (got -1)")


def test_inf_is_the_only_string_for_max_tokens() -> None:
    """``"inf"`` is accepted; any other string names the one allowed string."""
    assert_valid(GA, realtime(max_output_tokens="inf"))
    assert one_error(BETA, {"max_response_output_tokens": "infinite"}) == (
        ("max_response_output_tokens",),
        "must be 'inf' (got 'infinite')",
    )


def test_languages_need_at_least_one_item() -> None:
    """``languages`` (minItems 1) rejects an empty array."""
    path = ("session", "audio", "input", "transcription", "languages")
    assert_valid(GA, put(realtime(), path, ["en"]))
    assert one_error(GA, put(realtime(), path, [])) == (path, "must have at least 1 item (got 0)")


def test_output_modalities_take_at_most_one_item() -> None:
    """GA ``output_modalities`` cannot request text and audio together; beta modalities can."""
    assert_valid(GA, realtime(output_modalities=["text"]))
    assert one_error(GA, realtime(output_modalities=["text", "audio"])) == (
        ("session", "output_modalities"),
        "must have at most 1 item (got 2): 'text' and 'audio' cannot be requested together",
    )
    assert_valid(BETA, {"modalities": ["audio", "text"]})


def test_mcp_tunnel_id_pattern_and_allowed_callers() -> None:
    """``tunnel_id`` must match its pattern; ``allowed_callers`` needs one item."""
    tunnel = "tunnel_" + "a1" * 16
    assert_valid(GA, realtime(tools=[{"type": "mcp", "server_label": "t", "tunnel_id": tunnel}]))
    bad = {"type": "mcp", "server_label": "t", "tunnel_id": "tunnel_X"}
    assert one_error(GA, realtime(tools=[bad])) == (
        ("session", "tools", 0, "tunnel_id"),
        "must match ^tunnel_[a-z0-9]{32}$ (got 'tunnel_X')",
    )
    callers = {**MCP, "allowed_callers": []}
    assert one_error(GA, realtime(tools=[callers])) == (
        ("session", "tools", 0, "allowed_callers"),
        "must have at least 1 item (got 0)",
    )


# --- closed enums ----------------------------------------------------------------------------

ENUMS: list[tuple[Endpoint, dict[str, Any], Path, Any, str]] = [
    # endpoint, base, path, a valid value, the error for 'bogus'
    (BETA, {}, ("input_audio_format",), "g711_alaw",
     "must be one of 'pcm16', 'g711_ulaw', 'g711_alaw' (got 'bogus')"),
    (BETA, {}, ("output_audio_format",), "pcm16",
     "must be one of 'pcm16', 'g711_ulaw', 'g711_alaw' (got 'bogus')"),
    (TRANSCRIPTION, {}, ("input_audio_format",), "g711_ulaw",
     "must be one of 'pcm16', 'g711_ulaw', 'g711_alaw' (got 'bogus')"),
    (BETA, {"modalities": ["text"]}, ("modalities", 0), "audio",
     "must be one of 'text', 'audio' (got 'bogus')"),
    (TRANSCRIPTION, {"modalities": ["text"]}, ("modalities", 0), "audio",
     "must be one of 'text', 'audio' (got 'bogus')"),
    (GA, realtime(output_modalities=["text"]), ("session", "output_modalities", 0), "audio",
     "must be one of 'text', 'audio' (got 'bogus')"),
    (GA, realtime(include=[""]), ("session", "include", 0),
     "item.input_audio_transcription.logprobs",
     "must be 'item.input_audio_transcription.logprobs' (got 'bogus')"),
    (GA, realtime(), ("session", "audio", "input", "noise_reduction", "type"), "far_field",
     "must be one of 'near_field', 'far_field' (got 'bogus')"),
    (BETA, {}, ("input_audio_noise_reduction", "type"), "near_field",
     "must be one of 'near_field', 'far_field' (got 'bogus')"),
    (GA, realtime(), ("session", "audio", "input", "transcription", "delay"), "xhigh",
     "must be one of 'minimal', 'low', 'medium', 'high', 'xhigh' (got 'bogus')"),
    (GA, realtime(audio={"input": {"turn_detection": {"type": "semantic_vad"}}}),
     (*TD, "eagerness"), "auto", "must be one of 'low', 'medium', 'high', 'auto' (got 'bogus')"),
    (BETA, {"turn_detection": {"type": "semantic_vad"}}, ("turn_detection", "eagerness"), "low",
     "must be one of 'low', 'medium', 'high', 'auto' (got 'bogus')"),
    (GA, realtime(), ("session", "reasoning", "effort"), "minimal",
     "must be one of 'minimal', 'low', 'medium', 'high', 'xhigh' (got 'bogus')"),
    (GA, realtime(tools=[{"type": "mcp", "server_label": "d"}]),
     ("session", "tools", 0, "connector_id"), "connector_gmail",
     "must be one of 'connector_dropbox', 'connector_gmail', 'connector_googlecalendar', "
     "'connector_googledrive', 'connector_microsoftteams', 'connector_outlookcalendar', "
     "'connector_outlookemail', 'connector_sharepoint' (got 'bogus')"),
    (GA, realtime(tools=[MCP]), ("session", "tools", 0, "require_approval"), "never",
     "must be one of 'always', 'never' (got 'bogus')"),
    (GA, realtime(tools=[{**MCP, "allowed_callers": ["direct"]}]),
     ("session", "tools", 0, "allowed_callers", 0), "programmatic",
     "must be one of 'direct', 'programmatic' (got 'bogus')"),
    (GA, realtime(tools=[MCP]), ("session", "tools", 0, "type"), "mcp",
     "must be one of 'function', 'mcp' (got 'bogus')"),
    (GA, realtime(), ("session", "truncation"), "disabled",
     "must be one of 'auto', 'disabled' (got 'bogus')"),
    (GA, realtime(), ("session", "tool_choice"), "required",
     "must be one of 'none', 'auto', 'required' (got 'bogus')"),
    (GA, realtime(tools=[MCP], tool_choice={"type": "mcp", "server_label": "docs"}),
     ("session", "tool_choice", "type"), "mcp",
     "must be one of 'function', 'mcp' (got 'bogus')"),
    (GA, realtime(), ("session", "tracing"), "auto", "must be 'auto' (got 'bogus')"),
    (GA, {}, ("expires_after", "anchor"), "created_at", "must be 'created_at' (got 'bogus')"),
    (BETA, {"client_secret": {"expires_after": {"anchor": "created_at"}}},
     ("client_secret", "expires_after", "anchor"), "created_at",
     "must be 'created_at' (got 'bogus')"),
    (GA, {}, ("session", "type"), "transcription",
     "must be one of 'realtime', 'transcription' (got 'bogus')"),
    (GA, realtime(), ("session", "audio", "output", "format", "type"), "audio/pcma",
     "must be one of 'audio/pcm', 'audio/pcmu', 'audio/pcma' (got 'bogus')"),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "type"),
     "semantic_vad", "must be one of 'server_vad', 'semantic_vad' (got 'bogus')"),
    (BETA, {}, ("turn_detection", "type"), "semantic_vad",
     "must be one of 'server_vad', 'semantic_vad' (got 'bogus')"),
    (TRANSCRIPTION, {}, ("turn_detection", "type"), "server_vad",
     "must be 'server_vad' (got 'bogus')"),
    (GA, realtime(prompt={"id": "p", "variables": {"v": {"type": "input_image"}}}),
     ("session", "prompt", "variables", "v", "detail"), "original",
     "must be one of 'low', 'high', 'auto', 'original' (got 'bogus')"),
    (GA, realtime(prompt={"id": "p", "variables": {"v": {"type": "input_text", "text": ""}}}),
     ("session", "prompt", "variables", "v", "type"), "input_text",
     "must be one of 'input_text', 'input_image', 'input_file' (got 'bogus')"),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "base", "path", "good", "message"), ENUMS)
def test_closed_enums(
    endpoint: Endpoint, base: dict[str, Any], path: Path, good: Any, message: str
) -> None:
    """Each closed enum accepts its values and rejects others, listing the allowed ones."""
    assert_valid(endpoint, put(base, path, good))
    assert one_error(endpoint, put(base, path, "bogus")) == (path, message)


def test_enum_suggests_the_nearest_value() -> None:
    """A misspelt enum value gets a "did you mean"."""
    assert one_error(BETA, {"input_audio_format": "pcm61"}) == (
        ("input_audio_format",),
        "must be one of 'pcm16', 'g711_ulaw', 'g711_alaw' (got 'pcm61'; did you mean 'pcm16'?)",
    )
    assert one_error(GA, {"session": {"type": "realtme"}}) == (
        ("session", "type"),
        "must be one of 'realtime', 'transcription' (got 'realtme'; did you mean 'realtime'?)",
    )


def test_audio_format_rate_is_24000_only() -> None:
    """PCM ``rate`` accepts 24000 and nothing else, not even 24000.0."""
    path = ("session", "audio", "input", "format")
    assert_valid(GA, put(realtime(), path, {"type": "audio/pcm", "rate": 24000}))
    assert one_error(GA, put(realtime(), path, {"type": "audio/pcm", "rate": 16000})) == (
        (*path, "rate"),
        "must be 24000 (got 16000)",
    )
    assert one_error(GA, put(realtime(), path, {"type": "audio/pcm", "rate": 24000.0})) == (
        (*path, "rate"),
        "must be an integer (got 24000.0)",
    )


# --- strict types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "path", "value", "message"),
    [
        (BETA, ("speed",), "1", "must be a number (got '1')"),
        (BETA, ("speed",), True, "must be a number (got true)"),
        (BETA, ("temperature",), "0.8", "must be a number (got '0.8')"),
        (BETA, ("turn_detection", "prefix_padding_ms"), 300.0, "must be an integer (got 300.0)"),
        (BETA, ("turn_detection", "prefix_padding_ms"), "300", "must be an integer (got '300')"),
        (BETA, ("turn_detection", "create_response"), 1, "must be a boolean (got 1)"),
        (BETA, ("turn_detection", "create_response"), "true", "must be a boolean (got 'true')"),
        (BETA, ("instructions",), 5, "must be a string (got 5)"),
        (BETA, ("model",), 4, "must be a string (got 4)"),
        (BETA, ("modalities",), "audio", "must be an array (got 'audio')"),
        (BETA, ("turn_detection",), "server_vad", "must be a table (got 'server_vad')"),
        (BETA, ("client_secret", "expires_after", "seconds"), 60.0,
         "must be an integer (got 60.0)"),
        (GA, ("expires_after", "seconds"), "600", "must be an integer (got '600')"),
        (GA, ("expires_after", "seconds"), True, "must be an integer (got true)"),
        (GA, ("session", "parallel_tool_calls"), "yes", "must be a boolean (got 'yes')"),
        (GA, ("session", "max_output_tokens"), 1.5,
         "must be an integer from 1 to 4096 or 'inf' (got 1.5)"),
        (GA, ("session", "max_output_tokens"), True,
         "must be an integer from 1 to 4096 or 'inf' (got true)"),
        (GA, ("session", "audio"), [], "must be a table (got [])"),
        (GA, ("session", "tools"), {}, "must be an array (got {})"),
        (GA, ("session", "tools", 0), "lookup", "must be a table (got 'lookup')"),
        (GA, ("session", "audio", "output", "voice"), 5,
         "must be a voice name or a table with an 'id' (got 5)"),
        (GA, ("session", "tracing"), 1, "must be 'auto' or a table (got 1)"),
        (GA, ("session", "truncation"), 0.5, "must be 'auto', 'disabled' or a table (got 0.5)"),
        (GA, ("session", "tool_choice"), 3,
         "must be 'none', 'auto', 'required' or a table (got 3)"),
        (GA, ("session", "prompt", "variables", "v"), 5, "must be a string or a table (got 5)"),
        (GA, ("session", "tools", 0, "headers", "X-Key"), 1, "must be a string (got 1)"),
        (GA, ("session", "tools", 0, "allowed_tools"), "x",
         "must be an array of tool names or a table (got 'x')"),
        (GA, ("session", "tracing", "metadata"), [], "must be a table (got [])"),
        (GA, ("session",), "realtime", "must be a table (got 'realtime')"),
    ],
)  # fmt: skip
def test_strict_types(endpoint: Endpoint, path: Path, value: Any, message: str) -> None:
    """No coercion: strings are not numbers, floats are not integers, 1 is not true."""
    base: dict[str, Any] = {}
    if path[:1] == ("session",) and len(path) > 1:
        base = realtime(tools=[MCP], prompt={"id": "p"}, tracing={})
    if path[:2] == ("client_secret", "expires_after"):
        base = {"client_secret": {"expires_after": {"anchor": "created_at"}}}
    assert one_error(endpoint, put(base, path, value)) == (path, message)


def test_integers_are_numbers() -> None:
    """An integer is accepted where the spec says number."""
    assert_valid(BETA, {"speed": 1, "temperature": 1})
    assert_valid(GA, realtime(truncation={"type": "retention_ratio", "retention_ratio": 1}))


def test_non_finite_numbers_are_rejected() -> None:
    """NaN and infinity cannot be sent as JSON and are rejected."""
    assert one_error(BETA, {"speed": float("nan")}) == (
        ("speed",),
        "must be a finite number (got NaN)",
    )
    assert one_error(BETA, {"temperature": float("inf")})[0] == ("temperature",)


# --- null vs unset -----------------------------------------------------------------------------

MCP_TOOL = ("session", "tools", 0)
NULLABLE: list[tuple[Endpoint, dict[str, Any], Path]] = [
    (GA, realtime(), ("session", "audio", "input", "turn_detection")),
    (GA, realtime(), ("session", "audio", "input", "noise_reduction")),
    (GA, realtime(), ("session", "audio", "input", "transcription")),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "idle_timeout_ms")),
    (GA, realtime(), ("session", "tracing")),
    (GA, realtime(), ("session", "prompt")),
    (GA, realtime(prompt={"id": "p"}), ("session", "prompt", "version")),
    (GA, realtime(prompt={"id": "p"}), ("session", "prompt", "variables")),
    (GA, realtime(tools=[MCP]), (*MCP_TOOL, "headers")),
    (GA, realtime(tools=[MCP]), (*MCP_TOOL, "allowed_tools")),
    (GA, realtime(tools=[MCP]), (*MCP_TOOL, "allowed_callers")),
    (GA, realtime(tools=[MCP]), (*MCP_TOOL, "require_approval")),
    (GA, realtime(tools=[MCP], tool_choice={"type": "mcp", "server_label": "docs"}),
     ("session", "tool_choice", "name")),
    (GA, transcription(), ("session", "audio", "input", "turn_detection")),
    (GA, transcription(), ("session", "audio", "input", "noise_reduction")),
    (GA, transcription(), ("session", "audio", "input", "transcription")),
    (BETA, {}, ("turn_detection",)),
    (BETA, {}, ("input_audio_transcription",)),
    (BETA, {}, ("input_audio_noise_reduction",)),
    (BETA, {}, ("tracing",)),
    (BETA, {}, ("prompt",)),
    (TRANSCRIPTION, {}, ("turn_detection",)),
    (TRANSCRIPTION, {}, ("input_audio_noise_reduction",)),
]  # fmt: skip
NOT_NULLABLE: list[tuple[Endpoint, dict[str, Any], Path]] = [
    (GA, {}, ("expires_after",)),
    (GA, {}, ("expires_after", "seconds")),
    (GA, {}, ("session",)),
    (GA, {}, ("session", "type")),
    *[(GA, realtime(), ("session", key)) for key in (
        "model", "instructions", "output_modalities", "audio", "include", "tools",
        "tool_choice", "parallel_tool_calls", "reasoning", "max_output_tokens", "truncation")],
    (GA, realtime(), ("session", "audio", "input")),
    (GA, realtime(), ("session", "audio", "input", "format")),
    (GA, realtime(), ("session", "audio", "output", "voice")),
    (GA, realtime(), ("session", "audio", "output", "speed")),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), (*TD, "threshold")),
    (GA, realtime(tools=[MCP]), (*MCP_TOOL, "server_url")),
    (GA, realtime(prompt={"id": "p"}), ("session", "prompt", "id")),
    (GA, transcription(), ("session", "include")),
    *[(BETA, {}, (key,)) for key in (
        "client_secret", "model", "modalities", "instructions", "voice", "speed",
        "input_audio_format", "output_audio_format", "tools", "tool_choice", "temperature",
        "max_response_output_tokens", "truncation")],
    *[(TRANSCRIPTION, {}, (key,)) for key in (
        "client_secret", "modalities", "input_audio_format", "input_audio_transcription",
        "include")],
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "base", "path"), NULLABLE)
def test_null_is_accepted_where_the_api_takes_it(
    endpoint: Endpoint, base: dict[str, Any], path: Path
) -> None:
    """An explicit null is valid for fields the API lets you null (as is leaving them out)."""
    assert_valid(endpoint, put(base, path, None))
    assert_valid(endpoint, base)


@pytest.mark.parametrize(("endpoint", "base", "path"), NOT_NULLABLE)
def test_null_is_rejected_elsewhere(endpoint: Endpoint, base: dict[str, Any], path: Path) -> None:
    """Null for any other field is one error: "cannot be null"."""
    assert one_error(endpoint, put(base, path, None)) == (path, "cannot be null")


# --- unknown keys, at every depth --------------------------------------------------------------

EXTRA: list[tuple[Endpoint, dict[str, Any], Path]] = [
    (GA, {}, ()),
    (GA, {"expires_after": {}}, ("expires_after",)),
    (GA, realtime(), ("session",)),
    (GA, transcription(), ("session",)),
    (GA, realtime(audio={}), ("session", "audio")),
    (GA, transcription(audio={}), ("session", "audio")),
    (GA, realtime(audio={"input": {}}), ("session", "audio", "input")),
    (GA, realtime(audio={"output": {}}), ("session", "audio", "output")),
    (GA, realtime(audio={"output": {"format": {"type": "audio/pcm"}}}),
     ("session", "audio", "output", "format")),
    (GA, realtime(audio={"output": {"format": {"type": "audio/pcmu"}}}),
     ("session", "audio", "output", "format")),
    (GA, realtime(audio={"output": {"voice": {"id": "voice_1"}}}),
     ("session", "audio", "output", "voice")),
    (GA, realtime(audio={"input": {"turn_detection": SERVER_VAD}}), TD),
    (GA, realtime(audio={"input": {"turn_detection": {"type": "semantic_vad"}}}), TD),
    (GA, realtime(audio={"input": {"transcription": {}}}),
     ("session", "audio", "input", "transcription")),
    (GA, realtime(audio={"input": {"noise_reduction": {}}}),
     ("session", "audio", "input", "noise_reduction")),
    (GA, realtime(tools=[FUNCTION]), ("session", "tools", 0)),
    (GA, realtime(tools=[MCP]), ("session", "tools", 0)),
    (GA, realtime(tools=[{**MCP, "allowed_tools": {}}]), ("session", "tools", 0, "allowed_tools")),
    (GA, realtime(tools=[{**MCP, "require_approval": {"always": {}}}]),
     ("session", "tools", 0, "require_approval")),
    (GA, realtime(tools=[{**MCP, "require_approval": {"always": {}}}]),
     ("session", "tools", 0, "require_approval", "always")),
    (GA, realtime(tools=[FUNCTION], tool_choice={"type": "function", "name": "lookup_order"}),
     ("session", "tool_choice")),
    (GA, realtime(tools=[MCP], tool_choice={"type": "mcp", "server_label": "docs"}),
     ("session", "tool_choice")),
    (GA, realtime(tracing={}), ("session", "tracing")),
    (GA, realtime(reasoning={}), ("session", "reasoning")),
    (GA, realtime(truncation={"type": "retention_ratio", "retention_ratio": 1}),
     ("session", "truncation")),
    (GA, realtime(truncation={"type": "retention_ratio", "retention_ratio": 1,
                              "token_limits": {}}),
     ("session", "truncation", "token_limits")),
    (GA, realtime(prompt={"id": "p"}), ("session", "prompt")),
    (GA, realtime(prompt={"id": "p", "variables": {"v": {"type": "input_text", "text": "t"}}}),
     ("session", "prompt", "variables", "v")),
    (GA, realtime(prompt={"id": "p", "variables": {"v": {"type": "input_file"}}}),
     ("session", "prompt", "variables", "v")),
    (GA, realtime(prompt={"id": "p", "variables": {"v": {
        "type": "input_text", "text": "t", "prompt_cache_breakpoint": {"mode": "explicit"}}}}),
     ("session", "prompt", "variables", "v", "prompt_cache_breakpoint")),
    (BETA, {}, ()),
    (BETA, {"client_secret": {}}, ("client_secret",)),
    (BETA, {"client_secret": {"expires_after": {"anchor": "created_at"}}},
     ("client_secret", "expires_after")),
    (BETA, {"turn_detection": {}}, ("turn_detection",)),
    (BETA, {"input_audio_transcription": {}}, ("input_audio_transcription",)),
    (BETA, {"tools": [{"name": "f"}]}, ("tools", 0)),
    (TRANSCRIPTION, {}, ()),
    (TRANSCRIPTION, {"client_secret": {"expires_at": {}}}, ("client_secret", "expires_at")),
    (TRANSCRIPTION, {"turn_detection": {}}, ("turn_detection",)),
    (TRANSCRIPTION, {"input_audio_transcription": {}}, ("input_audio_transcription",)),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "base", "table"), EXTRA)
def test_unknown_keys_are_rejected_at_every_depth(
    endpoint: Endpoint, base: dict[str, Any], table: Path
) -> None:
    """An unknown key in any table is one error pointing at that key."""
    assert_valid(endpoint, base)
    path = (*table, "bogus_key")
    assert one_error(endpoint, put(base, path, 1)) == (path, "unknown field 'bogus_key'")


def test_unknown_key_suggests_a_field_at_that_level() -> None:
    """The suggestion comes from the fields allowed where the typo is."""
    body = realtime(audio={"output": {"vioce": "marin"}})
    assert one_error(GA, body) == (
        ("session", "audio", "output", "vioce"),
        "unknown field 'vioce' (did you mean 'voice'?)",
    )
    body = {"input_audio_transcription": {"modle": "whisper-1"}}
    assert one_error(BETA, body) == (
        ("input_audio_transcription", "modle"),
        "unknown field 'modle' (did you mean 'model'?)",
    )


@pytest.mark.parametrize(
    ("endpoint", "body", "path", "hint"),
    [
        (GA, realtime(voice="marin"), ("session", "voice"),
         "in GA sessions it is audio.output.voice"),
        (GA, realtime(turn_detection=None), ("session", "turn_detection"),
         "in GA sessions it is audio.input.turn_detection"),
        (GA, transcription(input_audio_format="pcm16"), ("session", "input_audio_format"),
         "in GA sessions it is audio.input.format"),
        (GA, realtime(temperature=0.8), ("session", "temperature"),
         "GA sessions have no temperature"),
        (BETA, {"output_modalities": ["text"]}, ("output_modalities",),
         "in beta sessions it is modalities"),
        (BETA, {"type": "realtime"}, ("type",),
         "GA sessions, with a type, use endpoint realtime/client_secrets"),
        (BETA, {"client_secret": {"value": "ek_1"}}, ("client_secret", "value"),
         "client_secret.value is the token the API returns; a request sets only the lifetime"),
        (BETA, {"client_secret": {"expires_at": {}}}, ("client_secret", "expires_at"),
         "realtime/sessions takes expires_after"),
        (TRANSCRIPTION, {"client_secret": {"expires_after": {}}},
         ("client_secret", "expires_after"),
         "realtime/transcription_sessions takes expires_at (openai-python's name)"),
    ],
)  # fmt: skip
def test_fields_of_the_other_api_generation_say_where_they_went(
    endpoint: Endpoint, body: dict[str, Any], path: Path, hint: str
) -> None:
    """A beta field in a GA session (and the reverse) names its counterpart."""
    assert one_error(endpoint, body) == (path, f"unknown field {path[-1]!r} ({hint})")


def test_the_beta_request_never_takes_the_token() -> None:
    """``client_secret`` sets only ``expires_after`` (the spec's value/expires_at is wrong)."""
    assert_valid(BETA, {"client_secret": {"expires_after": {"anchor": "created_at"}}})
    found = errors(BETA, {"client_secret": {"value": "ek_1", "expires_at": 1}})
    assert [path for path, _ in found] == [
        ("client_secret", "value"),
        ("client_secret", "expires_at"),
    ]
    assert one_error(BETA, {"client_secret": {"expires_after": {"seconds": 60}}}) == (
        ("client_secret", "expires_after", "anchor"),
        "is required",
    )


def test_transcription_lifetime_anchor_is_optional() -> None:
    """openai-python's transcription ``expires_at`` needs neither key; GA's neither."""
    assert_valid(TRANSCRIPTION, {"client_secret": {"expires_at": {"seconds": 30}}})
    assert_valid(GA, {"expires_after": {"seconds": 30}})


# --- required keys and discriminators ----------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "path"),
    [
        (GA, {"session": {}}, ("session", "type")),
        (GA, realtime(audio={"input": {"format": {}}}), ("session", "audio", "input", "format",
                                                          "type")),
        (GA, realtime(audio={"input": {"turn_detection": {"threshold": 0.5}}}), (*TD, "type")),
        (GA, realtime(tools=[{"type": "mcp", "server_url": "https://x.example"}]),
         ("session", "tools", 0, "server_label")),
        (GA, realtime(tool_choice={"name": "f"}), ("session", "tool_choice", "type")),
        (GA, realtime(tool_choice={"type": "function"}), ("session", "tool_choice", "name")),
        (GA, realtime(truncation={"type": "retention_ratio"}),
         ("session", "truncation", "retention_ratio")),
        (GA, realtime(truncation={"retention_ratio": 0.5}), ("session", "truncation", "type")),
        (GA, realtime(prompt={}), ("session", "prompt", "id")),
        (GA, realtime(prompt={"id": "p", "variables": {"v": {"text": "t"}}}),
         ("session", "prompt", "variables", "v", "type")),
        (GA, realtime(audio={"output": {"voice": {}}}),
         ("session", "audio", "output", "voice", "id")),
    ],
)  # fmt: skip
def test_missing_required_keys_point_at_the_key(
    endpoint: Endpoint, body: dict[str, Any], path: Path
) -> None:
    """A missing required key is one "is required" error located at the missing key."""
    assert one_error(endpoint, body) == (path, "is required")


def test_a_bad_tool_reports_only_the_branch_meant() -> None:
    """A broken MCP tool gets MCP errors only, not every branch of the tool union."""
    body = realtime(tools=[{"type": "mcp", "server_label": 5, "server_url": "https://x.io"}])
    assert errors(GA, body) == [
        (("session", "tools", 0, "server_label"), "must be a string (got 5)")
    ]
    body = realtime(tools=[{"name": "f", "parameters": "x"}])
    assert errors(GA, body) == [
        (("session", "tools", 0, "parameters"), "must be a table (got 'x')")
    ]


def test_a_function_tool_needs_no_type() -> None:
    """``type`` of a function tool is optional, as in the spec."""
    assert_valid(GA, realtime(tools=[{"name": "f"}]))
    assert_valid(BETA, {"tools": [{"name": "f"}]})


def test_beta_sessions_have_function_tools_only() -> None:
    """An MCP tool in a beta session is one error about its type, not MCP advice."""
    assert one_error(BETA, {"tools": [{"type": "mcp"}]}) == (
        ("tools", 0, "type"),
        "must be 'function' (got 'mcp')",
    )


def test_semantic_vad_has_no_server_vad_fields() -> None:
    """Server-VAD-only fields are unknown in a semantic VAD table (and the reverse)."""
    body = realtime(audio={"input": {"turn_detection": {"type": "semantic_vad", "threshold": 1}}})
    assert one_error(GA, body) == ((*TD, "threshold"), "unknown field 'threshold'")
    body = realtime(audio={"input": {"turn_detection": {**SERVER_VAD, "eagerness": "low"}}})
    assert one_error(GA, body)[0] == (*TD, "eagerness")


def test_a_transcription_session_has_no_realtime_fields() -> None:
    """The GA session type decides which fields exist."""
    assert one_error(GA, transcription(model="gpt-realtime")) == (
        ("session", "model"),
        "unknown field 'model'",
    )
    assert one_error(GA, transcription(audio={"output": {}}))[0] == ("session", "audio", "output")


def test_several_problems_are_reported_together() -> None:
    """Every error in a body is found in one call, errors before warnings."""
    body = {"speed": 3, "temperature": 0, "voice": "alloi", "vioce": 1}
    problems = check_body(BETA, body)
    assert [p.path for p in problems] == [("speed",), ("temperature",), ("vioce",), ("voice",)]
    assert [p.severity for p in problems] == ["error", "error", "error", "warning"]


# --- checks the schema does not state -----------------------------------------------------------


def test_tool_choice_must_name_a_declared_function() -> None:
    """A GA tool_choice function names a declared function tool, with a suggestion."""
    body = realtime(tools=[FUNCTION], tool_choice={"type": "function", "name": "lookup_ordr"})
    assert one_error(GA, body) == (
        ("session", "tool_choice", "name"),
        "'lookup_ordr' is not a declared function tool (did you mean 'lookup_order'?)",
    )
    body = realtime(tools=[FUNCTION], tool_choice={"type": "function", "name": "zzz"})
    assert one_error(GA, body)[1] == (
        "'zzz' is not a declared function tool (declared: 'lookup_order')"
    )
    body = realtime(tool_choice={"type": "function", "name": "zzz"})
    assert one_error(GA, body)[1] == (
        "'zzz' is not a declared function tool (none is declared in tools)"
    )


def test_tool_choice_mcp_must_name_a_declared_server() -> None:
    """A GA tool_choice MCP names the server_label of a declared MCP tool."""
    assert_valid(GA, realtime(tools=[MCP], tool_choice={"type": "mcp", "server_label": "docs"}))
    body = realtime(tools=[MCP], tool_choice={"type": "mcp", "server_label": "doc"})
    assert one_error(GA, body) == (
        ("session", "tool_choice", "server_label"),
        "'doc' is not a declared MCP server (did you mean 'docs'?)",
    )


def test_beta_tool_choice_is_a_mode_or_a_declared_function() -> None:
    """The beta string tool_choice is auto/none/required or a declared function's name."""
    for mode in ("auto", "none", "required"):
        assert_valid(BETA, {"tool_choice": mode})
    assert_valid(BETA, {"tools": [FUNCTION], "tool_choice": "lookup_order"})
    assert one_error(BETA, {"tools": [FUNCTION], "tool_choice": "lookup"}) == (
        ("tool_choice",),
        "must be 'auto', 'none', 'required' or the name of a declared function tool"
        " (got 'lookup'; did you mean 'lookup_order'?)",
    )


@pytest.mark.parametrize("endpoint", [GA, BETA])
def test_tool_names_are_unique_and_well_formed(endpoint: Endpoint) -> None:
    """Names match ^[a-zA-Z0-9_-]{1,64}$, are unique, and are required for functions."""
    tools = [
        {"name": "lookup"},
        {"name": "lookup"},
        {"name": "has space"},
        {"name": "x" * 65},
        {"name": ""},
        {"description": "no name"},
        {"name": "a-B_9" + "x" * 59},
    ]
    body: dict[str, Any] = realtime(tools=tools) if endpoint is GA else {"tools": tools}
    prefix: Path = ("session", "tools") if endpoint is GA else ("tools",)
    assert errors(endpoint, body) == [
        ((*prefix, 1, "name"), "tool name 'lookup' is already used by tools[0]"),
        ((*prefix, 2, "name"), "must match ^[a-zA-Z0-9_-]{1,64}$ (got 'has space')"),
        ((*prefix, 3, "name"), "must match ^[a-zA-Z0-9_-]{1,64}$ (got '" + "x" * 56 + "...)"),
        ((*prefix, 4, "name"), "must match ^[a-zA-Z0-9_-]{1,64}$ (got '')"),
        ((*prefix, 5, "name"), "is required"),
    ]


def test_mcp_tools_need_exactly_one_server_source() -> None:
    """An MCP tool names one of server_url, connector_id or tunnel_id, and a real URL."""
    assert_valid(GA, realtime(tools=[{"type": "mcp", "server_label": "g",
                                      "connector_id": "connector_gmail"}]))  # fmt: skip
    assert one_error(GA, realtime(tools=[{"type": "mcp", "server_label": "x"}])) == (
        ("session", "tools", 0),
        "needs one of 'server_url', 'connector_id' or 'tunnel_id'",
    )
    both = {**MCP, "connector_id": "connector_gmail"}
    assert one_error(GA, realtime(tools=[both])) == (
        ("session", "tools", 0, "connector_id"),
        "cannot be set together with 'server_url': give exactly one of 'server_url',"
        " 'connector_id' or 'tunnel_id'",
    )
    assert one_error(GA, realtime(tools=[{**MCP, "server_url": "mcp.example.com"}])) == (
        ("session", "tools", 0, "server_url"),
        "must be an absolute http(s) URL (got 'mcp.example.com')",
    )


PARAMS = ("session", "tools", 0, "parameters")


def params_errors(parameters: Any) -> list[tuple[Path, str]]:
    return errors(GA, realtime(tools=[{"name": "f", "parameters": parameters}]))


def test_valid_parameter_schemas_pass() -> None:
    """Realistic JSON Schemas (refs, combinators, boolean schemas, drafts) are accepted."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "description": "Arguments",
        "properties": {
            "order_id": {"type": "string", "pattern": "^[0-9]+$", "minLength": 1},
            "count": {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 100},
            "kind": {"enum": ["a", "b"], "default": "a"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, True]},
            "legacy": {"items": [{"type": "string"}], "exclusiveMinimum": True},
            "addr": {"$ref": "#/$defs/address"},
            "either": {"anyOf": [{"type": "string"}, {"type": "number", "multipleOf": 0.5}]},
            "self": {"$ref": "#"},
            "any": {},
            "never": False,
        },
        "required": ["order_id"],
        "additionalProperties": False,
        "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    assert params_errors(schema) == []
    assert params_errors({}) == []


@pytest.mark.parametrize(
    ("parameters", "path", "message"),
    [
        ({"type": "string"}, ("type",),
         "must be 'object': parameters are an object (got 'string')"),
        ({"properties": {"a": {"type": "strng"}}}, ("properties", "a", "type"),
         "must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'"
         " (got 'strng'; did you mean 'string'?)"),
        ({"type": ["string", "string"]}, ("type",),
         "must be a type name or a non-empty array of distinct ones"
         " (got [\"string\", \"string\"])"),
        ({"properties": []}, ("properties",), "must be a table of schemas (got [])"),
        ({"properties": {"a": 5}}, ("properties", "a"),
         "must be a JSON Schema: a table or a boolean (got 5)"),
        ({"required": "a"}, ("required",), "must be an array of property names (got 'a')"),
        ({"required": ["a", 1]}, ("required",),
         "must be an array of property names (got [\"a\", 1])"),
        ({"required": ["a", "a"]}, ("required",), "must not list a property twice"),
        ({"properties": {"l": {"items": "x"}}}, ("properties", "l", "items"),
         "must be a JSON Schema: a table or a boolean (got 'x')"),
        ({"anyOf": []}, ("anyOf",), "must be a non-empty array of schemas (got [])"),
        ({"oneOf": {"type": "string"}}, ("oneOf",),
         "must be a non-empty array of schemas (got {\"type\": \"string\"})"),
        ({"allOf": [{"type": 3}]}, ("allOf", 0, "type"),
         "must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'"
         " (got 3)"),
        ({"properties": {"k": {"enum": []}}}, ("properties", "k", "enum"),
         "must be a non-empty array (got [])"),
        ({"properties": {"s": {"minLength": -1}}}, ("properties", "s", "minLength"),
         "must be a non-negative integer (got -1)"),
        ({"properties": {"s": {"maxItems": 1.5}}}, ("properties", "s", "maxItems"),
         "must be a non-negative integer (got 1.5)"),
        ({"properties": {"n": {"minimum": "0"}}}, ("properties", "n", "minimum"),
         "must be a number (got '0')"),
        ({"properties": {"n": {"multipleOf": 0}}}, ("properties", "n", "multipleOf"),
         "must be a positive number (got 0)"),
        ({"properties": {"n": {"exclusiveMinimum": "1"}}}, ("properties", "n", "exclusiveMinimum"),
         "must be a number (got '1')"),
        ({"properties": {"l": {"uniqueItems": "yes"}}}, ("properties", "l", "uniqueItems"),
         "must be a boolean (got 'yes')"),
        ({"properties": {"s": {"pattern": 5}}}, ("properties", "s", "pattern"),
         "must be a string (got 5)"),
        ({"additionalProperties": "no"}, ("additionalProperties",),
         "must be a JSON Schema: a table or a boolean (got 'no')"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, ("properties", "a", "$ref"),
         "points at nothing in this schema (got '#/$defs/missing')"),
        ({"properties": {"a": {"$ref": 5}}}, ("properties", "a", "$ref"),
         "must be a string (got 5)"),
        ({"$defs": {"x": "y"}}, ("$defs", "x"),
         "must be a JSON Schema: a table or a boolean (got 'y')"),
    ],
)  # fmt: skip
def test_invalid_parameter_schemas_are_located(parameters: Any, path: Path, message: str) -> None:
    """Each structural mistake in a JSON Schema is one error at the offending keyword."""
    assert params_errors(parameters) == [((*PARAMS, *path), message)]


def test_parameter_schemas_are_depth_limited() -> None:
    """A hostile, very deep schema yields one error instead of unbounded recursion."""
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(5000):
        schema = {"type": "object", "properties": {"x": schema}}
    found = params_errors(schema)
    assert len(found) == 1
    path, message = found[0]
    assert path == (*PARAMS, *("properties", "x") * MAX_SCHEMA_DEPTH)
    assert message == f"is nested too deeply (more than {MAX_SCHEMA_DEPTH} levels)"


def test_whisper_transcription_sessions_need_turn_detection_null() -> None:
    """gpt-realtime-whisper transcription sessions must send turn_detection = null."""
    audio_input: dict[str, Any] = {"transcription": {"model": "gpt-realtime-whisper"}}
    path = ("session", "audio", "input", "turn_detection")
    assert one_error(GA, transcription(audio={"input": audio_input})) == (
        path,
        "must be set to null: transcription model 'gpt-realtime-whisper' does not support"
        " turn detection (VAD)",
    )
    with_vad = {**audio_input, "turn_detection": SERVER_VAD}
    assert one_error(GA, transcription(audio={"input": with_vad}))[1].startswith("must be null:")
    assert_valid(GA, transcription(audio={"input": {**audio_input, "turn_detection": None}}))
    # A realtime session may use whisper for input transcription with VAD on.
    assert_valid(GA, realtime(audio={"input": audio_input}))
    beta = {"input_audio_transcription": {"model": "gpt-realtime-whisper"}}
    assert one_error(TRANSCRIPTION, beta)[0] == ("turn_detection",)
    assert_valid(TRANSCRIPTION, {**beta, "turn_detection": None})


# --- warnings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "path", "message"),
    [
        (GA, realtime(model="gpt-realtim"), ("session", "model"),
         "unknown model 'gpt-realtim' (did you mean 'gpt-realtime'?)"),
        (GA, realtime(model="my-finetune"), ("session", "model"), "unknown model 'my-finetune'"),
        (BETA, {"model": "gpt-4o-realtime-preveiw"}, ("model",),
         "unknown model 'gpt-4o-realtime-preveiw' (did you mean 'gpt-4o-realtime-preview'?)"),
        (BETA, {"model": "gpt-realtime-2"}, ("model",),
         "model 'gpt-realtime-2' is not listed for the beta realtime/sessions endpoint"
         " (GA models are minted with endpoint realtime/client_secrets)"),
        (GA, realtime(audio={"output": {"voice": "marine"}}), ("session", "audio", "output",
                                                               "voice"),
         "unknown voice 'marine' (did you mean 'marin'?)"),
        (BETA, {"voice": "alloi"}, ("voice",), "unknown voice 'alloi' (did you mean 'alloy'?)"),
        (GA, realtime(audio={"input": {"transcription": {"model": "whisper-2"}}}),
         ("session", "audio", "input", "transcription", "model"),
         "unknown model 'whisper-2' (did you mean 'whisper-1'?)"),
        (GA, transcription(audio={"input": {"transcription": {"model": "gpt-4o-transcrib"}}}),
         ("session", "audio", "input", "transcription", "model"),
         "unknown model 'gpt-4o-transcrib' (did you mean 'gpt-4o-transcribe'?)"),
        (BETA, {"input_audio_transcription": {"model": "whisper"}},
         ("input_audio_transcription", "model"),
         "unknown model 'whisper' (did you mean 'whisper-1'?)"),
        (TRANSCRIPTION, {"input_audio_transcription": {"model": "gpt-transcibe"}},
         ("input_audio_transcription", "model"),
         "unknown model 'gpt-transcibe' (did you mean 'gpt-transcribe'?)"),
    ],
)  # fmt: skip
def test_unknown_open_set_values_warn(
    endpoint: Endpoint, body: dict[str, Any], path: Path, message: str
) -> None:
    """Unknown models, voices and transcription models are warnings, not errors."""
    assert errors(endpoint, body) == []
    assert warnings(endpoint, body) == [(path, message)]


def test_known_values_and_custom_voices_do_not_warn() -> None:
    """Every known model and voice, and a custom voice reference, is silent."""
    for model in KNOWN_MODELS:
        assert_valid(GA, realtime(model=model))
    for model in KNOWN_BETA_MODELS:
        assert_valid(BETA, {"model": model})
    for voice in KNOWN_VOICES:
        assert_valid(GA, realtime(audio={"output": {"voice": voice}}))
        assert_valid(BETA, {"voice": voice})
    for model in KNOWN_TRANSCRIPTION_MODELS:
        assert_valid(TRANSCRIPTION, {"input_audio_transcription": {"model": model},
                                     "turn_detection": None})  # fmt: skip
    assert_valid(GA, realtime(audio={"output": {"voice": {"id": "voice_1234"}}}))


def test_known_sets_match_the_notes() -> None:
    """The known-value sets hold the values NOTES lists (19 GA models, 8 beta, 10 voices, 8)."""
    assert len(KNOWN_MODELS) == 19
    assert len(KNOWN_BETA_MODELS) == 8 and KNOWN_BETA_MODELS <= KNOWN_MODELS
    assert len(KNOWN_VOICES) == 10 and {"marin", "cedar"} <= KNOWN_VOICES
    assert (
        len(KNOWN_TRANSCRIPTION_MODELS) == 8
        and "gpt-realtime-whisper" in KNOWN_TRANSCRIPTION_MODELS
    )


# --- spec defaults -----------------------------------------------------------------------------


def test_defaults_for_picks_the_session_type() -> None:
    """GA defaults depend on session.type (or a template's own type); beta ones do not."""
    realtime_defaults = defaults_for(GA, realtime())
    assert realtime_defaults[("output_modalities",)] == ["audio"]
    assert realtime_defaults[("expires_after", "seconds")] == 600
    assert realtime_defaults[("audio", "output", "voice")] == "alloy"
    assert defaults_for(GA, {"type": "realtime"}) is realtime_defaults
    transcription_defaults = defaults_for(GA, transcription())
    assert ("output_modalities",) not in transcription_defaults
    assert transcription_defaults[("audio", "input", "noise_reduction")] is None
    assert dict(defaults_for(GA, {})) == {
        ("expires_after", "anchor"): "created_at",
        ("expires_after", "seconds"): 600,
    }
    assert defaults_for(GA, {"session": {"type": "nonsense"}}) == defaults_for(GA, {})
    assert defaults_for(BETA, {})[("temperature",)] == 0.8
    assert defaults_for(TRANSCRIPTION, {})[("input_audio_format",)] == "pcm16"


def test_contradicted_and_undocumented_defaults_are_left_out() -> None:
    """silence_duration_ms (500 vs 200), turn_detection.type and beta lifetimes have none."""
    for defaults in SPEC_DEFAULTS.values():
        for path in defaults:
            assert path[-1] not in ("silence_duration_ms", "type", "idle_timeout_ms"), path
    assert not any(p[0] == "expires_after" for p in SPEC_DEFAULTS[(BETA, None)])
    assert not any(p[0] == "expires_after" for p in SPEC_DEFAULTS[(TRANSCRIPTION, None)])


@pytest.mark.parametrize("key", sorted(SPEC_DEFAULTS, key=str))
def test_every_default_is_valid_where_it_applies(key: tuple[Endpoint, str | None]) -> None:
    """Each default, written at its template path, makes a body rtconfig accepts."""
    endpoint, session_type = key
    for path, value in SPEC_DEFAULTS[key].items():
        # A GA body always holds a session, and a session needs its type.
        session = session_type or ("realtime" if endpoint is GA else None)
        fields: dict[str, Any] = {"type": session} if session else {}
        if "turn_detection" in path:  # the table needs its discriminator
            kind = "semantic_vad" if path[-1] == "eagerness" else "server_vad"
            fields = put(fields, (*path[:-1], "type"), kind)
        fields = put(fields, path, value)
        assert_valid(endpoint, body_from_template(endpoint, fields))


# --- template JSON Schema -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "session_type"),
    [(BETA, None), (GA, None), (GA, "realtime"), (GA, "transcription"), (TRANSCRIPTION, None)],
)
def test_template_schema_is_a_closed_self_contained_2020_12_schema(
    endpoint: Endpoint, session_type: str | None
) -> None:
    """The editor schema is valid draft 2020-12, has no $ref, and forbids unknown keys."""
    schema = template_json_schema(endpoint, session_type)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "$ref" not in repr(schema) and "$defs" not in schema
    variants = schema.get("anyOf", [schema])
    for variant in variants:
        assert variant["additionalProperties"] is False
        assert "expires_after" in variant["properties"]
        assert "client_secret" not in variant["properties"]
        assert "required" not in variant


def test_template_schema_accepts_partial_templates_and_rejects_typos() -> None:
    """A child template may omit inherited keys; an unknown key is still caught by editors."""
    validator = jsonschema.Draft202012Validator(template_json_schema(GA, "realtime"))
    template = {
        "type": "realtime",
        "model": "gpt-realtime",
        "expires_after": {"seconds": 600},
        "audio": {"output": {"voice": "marin", "speed": 1.1}},
        "tools": [FUNCTION],
    }
    assert list(validator.iter_errors(template)) == []
    assert (
        list(validator.iter_errors({"audio": {"input": {"turn_detection": {"threshold": 0.3}}}}))
        == []
    )
    assert list(validator.iter_errors({"audio": {"output": {"vioce": "marin"}}}))
    assert list(validator.iter_errors({"audio": {"output": {"speed": 9}}}))
    # Array items are never merged, so they keep their required keys.
    assert list(validator.iter_errors({"tools": [{"type": "mcp"}]}))


def test_template_schema_carries_descriptions_and_known_values() -> None:
    """Editors get the spec's descriptions and the known values as examples."""
    props = template_json_schema(GA, "realtime")["properties"]
    assert "0.25" in props["audio"]["properties"]["output"]["properties"]["speed"]["description"]
    assert "gpt-realtime" in props["model"]["examples"]
    beta = template_json_schema(BETA)["properties"]
    assert beta["temperature"]["maximum"] == 1.2


def test_template_schema_rejects_bad_session_types() -> None:
    """Only GA has session types, and only realtime and transcription."""
    with pytest.raises(ValueError):
        template_json_schema(GA, "translation")
    with pytest.raises(ValueError):
        template_json_schema(BETA, "realtime")


def test_template_schema_is_a_fresh_copy() -> None:
    """Mutating a returned schema does not change the next one."""
    template_json_schema(BETA)["properties"].clear()
    assert template_json_schema(BETA)["properties"]


# --- cost --------------------------------------------------------------------------------------


def test_importing_builds_no_validator() -> None:
    """``import rtconfig._checks`` defers every validator build to first use."""
    code = (
        "import rtconfig._checks, rtconfig._models as m\n"
        "print(m.request_adapter.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "0"


def test_validators_are_built_once() -> None:
    """Each endpoint's validator is reused across calls."""
    assert request_adapter(GA) is request_adapter(GA)


def test_a_valid_body_is_cheap_to_check() -> None:
    """A full valid GA body costs well under a millisecond (typically ~20 µs)."""
    check_body(GA, FULL_GA)
    seconds = min(timeit.repeat(lambda: check_body(GA, FULL_GA), number=500, repeat=3)) / 500
    assert seconds < 1e-3


# --- fields new in openai-python 3.57.0 (NOTES §8) ----------------------------------------------


def test_noise_reduction_strength_is_ga_only() -> None:
    """audio.input.noise_reduction.strength is a number on GA sessions, unknown on beta ones."""
    for kind in ("realtime", "transcription"):
        body = {
            "session": {"type": kind, "audio": {"input": {"noise_reduction": {"strength": 0.7}}}}
        }
        assert errors(GA, body) == []
        bad = {
            "session": {"type": kind, "audio": {"input": {"noise_reduction": {"strength": "x"}}}}
        }
        assert errors(GA, bad) == [
            (
                ("session", "audio", "input", "noise_reduction", "strength"),
                "must be a number (got 'x')",
            )
        ]
    beta = {"input_audio_noise_reduction": {"type": "near_field", "strength": 0.7}}
    assert [m for _, m in errors(BETA, beta)] == ["unknown field 'strength'"]


def test_prompt_cache_breakpoint_ttl() -> None:
    """prompt variables' prompt_cache_breakpoint takes ttl '30m' or '12h', and still needs mode."""

    def body(breakpoint: dict[str, Any]) -> dict[str, Any]:
        text = {"type": "input_text", "text": "hi", "prompt_cache_breakpoint": breakpoint}
        return {"session": {"type": "realtime", "prompt": {"id": "p", "variables": {"v": text}}}}

    assert errors(GA, body({"mode": "explicit", "ttl": "12h"})) == []
    (problem,) = errors(GA, body({"mode": "explicit", "ttl": "1h"}))
    assert problem[0][-1] == "ttl" and "'30m', '12h'" in problem[1]
    (problem,) = errors(GA, body({"ttl": "30m"}))
    assert problem == (
        ("session", "prompt", "variables", "v", "prompt_cache_breakpoint", "mode"),
        "is required",
    )
