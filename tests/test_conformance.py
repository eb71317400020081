"""Conformance with OpenAI's official schemas (``shared/spec/realtime-openapi.yaml``).

Bodies rtconfig accepts are accepted by the spec, bodies the spec rejects are rejected by
rtconfig, and every documented default rtconfig plans against is a value the spec accepts.

The beta ``RealtimeSessionCreateRequest`` is known to be wrong (NOTES §4.1-2: it is the
*response* shape, requires the returned token ``client_secret {value, expires_at}`` and lacks
``model``), so beta session bodies are checked against that schema with NOTES' corrections
applied (:func:`corrected_beta_session_schema`), never against it as published.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rtconfig._checks import check_body
from rtconfig._endpoints import Endpoint, body_from_template
from rtconfig._models import SPEC_DEFAULTS

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "realtime-openapi.yaml"
if not SPEC.is_file():
    pytest.skip(f"the official spec is not at {SPEC}", allow_module_level=True)

yaml = pytest.importorskip("yaml", reason="PyYAML (a test dependency) reads the spec")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (a test dependency) is needed")

GA = Endpoint.CLIENT_SECRETS
BETA = Endpoint.SESSIONS
TRANSCRIPTION = Endpoint.TRANSCRIPTION_SESSIONS


# --- the official schemas as JSON Schema 2020-12 ---------------------------------------------


def _convert(node: Any) -> Any:
    """OAS → JSON Schema: local ``$defs`` refs, ``nullable: true`` as "or null", no extensions."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in ("discriminator", "example", "nullable"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key == "$ref":
            out[key] = value.replace("#/components/schemas/", "#/$defs/")
        else:
            out[key] = _convert(value)
    if node.get("nullable") is True:  # an OAS 3.0 keyword that 3.1 tooling ignores
        return {"anyOf": [out, {"type": "null"}]}
    return out


SCHEMAS: dict[str, Any] = _convert(yaml.safe_load(SPEC.read_text("utf-8"))["components"]["schemas"])


def corrected_beta_session_schema() -> dict[str, Any]:
    """``RealtimeSessionCreateRequest`` with NOTES §4.1-2 and §4.14 applied: the real request."""
    schema = copy.deepcopy(SCHEMAS["RealtimeSessionCreateRequest"])
    del schema["required"]  # client_secret is not required: it is the response's token
    props = schema["properties"]
    props["client_secret"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "expires_after": {
                "type": "object",
                "additionalProperties": False,
                "required": ["anchor"],
                "properties": {
                    "anchor": {"enum": ["created_at"]},
                    "seconds": {"type": "integer", "minimum": 10, "maximum": 7200},
                },
            }
        },
    }
    props["model"] = {"type": "string"}
    props["input_audio_noise_reduction"] = {
        "type": ["object", "null"],
        "properties": {"type": {"$ref": "#/$defs/NoiseReductionType"}},
    }
    for name in ("input_audio_format", "output_audio_format"):
        props[name] = {"enum": ["pcm16", "g711_ulaw", "g711_alaw"]}
    for name in ("turn_detection", "tracing", "input_audio_transcription"):
        props[name] = {"anyOf": [props[name], {"type": "null"}]}  # "can be set to null"
    return schema


