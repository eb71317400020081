"""Import: session objects (requests and responses of all three endpoints) become templates that
validate and resolve back to an equivalent body."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from rtconfig._config import load
from rtconfig._emulated import SEED_GA_SESSION
from rtconfig._endpoints import Endpoint, template_view
from rtconfig._errors import ConfigError
from rtconfig._importer import (
    ImportedTemplate,
    import_session,
    infer_endpoint,
    template_name_from,
    to_toml,
)
from rtconfig._resolver import ResolvedTemplate

TOKEN = "ek_68af296e8e408191a1120ab6383263c2"

# --- the shapes, as sent --------------------------------------------------------------------

BETA_REQUEST: dict[str, Any] = {
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a friendly assistant.\nKeep it short.",
    "voice": "verse",
    "speed": 1.0,
    "temperature": 0.7,
    "turn_detection": None,
    "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
    "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 300}},
}
BETA_TRANSCRIPTION_REQUEST: dict[str, Any] = {
    "input_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    "turn_detection": {"type": "server_vad", "threshold": 0.6, "prefix_padding_ms": 300},
    "include": ["item.input_audio_transcription.logprobs"],
    "client_secret": {"expires_at": {"anchor": "created_at", "seconds": 120}},
}
GA_REQUEST: dict[str, Any] = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a friendly assistant.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {"turn_detection": None, "noise_reduction": {"type": "near_field"}},
            "output": {"voice": "marin", "speed": 1.2},
        },
    },
}
GA_TRANSCRIPTION_SESSION: dict[str, Any] = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": {"model": "gpt-4o-transcribe", "language": "de"},
        }
    },
}

# --- the shapes, as returned ----------------------------------------------------------------

BETA_RESPONSE: dict[str, Any] = {
    "id": "sess_001",
    "object": "realtime.session",
    "model": "gpt-realtime",
    "modalities": ["audio", "text"],
    "instructions": "You are a friendly assistant.",
    "voice": "alloy",
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "input_audio_transcription": {"model": "whisper-1"},
    "turn_detection": None,
    "tools": [],
    "tool_choice": "none",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "speed": 1.1,
    "client_secret": {"value": TOKEN, "expires_at": 1234567890},
}
BETA_TRANSCRIPTION_RESPONSE: dict[str, Any] = {  # the spec's own example
    "id": "sess_BBwZc7cFV3XizEyKGDCGL",
    "object": "realtime.transcription_session",
    "modalities": ["audio", "text"],
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
    },
    "input_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": None, "prompt": ""},
    "client_secret": None,
}
GA_RESPONSE: dict[str, Any] = {  # the component example of RealtimeCreateClientSecretResponse
    "value": TOKEN,
    "expires_at": 1756310470,
    "session": copy.deepcopy(dict(SEED_GA_SESSION)),
}
GA_TRANSCRIPTION_RESPONSE: dict[str, Any] = {
    "value": TOKEN,
    "expires_at": 1756310470,
    "session": {
        "type": "transcription",
        "id": "sess_T1",
        "object": "realtime.transcription_session",
        "expires_at": 0,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-transcribe", "language": "fr"},
                "noise_reduction": {"type": "far_field"},
                "turn_detection": {"type": "server_vad", "threshold": 0.5},
            }
        },
        "include": ["item.input_audio_transcription.logprobs"],
    },
}


def _round_trip(imported: ImportedTemplate, tmp_path: Path) -> ResolvedTemplate:
    """Write the TOML, load it like a user would, and resolve the template."""
    path = tmp_path / "sessions.toml"
    path.write_text(to_toml(imported, source="session.json"), encoding="utf-8")
    return load(path).resolve(imported.name, environ={})


def _put(tree: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def _restore_defaults(imported: ImportedTemplate, body: dict[str, Any]) -> dict[str, Any]:
    """The template view of ``body`` with the dropped spec defaults put back."""
    from rtconfig._models import defaults_for

    view = copy.deepcopy(template_view(imported.endpoint, body))
    defaults = defaults_for(imported.endpoint, view)
    for dotted, why in imported.dropped:
        if why == "the spec default":
            path = tuple(dotted.split("."))
            _put(view, path, copy.deepcopy(defaults[path]))
    return view


@pytest.mark.parametrize(
    ("data", "endpoint"),
    [
        (BETA_REQUEST, Endpoint.SESSIONS),
        (BETA_TRANSCRIPTION_REQUEST, Endpoint.TRANSCRIPTION_SESSIONS),
        (GA_REQUEST, Endpoint.CLIENT_SECRETS),
        (GA_TRANSCRIPTION_SESSION, Endpoint.CLIENT_SECRETS),
    ],
    ids=["beta-session", "beta-transcription", "ga-realtime", "ga-transcription-bare"],
)
def test_request_round_trip(data: dict[str, Any], endpoint: Endpoint, tmp_path: Path) -> None:
    """A request body imports to a template that resolves to the same body less its defaults,
    and putting the dropped defaults back gives exactly the original."""
    imported = import_session(data, name="t")
    assert imported.endpoint is endpoint and not imported.response
    resolved = _round_trip(imported, tmp_path)
    assert resolved.endpoint is endpoint
    assert resolved.body == imported.body
    original = (
        data if "session" in data or endpoint is not Endpoint.CLIENT_SECRETS else {"session": data}
    )
    assert _restore_defaults(imported, resolved.body) == template_view(endpoint, original)


@pytest.mark.parametrize(
    ("data", "endpoint"),
    [
        (BETA_RESPONSE, Endpoint.SESSIONS),
        (BETA_TRANSCRIPTION_RESPONSE, Endpoint.TRANSCRIPTION_SESSIONS),
        (GA_RESPONSE, Endpoint.CLIENT_SECRETS),
        (GA_TRANSCRIPTION_RESPONSE, Endpoint.CLIENT_SECRETS),
    ],
    ids=["beta-session", "beta-transcription", "ga-realtime", "ga-transcription"],
)
def test_response_round_trip(data: dict[str, Any], endpoint: Endpoint, tmp_path: Path) -> None:
    """A response imports to a valid template without ids or the token, resolving to its body."""
    imported = import_session(data, name="t")
    assert imported.endpoint is endpoint and imported.response
    text = to_toml(imported)
    assert TOKEN not in text and "sess_" not in text
    resolved = _round_trip(imported, tmp_path)
    assert resolved.body == imported.body
    view = template_view(endpoint, resolved.body)
    for key in ("id", "object", "expires_at", "value", "client_secret"):
        assert key not in view


def test_ga_response_keeps_what_is_not_a_default(tmp_path: Path) -> None:
    """The GA example response reduces to its few non-default fields; nulls become null = [...]."""
    imported = import_session(GA_RESPONSE, name="t")
    resolved = _round_trip(imported, tmp_path)
    view = template_view(Endpoint.CLIENT_SECRETS, resolved.body)
    assert view["type"] == "realtime" and view["model"] == "gpt-realtime"
    assert view["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
    }
    assert "output_modalities" not in view and "tool_choice" not in view
    assert "include" not in view  # echoed null a request cannot send
    assert "voice" not in view["audio"].get("output", {})
    dropped = dict(imported.dropped)
    assert dropped["value"] == "the token"
    assert dropped["audio.output.voice"] == "the spec default"


def test_beta_response_keeps_meaningful_null(tmp_path: Path) -> None:
    """turn_detection: null (VAD off) survives a beta response import as a null entry."""
    imported = import_session(BETA_RESPONSE, name="t")
    data = tomllib.loads(to_toml(imported))
    assert "turn_detection" in data["templates"]["t"]["null"]
    assert _round_trip(imported, tmp_path).body["turn_detection"] is None


def test_request_null_becomes_a_null_entry() -> None:
    """An explicit null in a request is written as null = ["path"], since TOML has none."""
    imported = import_session(GA_REQUEST, name="t")
    table = tomllib.loads(to_toml(imported))["templates"]["t"]
    assert table["null"] == ["audio.input.turn_detection"]
    assert table["endpoint"] == "realtime/client_secrets"
    assert "turn_detection" not in table["audio"]["input"]


def test_defaults_are_dropped() -> None:
    """Fields at their documented default are left out of the template and listed as dropped."""
    imported = import_session(GA_REQUEST, name="t")
    assert ("expires_after.anchor", "the spec default") in imported.dropped
    assert ("expires_after.seconds", "the spec default") in imported.dropped
    assert ("output_modalities", "the spec default") in imported.dropped
    assert "expires_after" not in imported.fields
    assert imported.fields["audio"]["output"] == {"voice": "marin", "speed": 1.2}


def test_multiline_instructions_survive(tmp_path: Path) -> None:
    """Instructions with newlines round-trip through TOML's multi-line strings unchanged."""
    imported = import_session(BETA_REQUEST, name="t")
    assert '"""' in to_toml(imported)
    assert _round_trip(imported, tmp_path).body["instructions"] == BETA_REQUEST["instructions"]


