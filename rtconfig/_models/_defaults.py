"""The spec's documented defaults, by template path, per endpoint and GA session type."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._models._requests import SESSION_TYPES as _SESSION_TYPES

TemplatePath = tuple[str, ...]

# --------------------------------------------------------------------------------------------
# Documented defaults, by template path (what the user writes; ``expires_after`` for the token
# lifetime on every endpoint). Only defaults the spec states, as a schema `default:` or in a
# description. Deliberately left out:
#   - silence_duration_ms: "Defaults to 500ms", but every example shows 200 (NOTES §9);
#   - turn_detection.type: `default: server_vad` sits on a required discriminator, so it never
#     applies, and treating `type` as redundant would invite dropping it;
#   - beta `voice`: only the GA field documents `alloy`;
#   - beta `tool_choice`, `input/output_audio_format`, `turn_detection.type`, `create_response`,
#     `interrupt_response`: defaults the 2025-04 spec had and the current one dropped (§5.1c);
#   - beta `expires_after`: openai-python states no default and requires `anchor`;
#   - transcription "defaults to off": off is sent as null, which only the description allows
#     (NOTES §14); a default must be a value the schema itself accepts.
# Arrays are leaves. Treat the values as read-only.

_GA_LIFETIME: dict[TemplatePath, Any] = {
    ("expires_after", "anchor"): "created_at",
    ("expires_after", "seconds"): 600,
}
_GA_VAD: dict[TemplatePath, Any] = {
    ("audio", "input", "turn_detection", "threshold"): 0.5,
    ("audio", "input", "turn_detection", "prefix_padding_ms"): 300,
    ("audio", "input", "turn_detection", "create_response"): True,
    ("audio", "input", "turn_detection", "interrupt_response"): True,
    ("audio", "input", "turn_detection", "eagerness"): "auto",
}

SPEC_DEFAULTS: Mapping[tuple[Endpoint, str | None], Mapping[TemplatePath, Any]] = MappingProxyType(
    {
        (Endpoint.SESSIONS, None): MappingProxyType(
            {
                ("speed",): 1,
                ("temperature",): 0.8,
                ("max_response_output_tokens",): "inf",
                ("turn_detection", "threshold"): 0.5,
                ("turn_detection", "prefix_padding_ms"): 300,
                ("truncation",): "auto",
            }
        ),
        (Endpoint.CLIENT_SECRETS, None): MappingProxyType(dict(_GA_LIFETIME)),
        (Endpoint.CLIENT_SECRETS, "realtime"): MappingProxyType(
            {
                **_GA_LIFETIME,
                ("output_modalities",): ["audio"],
                ("audio", "input", "noise_reduction"): None,
                **_GA_VAD,
                ("audio", "output", "voice"): "alloy",
                ("audio", "output", "speed"): 1,
                ("tracing",): None,
                ("tool_choice",): "auto",
                ("reasoning", "effort"): "low",
                ("max_output_tokens",): "inf",
                ("truncation",): "auto",
            }
        ),
        (Endpoint.CLIENT_SECRETS, "transcription"): MappingProxyType(
            {**_GA_LIFETIME, ("audio", "input", "noise_reduction"): None, **_GA_VAD}
        ),
        (Endpoint.TRANSCRIPTION_SESSIONS, None): MappingProxyType(
            {
                ("input_audio_format",): "pcm16",
                ("input_audio_noise_reduction",): None,
                ("turn_detection", "threshold"): 0.5,
                ("turn_detection", "prefix_padding_ms"): 300,
            }
        ),
    }
)
"""Documented defaults per (endpoint, GA session type), keyed by template path."""


# The trimmed spec has no schema for realtime/translations/client_secrets and NOTES §9 states no
# default for it: every field a translation template sets is an override (default null).
_NO_DEFAULTS: Mapping[TemplatePath, Any] = MappingProxyType({})


def defaults_for(endpoint: Endpoint, body: Mapping[str, Any]) -> Mapping[TemplatePath, Any]:
    """The documented defaults that apply to ``body`` (a request body or a template's fields)."""
    if endpoint is Endpoint.TRANSLATIONS:
        return _NO_DEFAULTS
    if endpoint is not Endpoint.CLIENT_SECRETS:
        return SPEC_DEFAULTS[(endpoint, None)]
    session = body.get("session", body)
    kind = session.get("type") if isinstance(session, Mapping) else None
    key = (endpoint, kind if kind in _SESSION_TYPES else None)
    return SPEC_DEFAULTS[key]