def _document(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$defs": SCHEMAS, **schema}


OFFICIAL: dict[Endpoint, dict[str, Any]] = {
    GA: SCHEMAS["RealtimeCreateClientSecretRequest"],
    TRANSCRIPTION: SCHEMAS["RealtimeTranscriptionSessionCreateRequest"],
    BETA: corrected_beta_session_schema(),
}
VALIDATORS = {
    endpoint: jsonschema.Draft202012Validator(_document(schema))
    for endpoint, schema in OFFICIAL.items()
}


def official_errors(endpoint: Endpoint, body: Any) -> list[str]:
    return [error.message for error in VALIDATORS[endpoint].iter_errors(body)]


def rtconfig_errors(endpoint: Endpoint, body: Any) -> list[str]:
    return [p.message for p in check_body(endpoint, body) if p.severity == "error"]


def test_the_schemas_are_valid_json_schema() -> None:
    """The converted official schemas are themselves valid draft 2020-12 schemas."""
    for schema in OFFICIAL.values():
        jsonschema.Draft202012Validator.check_schema(_document(schema))


def test_the_published_beta_session_schema_rejects_real_requests() -> None:
    """Why beta sessions use the corrected shape: the published one rejects the spec's example."""
    published = jsonschema.Draft202012Validator(_document(SCHEMAS["RealtimeSessionCreateRequest"]))
    example = {"model": "gpt-realtime", "modalities": ["audio", "text"], "instructions": "Hi."}
    assert not published.is_valid(example)  # it requires client_secret {value, expires_at}
    assert VALIDATORS[BETA].is_valid(example)


# --- valid bodies pass both ------------------------------------------------------------------

FUNCTION = {
    "type": "function",
    "name": "lookup_order",
    "description": "Look up an order by id.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
    },
}
TUNNEL = "tunnel_" + "0123456789abcdef" * 2

REALTIME_SESSIONS: list[dict[str, Any]] = [
    {},
    {"model": "gpt-realtime", "instructions": "You are a friendly assistant."},
    {"model": "gpt-realtime-mini", "output_modalities": ["text"]},
    {"output_modalities": ["audio"]},
    {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}},
    {"audio": {"input": {"format": {"type": "audio/pcmu"}},
               "output": {"format": {"type": "audio/pcma"}}}},
    {"audio": {"output": {"format": {"type": "audio/pcm"}}}},
    {"audio": {"input": {"transcription": {"model": "whisper-1", "language": "en",
                                           "prompt": "expect names"}}}},
    {"audio": {"input": {"transcription": {"model": "gpt-transcribe", "languages": ["en", "de"],
                                           "keywords": ["rtconfig"]}}}},
    {"audio": {"input": {"transcription": {"model": "gpt-realtime-whisper", "delay": "low"}}}},
    {"audio": {"input": {"noise_reduction": {"type": "far_field"}}}},
    {"audio": {"input": {"noise_reduction": None}}},
    {"audio": {"input": {"turn_detection": None}}},
    {"audio": {"input": {"turn_detection": {
        "type": "server_vad", "threshold": 0.7, "prefix_padding_ms": 300,
        "silence_duration_ms": 200, "create_response": False, "interrupt_response": True,
        "idle_timeout_ms": 6000}}}},
    {"audio": {"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": None}}}},
    {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low",
                                            "create_response": True}}}},
    {"audio": {"output": {"voice": "marin", "speed": 0.25}}},
    {"audio": {"output": {"voice": {"id": "voice_1234"}, "speed": 1.5}}},
    {"include": ["item.input_audio_transcription.logprobs"]},
    {"tracing": "auto"},
    {"tracing": None},
    {"tracing": {"workflow_name": "support", "group_id": "g-1", "metadata": {"tier": "gold"}}},
    {"tools": [FUNCTION], "tool_choice": {"type": "function", "name": "lookup_order"}},
    {"tools": [{"name": "no_type", "parameters": {}}], "tool_choice": "none"},
    {"tools": [{"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com",
                "headers": {"X-Team": "a"}, "allowed_tools": ["search"],
                "require_approval": "never", "server_description": "Docs"}]},
    {"tools": [{"type": "mcp", "server_label": "mail", "connector_id": "connector_gmail",
                "authorization": "oauth-token", "allowed_tools": {"read_only": True},
                "require_approval": {"always": {"tool_names": ["send"]},
                                     "never": {"read_only": True}},
                "allowed_callers": ["direct"], "defer_loading": True}]},
    {"tools": [{"type": "mcp", "server_label": "intra", "tunnel_id": TUNNEL, "headers": None,
                "allowed_tools": None, "allowed_callers": None, "require_approval": None}],
     "tool_choice": {"type": "mcp", "server_label": "intra", "name": None}},
    {"tool_choice": "required", "parallel_tool_calls": True, "tools": [FUNCTION]},
    {"model": "gpt-realtime-2", "reasoning": {"effort": "xhigh"}},
    {"max_output_tokens": 1},
    {"max_output_tokens": 4096},
    {"max_output_tokens": "inf"},
    {"truncation": "disabled"},
    {"truncation": {"type": "retention_ratio", "retention_ratio": 0,
                    "token_limits": {"post_instructions": 0}}},
    {"prompt": None},
    {"prompt": {"id": "pmpt_1", "version": "3", "variables": None}},
    {"prompt": {"id": "pmpt_1", "version": None, "variables": {
        "city": "Paris",
        "note": {"type": "input_text", "text": "Hello",
                 "prompt_cache_breakpoint": {"mode": "explicit"}},
        "photo": {"type": "input_image", "detail": "high", "image_url": "https://x.io/a.png",
                  "file_id": None},
        "doc": {"type": "input_file", "file_id": "file_1", "filename": "a.pdf",
                "detail": "low"},
    }}},
]  # fmt: skip
TRANSCRIPTION_SESSIONS: list[dict[str, Any]] = [
    {},
    {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}}}},
    {"audio": {"input": {"format": {"type": "audio/pcmu"},
                         "transcription": {"model": "gpt-4o-transcribe-diarize"}}}},
    {"audio": {"input": {"transcription": {"model": "gpt-4o-transcribe", "language": "en",
                                           "prompt": "technology"}}}},
    {"audio": {"input": {"transcription": {"model": "gpt-realtime-whisper", "delay": "minimal"},
                         "turn_detection": None}}},
    {"audio": {"input": {"transcription": {"model": "gpt-live-transcribe",
                                           "languages": ["fr"], "keywords": ["Lyon"]}}}},
    {"audio": {"input": {"noise_reduction": {"type": "near_field"}}}},
    {"audio": {"input": {"noise_reduction": None}}},
    {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.4,
                                            "silence_duration_ms": 500}}}},
    {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "auto"}}}},
    {"include": ["item.input_audio_transcription.logprobs"]},
]  # fmt: skip
LIFETIMES: list[dict[str, Any] | None] = [
    None,
    {},
    {"anchor": "created_at", "seconds": 10},
    {"seconds": 7200},
    {"anchor": "created_at"},
]