@pytest.mark.parametrize(
    ("data", "endpoint"),
    [
        ({"session": {"type": "realtime"}}, Endpoint.CLIENT_SECRETS),
        ({"type": "realtime"}, Endpoint.CLIENT_SECRETS),
        ({"output_modalities": ["text"]}, Endpoint.CLIENT_SECRETS),
        ({"audio": {}}, Endpoint.CLIENT_SECRETS),
        ({"object": "realtime.transcription_session"}, Endpoint.TRANSCRIPTION_SESSIONS),
        ({"input_audio_transcription": {"model": "whisper-1"}}, Endpoint.TRANSCRIPTION_SESSIONS),
        (
            {"client_secret": {"expires_at": {"anchor": "created_at"}}},
            Endpoint.TRANSCRIPTION_SESSIONS,
        ),
        (
            {"input_audio_transcription": {"model": "whisper-1"}, "voice": "ash"},
            Endpoint.SESSIONS,
        ),
        ({"model": "gpt-realtime"}, Endpoint.SESSIONS),
        ({}, Endpoint.SESSIONS),
    ],
)
def test_endpoint_inference(data: dict[str, Any], endpoint: Endpoint) -> None:
    """The endpoint is inferred from the object's shape."""
    assert infer_endpoint(data) is endpoint