def _ga_bodies() -> Iterator[Any]:
    for index, session in enumerate(REALTIME_SESSIONS):
        lifetime = LIFETIMES[index % len(LIFETIMES)]
        body: dict[str, Any] = {"session": {"type": "realtime", **session}}
        if lifetime is not None:
            body["expires_after"] = lifetime
        yield pytest.param(body, id=f"realtime-{index}")
    for index, session in enumerate(TRANSCRIPTION_SESSIONS):
        yield pytest.param({"session": {"type": "transcription", **session}},
                           id=f"transcription-{index}")  # fmt: skip
    yield pytest.param({}, id="no-session")
    yield pytest.param({"expires_after": {"seconds": 60}}, id="lifetime-only")


assert len(REALTIME_SESSIONS) >= 25 and len(TRANSCRIPTION_SESSIONS) >= 10


@pytest.mark.parametrize("body", list(_ga_bodies()))
def test_valid_ga_bodies_pass_rtconfig_and_the_spec(body: dict[str, Any]) -> None:
    """A GA body rtconfig accepts without a word is accepted by the official schema."""
    assert check_body(GA, body) == []
    assert official_errors(GA, body) == []


BETA_TRANSCRIPTION_BODIES: list[dict[str, Any]] = [
    {},
    {"input_audio_format": "g711_ulaw"},
    {"input_audio_format": "pcm16", "include": ["item.input_audio_transcription.logprobs"]},
    {"input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": ""}},
    {"input_audio_transcription": {"model": "gpt-transcribe", "languages": ["en"],
                                   "keywords": ["Realtime"]}},
    {"input_audio_transcription": {"model": "gpt-realtime-whisper", "delay": "high"},
     "turn_detection": None},
    {"turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                        "silence_duration_ms": 200}},
    {"turn_detection": {"threshold": 0.1}},
    {"input_audio_noise_reduction": None},
    {"input_audio_noise_reduction": {"type": "far_field"}},
    # openai-python's extras: unknown to the spec, which does not forbid unknown keys.
    {"client_secret": {"expires_at": {"anchor": "created_at", "seconds": 60}},
     "modalities": ["text"]},
]  # fmt: skip


@pytest.mark.parametrize("body", BETA_TRANSCRIPTION_BODIES)
def test_valid_beta_transcription_bodies_pass_rtconfig_and_the_spec(body: dict[str, Any]) -> None:
    """Beta transcription bodies pass rtconfig and, except a null the spec forgot, the spec."""
    assert check_body(TRANSCRIPTION, body) == []
    if body.get("turn_detection", {}) is None:
        # "Can be set to `null` to turn off" says the description; the schema forgot (§4.14).
        assert official_errors(TRANSCRIPTION, body) == ["None is not of type 'object'"]
    else:
        assert official_errors(TRANSCRIPTION, body) == []


BETA_SESSION_BODIES: list[dict[str, Any]] = [
    {},
    {"model": "gpt-realtime", "modalities": ["audio", "text"],
     "instructions": "You are a friendly assistant."},
    {"client_secret": {"expires_after": {"anchor": "created_at", "seconds": 600}}},
    {"voice": "verse", "speed": 1.5, "temperature": 0.6},
    {"voice": {"id": "voice_1"}, "input_audio_format": "g711_alaw",
     "output_audio_format": "pcm16"},
    {"input_audio_transcription": {"model": "whisper-1", "language": "en", "prompt": "x"}},
    {"input_audio_transcription": None, "input_audio_noise_reduction": None},
    {"input_audio_noise_reduction": {"type": "near_field"}},
    {"turn_detection": None},
    {"turn_detection": {"type": "semantic_vad", "eagerness": "medium",
                        "interrupt_response": False}},
    {"turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 0,
                        "silence_duration_ms": 800, "create_response": True}},
    {"tools": [FUNCTION], "tool_choice": "lookup_order"},
    {"tool_choice": "auto", "max_response_output_tokens": 200},
    {"max_response_output_tokens": "inf", "tracing": "auto", "truncation": "auto"},
    {"tracing": None, "prompt": None},
    {"tracing": {"workflow_name": "w"}, "prompt": {"id": "pmpt_1", "variables": {"a": "b"}},
     "truncation": {"type": "retention_ratio", "retention_ratio": 0.5}},
]  # fmt: skip


@pytest.mark.parametrize("body", BETA_SESSION_BODIES)
def test_valid_beta_session_bodies_pass_rtconfig_and_the_corrected_spec(
    body: dict[str, Any],
) -> None:
    """Beta session bodies pass rtconfig and the spec's session schema as NOTES corrects it."""
    assert check_body(BETA, body) == []
    assert official_errors(BETA, body) == []


# --- bodies the spec rejects are rejected by rtconfig --------------------------------------------


def _realtime(**fields: Any) -> dict[str, Any]:
    return {"session": {"type": "realtime", **fields}}


def _mcp(**fields: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "s", "server_url": "https://s.example", **fields}