def test_explicit_endpoint_wins() -> None:
    """--endpoint overrides the inference."""
    imported = import_session({"type": "transcription"}, endpoint=Endpoint.CLIENT_SECRETS)
    assert imported.endpoint is Endpoint.CLIENT_SECRETS


def test_ga_wrapper_with_a_beta_endpoint_is_an_error() -> None:
    """A {session: …} body cannot be imported for a beta endpoint."""
    with pytest.raises(ConfigError, match="realtime/client_secrets body"):
        import_session(GA_REQUEST, endpoint=Endpoint.SESSIONS)


def test_invalid_session_is_an_error() -> None:
    """A session its endpoint rejects is reported with the offending path."""
    with pytest.raises(ConfigError) as info:
        import_session({"speed": 4.0}, name="t", source="s.json")
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.file, diagnostic.path) == ("s.json", "speed")


def test_null_inside_an_array_is_an_error() -> None:
    """TOML cannot hold a null inside an array: the path is named."""
    data = {"tools": [{"type": "function", "name": "f", "parameters": {"default": None}}]}
    with pytest.raises(ConfigError, match="null inside an array"):
        import_session(data)


def test_not_an_object_is_an_error() -> None:
    """A JSON array or scalar is not a session object."""
    with pytest.raises(ConfigError, match="must be a JSON object"):
        import_session([1, 2])


def test_template_names_from_file_names() -> None:
    """The default name comes from the file name, made a valid template name."""
    assert template_name_from("support-session.json") == "support-session"
    assert template_name_from("dir/my session.json") == "my-session"
    assert template_name_from("-") == "imported"