INVALID: list[tuple[Endpoint, dict[str, Any]]] = [
    (GA, {"session": {"type": "voice"}}),  # enum
    (GA, {"session": {"model": "gpt-realtime"}}),  # required type
    (GA, {"session": []}),  # type
    (GA, {"expires_after": {"seconds": 5}}),  # range
    (GA, {"expires_after": {"seconds": 7201}}),  # range
    (GA, {"expires_after": {"seconds": "600"}}),  # type
    (GA, {"expires_after": {"anchor": "now"}}),  # enum
    (GA, _realtime(output_modalities=["video"])),  # enum
    (GA, _realtime(output_modalities="audio")),  # type
    (GA, _realtime(audio={"output": {"speed": 2}})),  # range
    (GA, _realtime(audio={"output": {"speed": 0.1}})),  # range
    (GA, _realtime(audio={"output": {"speed": "fast"}})),  # type
    (GA, _realtime(audio={"output": {"voice": {"id": "v", "name": "x"}}})),  # additionalProps
    (GA, _realtime(audio={"output": {"voice": {}}})),  # required id
    (GA, _realtime(audio={"input": {"format": {"type": "audio/wav"}}})),  # enum
    (GA, _realtime(audio={"input": {"format": {"type": "audio/pcm", "rate": 16000}}})),  # enum
    (GA, _realtime(audio={"input": {"noise_reduction": {"type": "studio"}}})),  # enum
    (GA, _realtime(audio={"input": {"turn_detection": {"type": "push_to_talk"}}})),  # enum
    (GA, _realtime(audio={"input": {"turn_detection": {"type": "server_vad",
                                                       "idle_timeout_ms": 1000}}})),  # range
    (GA, _realtime(audio={"input": {"turn_detection": {"type": "semantic_vad",
                                                       "eagerness": "eager"}}})),  # enum
    (GA, _realtime(audio={"input": {"turn_detection": {"type": "server_vad",
                                                       "create_response": "yes"}}})),  # type
    (GA, _realtime(audio={"input": {"transcription": {"languages": []}}})),  # minItems
    (GA, _realtime(audio={"input": {"transcription": {"delay": "slow"}}})),  # enum
    (GA, _realtime(audio={"input": {"transcription": {"model": 1}}})),  # type
    (GA, _realtime(include=["logprobs"])),  # enum
    (GA, _realtime(tracing="manual")),  # enum
    (GA, _realtime(tracing={"workflow_name": 5})),  # type
    (GA, _realtime(tools=[{"type": "mcp"}])),  # required server_label
    (GA, _realtime(tools=[_mcp(tunnel_id="tunnel_ABC")])),  # pattern
    (GA, _realtime(tools=[_mcp(connector_id="connector_slack")])),  # enum
    (GA, _realtime(tools=[_mcp(allowed_tools={"tool_names": [], "x": 1})])),  # additionalProps
    (GA, _realtime(tools=[_mcp(require_approval={"sometimes": {}})])),  # additionalProps
    (GA, _realtime(tools=[_mcp(allowed_callers=[])])),  # minItems
    (GA, _realtime(tools=[_mcp(allowed_callers=["indirect"])])),  # enum
    (GA, _realtime(tools=[{"type": "code_interpreter"}])),  # enum
    (GA, _realtime(tool_choice="any")),  # enum
    (GA, _realtime(tool_choice={"type": "function"})),  # required name
    (GA, _realtime(reasoning={"effort": "max"})),  # enum
    (GA, _realtime(max_output_tokens="unlimited")),  # enum
    (GA, _realtime(max_output_tokens=1.5)),  # type
    (GA, _realtime(truncation="smart")),  # enum
    (GA, _realtime(truncation={"type": "retention_ratio", "retention_ratio": 1.5})),  # range
    (GA, _realtime(truncation={"type": "retention_ratio", "retention_ratio": 0.5,
                               "token_limits": {"post_instructions": -1}})),  # range
    (GA, _realtime(prompt={"version": "1"})),  # required id
    (GA, _realtime(prompt={"id": "p", "variables": {"v": {"type": "input_image"}}})),  # required
    (GA, _realtime(parallel_tool_calls="true")),  # type
    (GA, _realtime(instructions=42)),  # type
    (GA, {"session": {"type": "transcription", "include": ["x"]}}),  # enum
    (GA, {"session": {"type": "transcription",
                      "audio": {"input": {"turn_detection": {"type": "semantic_vad",
                                                             "eagerness": 1}}}}}),  # type
    (TRANSCRIPTION, {"input_audio_format": "mp3"}),  # enum
    (TRANSCRIPTION, {"turn_detection": {"type": "semantic_vad"}}),  # enum
    (TRANSCRIPTION, {"turn_detection": {"threshold": "high"}}),  # type
    (TRANSCRIPTION, {"input_audio_noise_reduction": {"type": "x"}}),  # enum
    (TRANSCRIPTION, {"include": ["x"]}),  # enum
    (TRANSCRIPTION, {"input_audio_transcription": {"languages": []}}),  # minItems
    (BETA, {"speed": 3}),  # range
    (BETA, {"modalities": ["video"]}),  # enum
    (BETA, {"tools": [{"type": "mcp"}]}),  # enum
    (BETA, {"max_response_output_tokens": "lots"}),  # enum
    (BETA, {"voice": {"id": "v", "x": 1}}),  # additionalProps
    (BETA, {"truncation": {"type": "retention_ratio"}}),  # required ratio
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "body"), INVALID)
def test_spec_invalid_bodies_are_rejected(endpoint: Endpoint, body: dict[str, Any]) -> None:
    """A body the official schema rejects is also an error for rtconfig."""
    assert official_errors(endpoint, body), "the case must be invalid per the spec"
    assert rtconfig_errors(endpoint, body)


# --- documented defaults are values the spec accepts ---------------------------------------


def _expand(node: Any) -> list[Any]:
    """A schema's alternatives: ``$ref`` followed and ``anyOf``/``oneOf`` flattened."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        return _expand(SCHEMAS[node["$ref"].rsplit("/", 1)[-1]])
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return [leaf for branch in branches for leaf in _expand(branch)]
    return [node]


def field_schemas(root: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    """Every schema the spec gives the field at ``path`` (one per union branch that has it)."""
    nodes: list[Any] = [root]
    for key in path:
        nodes = [
            alternative["properties"][key]
            for node in nodes
            for alternative in _expand(node)
            if key in alternative.get("properties", {})
        ]
    return nodes


def _session_schema(endpoint: Endpoint, session_type: str | None) -> dict[str, Any]:
    if endpoint is GA:
        name = "RealtimeSessionCreateRequestGA"
        if session_type == "transcription":
            name = "RealtimeTranscriptionSessionCreateRequestGA"
        return SCHEMAS[name]
    return OFFICIAL[endpoint]


def _field_root(endpoint: Endpoint, session_type: str | None, path: tuple[str, ...]) -> Any:
    """The schema holding a template path: the lifetime lives outside the session object."""
    if path[0] != "expires_after":
        return _session_schema(endpoint, session_type), path
    if endpoint is GA:
        return OFFICIAL[GA], path
    lifetime = endpoint.lifetime_path  # ("client_secret", "expires_after" | "expires_at")
    return OFFICIAL[endpoint], (*lifetime, *path[1:])


@pytest.mark.parametrize("key", sorted(SPEC_DEFAULTS, key=str), ids=str)
def test_every_spec_default_is_valid_for_its_field(key: tuple[Endpoint, str | None]) -> None:
    """Each documented default validates against its field's schema in the spec."""
    endpoint, session_type = key
    for path, value in SPEC_DEFAULTS[key].items():
        root, spec_path = _field_root(endpoint, session_type, path)
        candidates = field_schemas(root, spec_path)
        assert candidates, f"{path} is not a field of the spec"
        assert any(
            jsonschema.Draft202012Validator(_document(candidate)).is_valid(value)
            for candidate in candidates
        ), f"{path} = {value!r} is not valid per the spec"


@pytest.mark.parametrize("key", sorted(SPEC_DEFAULTS, key=str), ids=str)
def test_a_template_of_all_defaults_is_a_valid_body(key: tuple[Endpoint, str | None]) -> None:
    """All defaults of one endpoint together form a body both the spec and rtconfig accept."""
    endpoint, session_type = key
    fields: dict[str, Any] = {}
    if endpoint is GA:
        fields["type"] = session_type or "realtime"
    for path, value in SPEC_DEFAULTS[key].items():
        node = fields
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    detection = fields.get("audio", {}).get("input", {}).get("turn_detection")
    if detection is not None:  # server VAD defaults and semantic VAD's eagerness cannot mix
        detection.pop("eagerness")
        detection["type"] = "server_vad"
    body = body_from_template(endpoint, fields)
    assert check_body(endpoint, body) == []
    assert official_errors(endpoint, body) == []
