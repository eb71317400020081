"""Request-body models of the three endpoints, the spec's documented defaults, and template schemas.

The models are ``TypedDict``\\ s validated by pydantic (``extra="forbid"`` and ``strict`` at every
depth) rather than ``BaseModel``\\ s: a request body is validated as a dict and sent as is, and a
``TypedDict`` says exactly what the API accepts in all three states a key can be in. A key left
out is *unset*; a key typed ``X | None`` may be sent as an explicit JSON ``null``; any other key
rejects ``null``. Validators are built on first use, one per endpoint, so importing this
module costs little more than importing pydantic.

Facts come from ``shared/spec/NOTES.md`` (cited as "NOTES §n") and the trimmed OpenAPI spec.
Where the spec contradicts itself the comment on the field says which way we went and why.
"""

import copy
import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal, Required, TypeVar

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    with_config,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

from rtconfig._endpoints import Endpoint

__all__ = [
    "KNOWN_BETA_MODELS",
    "KNOWN_MODELS",
    "KNOWN_TRANSCRIPTION_MODELS",
    "KNOWN_VOICES",
    "SPEC_DEFAULTS",
    "UNION_ERRORS",
    "ClientSecretCreateRequest",
    "RealtimeSessionGA",
    "SessionCreateRequest",
    "TranscriptionSessionCreateRequest",
    "TranscriptionSessionGA",
    "UnionError",
    "defaults_for",
    "request_adapter",
    "request_model",
    "template_json_schema",
]

TemplatePath = tuple[str, ...]

# --------------------------------------------------------------------------------------------
# Known values of the open sets (NOTES §7, §16, §21, §5.1b). Any string is valid; others warn.

KNOWN_MODELS: frozenset[str] = frozenset(
    {
        "gpt-realtime",
        "gpt-realtime-1.5",
        "gpt-realtime-2",
        "gpt-realtime-2.1",
        "gpt-realtime-2.1-mini",
        "gpt-realtime-2025-08-28",
        "gpt-4o-realtime-preview",
        "gpt-4o-realtime-preview-2024-10-01",
        "gpt-4o-realtime-preview-2024-12-17",
        "gpt-4o-realtime-preview-2025-06-03",
        "gpt-4o-mini-realtime-preview",
        "gpt-4o-mini-realtime-preview-2024-12-17",
        "gpt-realtime-mini",
        "gpt-realtime-mini-2025-10-06",
        "gpt-realtime-mini-2025-12-15",
        "gpt-audio-1.5",
        "gpt-audio-mini",
        "gpt-audio-mini-2025-10-06",
        "gpt-audio-mini-2025-12-15",
    }
)
"""Realtime models the GA spec lists for ``session.model``."""

KNOWN_BETA_MODELS: frozenset[str] = frozenset(
    {
        "gpt-realtime",
        "gpt-realtime-2025-08-28",
        "gpt-4o-realtime-preview",
        "gpt-4o-realtime-preview-2024-10-01",
        "gpt-4o-realtime-preview-2024-12-17",
        "gpt-4o-realtime-preview-2025-06-03",
        "gpt-4o-mini-realtime-preview",
        "gpt-4o-mini-realtime-preview-2024-12-17",
    }
)
"""Models openai-python lists for the beta ``/realtime/sessions`` (the spec lists none there)."""

KNOWN_VOICES: frozenset[str] = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
)
"""Built-in voices (``VoiceIdsShared``); a custom voice is written ``{id = "voice_…"}``."""

KNOWN_TRANSCRIPTION_MODELS: frozenset[str] = frozenset(
    {
        "whisper-1",
        "gpt-transcribe",
        "gpt-live-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe",
        "gpt-4o-transcribe-diarize",
        "gpt-realtime-whisper",
    }
)
"""Transcription models the spec lists for ``AudioTranscription.model``."""

# --------------------------------------------------------------------------------------------
# Building blocks

_T = TypeVar("_T", bound=type)
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _closed(cls: _T) -> _T:
    """Reject unknown keys and coercions (``"1"`` → 1, ``1.0`` → ``1``) in this table."""
    return with_config(_STRICT)(cls)


@dataclass(frozen=True, slots=True)
class UnionError:
    """What one of our unions accepts, for the error it raises when a value fits no branch.

    ``expected`` is written for people; a union chosen by a key of a table also names the
    ``key`` and its ``allowed`` values.
    """

    expected: str
    key: str = ""
    allowed: tuple[str, ...] = ()


_UNION_ERRORS: dict[str, UnionError] = {}
UNION_ERRORS: Mapping[str, UnionError] = MappingProxyType(_UNION_ERRORS)
"""Our unions' pydantic error types (``rtconfig_union_<n>``) and what each accepts."""


def _union(
    pick: Callable[[Any], Hashable], expected: str, key: str = "", allowed: tuple[str, ...] = ()
) -> Discriminator:
    """A callable discriminator: the union reports one error about the branch the user meant."""
    # The details live in a registry, not in the error's context: Annotated metadata must be
    # hashable for `X | None`, and a context dict is not.
    error_type = f"rtconfig_union_{len(_UNION_ERRORS)}"
    _UNION_ERRORS[error_type] = UnionError(expected, key, allowed)
    return Discriminator(
        pick, custom_error_type=error_type, custom_error_message=f"must be {expected}"
    )


# Union branch tags start with "~" so that checks.py can drop them from error locations.
def _by_shape(**tags: str) -> Callable[[Any], str | None]:
    """Pick a branch by the JSON kind of the value: ``str``, ``int``, ``list`` or ``dict``."""
    kinds = {"str": str, "int": int, "list": list, "dict": dict}
    table = [(kinds[name], tag) for name, tag in tags.items()]

    def pick(value: Any) -> str | None:
        if isinstance(value, bool):  # bool is an int to Python, never to JSON
            return None
        for kind, tag in table:
            if isinstance(value, kind):
                return tag
        return None

    return pick


def _by_type(
    tags: Mapping[str, str], default: str | None = None, **shapes: str
) -> Callable[[Any], str | None]:
    """Pick a branch of a table by its ``type`` key (``default`` when it has none)."""
    by_shape = _by_shape(**shapes) if shapes else None

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            kind = value.get("type", _ABSENT)
            if kind is _ABSENT:
                return default
            return tags.get(kind) if isinstance(kind, str) else None
        return by_shape(value) if by_shape is not None else None

    return pick


_ABSENT = object()


def _strict_int(value: Any) -> Any:
    # Literal[24000] alone would accept 24000.0 (equality), but the spec says integer.
    if type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


Modality = Literal["text", "audio"]
BetaAudioFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
Include = Literal["item.input_audio_transcription.logprobs"]
Effort = Literal["minimal", "low", "medium", "high", "xhigh"]
Seconds = Annotated[
    int,
    Field(
        ge=10,
        le=7200,
        description="Seconds from the anchor until the client secret expires (10 to 7200).",
    ),
]
Speed = Annotated[
    float,
    Field(
        ge=0.25,
        le=1.5,
        description="Speed of the spoken response: 0.25 to 1.5, 1.0 is normal speed.",
    ),
]
ModelName = Annotated[
    str,
    Field(
        description="The Realtime model used for this session.",
        examples=sorted(KNOWN_MODELS),
    ),
]
TranscriptionModelName = Annotated[
    str,
    Field(
        description="The model to use for transcription.",
        examples=sorted(KNOWN_TRANSCRIPTION_MODELS),
    ),
]
# The integer branch's 1..4096 range is stated only in the description (NOTES §28).
MaxTokens = Annotated[
    Annotated[Annotated[int, Field(ge=1, le=4096)], Tag("~int")]
    | Annotated[Literal["inf"], Tag("~inf")],
    _union(_by_shape(int="~int", str="~inf"), "an integer from 1 to 4096 or 'inf'"),
    Field(description="Maximum output tokens for one response: 1 to 4096, or 'inf'."),
]
VadThreshold = Annotated[
    float, Field(ge=0, le=1, description="Activation threshold for VAD, 0.0 to 1.0.")
]
Milliseconds = Annotated[int, Field(ge=0)]


@_closed
class NoiseReduction(TypedDict, total=False):
    """Input audio noise reduction; null turns it off."""

    type: Literal["near_field", "far_field"]


@_closed
class AudioTranscription(TypedDict, total=False):
    """Input audio transcription (``AudioTranscription``)."""

    model: TranscriptionModelName
    language: Annotated[str, Field(description="Input language, ISO-639-1 (e.g. 'en').")]
    languages: Annotated[list[str], Field(min_length=1)]
    keywords: list[str]
    prompt: str
    delay: Effort


@_closed
class BetaSessionTranscription(TypedDict, total=False):
    """Input audio transcription of a beta session (openai-python ``InputAudioTranscription``)."""

    model: TranscriptionModelName
    language: str
    prompt: str


# ---- audio formats (GA): no variant of the spec requires `type`, so `{}` would match all three;
# we require it so that a format always says what it is (NOTES §15).


@_closed
class PcmFormat(TypedDict, total=False):
    """16-bit PCM at 24 kHz."""

    type: Required[Literal["audio/pcm"]]
    rate: Annotated[Literal[24000], BeforeValidator(_strict_int)]


@_closed
class PcmuFormat(TypedDict, total=False):
    """G.711 μ-law."""

    type: Required[Literal["audio/pcmu"]]


@_closed
class PcmaFormat(TypedDict, total=False):
    """G.711 A-law."""

    type: Required[Literal["audio/pcma"]]


_FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
AudioFormat = Annotated[
    Annotated[PcmFormat, Tag("~audio/pcm")]
    | Annotated[PcmuFormat, Tag("~audio/pcmu")]
    | Annotated[PcmaFormat, Tag("~audio/pcma")],
    _union(_by_type({t: "~" + t for t in _FORMATS}), "a table", "type", _FORMATS),
]

# ---- turn detection


@_closed
class ServerVad(TypedDict, total=False):
    """Server VAD: speech starts and stops by audio volume."""

    type: Required[Literal["server_vad"]]
    threshold: VadThreshold
    prefix_padding_ms: Annotated[
        Milliseconds, Field(description="Audio kept before detected speech, in ms.")
    ]
    silence_duration_ms: Annotated[
        Milliseconds, Field(description="Silence that ends a turn, in ms.")
    ]
    create_response: bool
    interrupt_response: bool
    idle_timeout_ms: Annotated[int, Field(ge=5000, le=30000)] | None


@_closed
class SemanticVad(TypedDict, total=False):
    """Semantic VAD: a model decides when the user has finished speaking."""

    type: Required[Literal["semantic_vad"]]
    eagerness: Literal["low", "medium", "high", "auto"]
    create_response: bool
    interrupt_response: bool


_VADS = ("server_vad", "semantic_vad")
TurnDetection = Annotated[
    Annotated[ServerVad, Tag("~server_vad")] | Annotated[SemanticVad, Tag("~semantic_vad")],
    _union(_by_type({t: "~" + t for t in _VADS}), "a table", "type", _VADS),
]


@_closed
class BetaTurnDetection(TypedDict, total=False):
    """Turn detection of a beta session: openai-python's flat shape (the spec's is degraded)."""

    # NOTES §13: the current spec has only type/threshold/padding/silence, but openai-python and
    # the 2025-04 spec also send semantic_vad, eagerness and create/interrupt_response.
    type: Literal["server_vad", "semantic_vad"]
    eagerness: Literal["low", "medium", "high", "auto"]
    threshold: VadThreshold
    prefix_padding_ms: Milliseconds
    silence_duration_ms: Milliseconds
    create_response: bool
    interrupt_response: bool


@_closed
class BetaTranscriptionTurnDetection(TypedDict, total=False):
    """Turn detection of a beta transcription session: server VAD only (NOTES §5.3)."""

    type: Literal["server_vad"]
    threshold: VadThreshold
    prefix_padding_ms: Milliseconds
    silence_duration_ms: Milliseconds


# ---- voice, tracing, truncation, prompt


@_closed
class CustomVoice(TypedDict):
    """A custom voice reference."""

    id: str


Voice = Annotated[
    Annotated[str, Tag("~name")] | Annotated[CustomVoice, Tag("~custom")],
    _union(_by_shape(str="~name", dict="~custom"), "a voice name or a table with an 'id'"),
    Field(
        description="A built-in voice name or {id = '…'} for a custom voice.",
        examples=sorted(KNOWN_VOICES),
    ),
]


@_closed
class TracingConfig(TypedDict, total=False):
    """Granular tracing configuration."""

    workflow_name: str
    group_id: str
    metadata: dict[str, Any]


Tracing = Annotated[
    Annotated[Literal["auto"], Tag("~auto")] | Annotated[TracingConfig, Tag("~config")],
    _union(_by_shape(str="~auto", dict="~config"), "'auto' or a table"),
    Field(description="'auto', a tracing table, or null to disable tracing."),
]


@_closed
class TokenLimits(TypedDict, total=False):
    """Custom token limits of retention-ratio truncation."""

    post_instructions: Annotated[int, Field(ge=0)]


@_closed
class RetentionRatioTruncation(TypedDict, total=False):
    """Keep a fraction of the conversation when it exceeds the input token limit."""

    type: Required[Literal["retention_ratio"]]
    retention_ratio: Required[Annotated[float, Field(ge=0, le=1)]]
    token_limits: TokenLimits


Truncation = Annotated[
    Annotated[Literal["auto", "disabled"], Tag("~mode")]
    | Annotated[RetentionRatioTruncation, Tag("~ratio")],
    _union(_by_shape(str="~mode", dict="~ratio"), "'auto', 'disabled' or a table"),
    Field(description="'auto' (the default), 'disabled', or a retention_ratio table."),
]


@_closed
class PromptCacheBreakpoint(TypedDict):
    """Marks the end of a reusable prompt prefix."""

    mode: Literal["explicit"]


@_closed
class InputTextContent(TypedDict, total=False):
    """A text input."""

    type: Required[Literal["input_text"]]
    text: Required[str]
    prompt_cache_breakpoint: PromptCacheBreakpoint


@_closed
class InputImageContent(TypedDict, total=False):
    """An image input."""

    type: Required[Literal["input_image"]]
    image_url: str | None
    file_id: str | None
    detail: Required[Literal["low", "high", "auto", "original"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


@_closed
class InputFileContent(TypedDict, total=False):
    """A file input."""

    type: Required[Literal["input_file"]]
    file_id: str | None
    filename: str
    file_data: str
    prompt_cache_breakpoint: PromptCacheBreakpoint
    file_url: str
    detail: Literal["auto", "low", "high"]


_INPUTS = ("input_text", "input_image", "input_file")
PromptVariable = Annotated[
    Annotated[str, Tag("~str")]
    | Annotated[InputTextContent, Tag("~input_text")]
    | Annotated[InputImageContent, Tag("~input_image")]
    | Annotated[InputFileContent, Tag("~input_file")],
    _union(
        _by_type({t: "~" + t for t in _INPUTS}, str="~str"), "a string or a table", "type", _INPUTS
    ),
]


@_closed
class Prompt(TypedDict, total=False):
    """A reference to a prompt template and its variables."""

    id: Required[str]
    version: str | None
    variables: dict[str, PromptVariable] | None


# ---- tools


@_closed
class FunctionTool(TypedDict, total=False):
    """A function the model may call."""

    type: Literal["function"]
    name: Annotated[str, Field(description="The function's name: ^[a-zA-Z0-9_-]{1,64}$.")]
    description: str
    parameters: Annotated[dict[str, Any], Field(description="The arguments, as a JSON Schema.")]


@_closed
class MCPToolFilter(TypedDict, total=False):
    """Which MCP tools a rule applies to."""

    tool_names: list[str]
    read_only: bool


@_closed
class MCPApprovalFilter(TypedDict, total=False):
    """Which MCP tools always or never need approval."""

    always: MCPToolFilter
    never: MCPToolFilter


AllowedTools = Annotated[
    Annotated[list[str], Tag("~names")] | Annotated[MCPToolFilter, Tag("~filter")],
    _union(_by_shape(list="~names", dict="~filter"), "an array of tool names or a table"),
]
RequireApproval = Annotated[
    Annotated[Literal["always", "never"], Tag("~mode")]
    | Annotated[MCPApprovalFilter, Tag("~filter")],
    _union(_by_shape(str="~mode", dict="~filter"), "'always', 'never' or a table"),
]
ConnectorId = Literal[
    "connector_dropbox",
    "connector_gmail",
    "connector_googlecalendar",
    "connector_googledrive",
    "connector_microsoftteams",
    "connector_outlookcalendar",
    "connector_outlookemail",
    "connector_sharepoint",
]


@_closed
class MCPTool(TypedDict, total=False):
    """Tools of a remote MCP server; needs one of server_url, connector_id or tunnel_id."""

    type: Required[Literal["mcp"]]
    server_label: Required[str]
    server_url: str
    connector_id: ConnectorId
    tunnel_id: Annotated[str, Field(pattern=r"^tunnel_[a-z0-9]{32}$")]
    authorization: str
    server_description: str
    headers: dict[str, str] | None
    allowed_tools: AllowedTools | None
    allowed_callers: Annotated[list[Literal["direct", "programmatic"]], Field(min_length=1)] | None
    require_approval: RequireApproval | None
    defer_loading: bool


_TOOLS = ("function", "mcp")
# A function tool's `type` is optional in the spec, so a table without one is a function tool.
Tool = Annotated[
    Annotated[FunctionTool, Tag("~function")] | Annotated[MCPTool, Tag("~mcp")],
    _union(
        _by_type({"function": "~function", "mcp": "~mcp"}, default="~function"),
        "a table",
        "type",
        _TOOLS,
    ),
]


@_closed
class ToolChoiceFunction(TypedDict):
    """Force a call of one function tool."""

    type: Literal["function"]
    name: str


@_closed
class ToolChoiceMCP(TypedDict, total=False):
    """Force a call of a tool on one MCP server."""

    type: Required[Literal["mcp"]]
    server_label: Required[str]
    name: str | None


ToolChoice = Annotated[
    Annotated[Literal["none", "auto", "required"], Tag("~mode")]
    | Annotated[ToolChoiceFunction, Tag("~function")]
    | Annotated[ToolChoiceMCP, Tag("~mcp")],
    _union(
        _by_type({"function": "~function", "mcp": "~mcp"}, str="~mode"),
        "'none', 'auto', 'required' or a table",
        "type",
        _TOOLS,
    ),
    Field(description="'auto' (the default), 'none', 'required', or a function/MCP tool."),
]


# --------------------------------------------------------------------------------------------
# POST /realtime/client_secrets (GA)


@_closed
class AudioInputGA(TypedDict, total=False):
    """Input audio."""

    format: AudioFormat
    # NOTES §14: the schema forbids null but the description says "can be set to `null` to turn
    # off once on", and responses return it as null: we let users send null.
    transcription: AudioTranscription | None
    noise_reduction: NoiseReduction | None  # patched spec: [object, null] (NOTES §1)
    turn_detection: Annotated[
        TurnDetection | None, Field(description="Server or semantic VAD; null turns VAD off.")
    ]


@_closed
class AudioOutputGA(TypedDict, total=False):
    """Output audio."""

    format: AudioFormat
    voice: Voice
    speed: Speed


@_closed
class RealtimeAudioGA(TypedDict, total=False):
    """Input and output audio."""

    input: AudioInputGA
    output: AudioOutputGA


@_closed
class Reasoning(TypedDict, total=False):
    """Reasoning of reasoning-capable models such as gpt-realtime-2."""

    effort: Effort


@_closed
class RealtimeSessionGA(TypedDict, total=False):
    """A GA realtime session (``RealtimeSessionCreateRequestGA``)."""

    type: Required[Literal["realtime"]]
    # The description says text and audio cannot both be requested; the schema has no maxItems.
    output_modalities: Annotated[
        list[Modality], Field(max_length=1, description="['audio'] (the default) or ['text'].")
    ]
    model: ModelName
    instructions: Annotated[str, Field(description="The system instructions of the session.")]
    audio: RealtimeAudioGA
    include: list[Include]
    # `nullable: true` is an OAS 3.0 keyword the 3.1 schema ignores; "Set to null to disable".
    tracing: Tracing | None
    tools: list[Tool]
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    reasoning: Reasoning
    max_output_tokens: MaxTokens
    truncation: Truncation
    prompt: Prompt | None


@_closed
class TranscriptionAudioGA(TypedDict, total=False):
    """Input audio of a transcription session."""

    input: AudioInputGA


@_closed
class TranscriptionSessionGA(TypedDict, total=False):
    """A GA transcription session (``RealtimeTranscriptionSessionCreateRequestGA``)."""

    type: Required[Literal["transcription"]]
    audio: TranscriptionAudioGA
    include: list[Include]


@_closed
class ExpiresAfter(TypedDict, total=False):
    """When the client secret expires: ``seconds`` after ``anchor``."""

    anchor: Literal["created_at"]
    seconds: Seconds


_SESSION_TYPES = ("realtime", "transcription")
SessionGA = Annotated[
    Annotated[RealtimeSessionGA, Tag("~realtime")]
    | Annotated[TranscriptionSessionGA, Tag("~transcription")],
    _union(
        _by_type({"realtime": "~realtime", "transcription": "~transcription"}),
        "a table",
        "type",
        _SESSION_TYPES,
    ),
]


@_closed
class ClientSecretCreateRequest(TypedDict, total=False):
    """The body of ``POST /realtime/client_secrets`` (``RealtimeCreateClientSecretRequest``)."""

    expires_after: ExpiresAfter
    session: SessionGA


# --------------------------------------------------------------------------------------------
# POST /realtime/sessions (beta)
#
# The spec's RealtimeSessionCreateRequest is the *response* shape (NOTES §4.1-2): it requires
# `client_secret: {value, expires_at}`, the token the API returns, and lacks `model`. We model
# what openai-python's SessionCreateParams sends instead; `client_secret` only sets the token's
# lifetime and a `value` or `expires_at` in it is an error.


@_closed
class BetaExpiresAfter(TypedDict, total=False):
    """When the ephemeral key expires (``anchor`` is required by openai-python here)."""

    anchor: Required[Literal["created_at"]]
    seconds: Seconds


@_closed
class BetaClientSecret(TypedDict, total=False):
    """Lifetime of the ephemeral key."""

    expires_after: BetaExpiresAfter


@_closed
class SessionCreateRequest(TypedDict, total=False):
    """The body of ``POST /realtime/sessions`` (openai-python ``SessionCreateParams``)."""

    client_secret: BetaClientSecret
    model: Annotated[
        str, Field(description="The Realtime model.", examples=sorted(KNOWN_BETA_MODELS))
    ]
    modalities: Annotated[list[Modality], Field(description="['audio', 'text'] or ['text'].")]
    instructions: Annotated[str, Field(description="The system instructions of the session.")]
    voice: Voice
    speed: Speed
    input_audio_format: BetaAudioFormat
    output_audio_format: BetaAudioFormat
    # NOTES §14: the description says null turns these off though the schema forbids null.
    input_audio_transcription: BetaSessionTranscription | None
    input_audio_noise_reduction: NoiseReduction | None
    turn_detection: Annotated[
        BetaTurnDetection | None, Field(description="Server VAD settings; null turns VAD off.")
    ]
    tools: list[FunctionTool]
    # A plain string: a mode or the name of a function (checks.py checks which).
    tool_choice: Annotated[
        str, Field(description="'auto', 'none', 'required', or a function tool's name.")
    ]
    # The range is stated only in the description: "limited to [0.6, 1.2]".
    temperature: Annotated[
        float, Field(ge=0.6, le=1.2, description="Sampling temperature, 0.6 to 1.2.")
    ]
    max_response_output_tokens: MaxTokens
    tracing: Tracing | None  # NOTES §14: "Set to null to disable tracing"
    truncation: Truncation
    prompt: Prompt | None


# --------------------------------------------------------------------------------------------
# POST /realtime/transcription_sessions (beta)


@_closed
class TranscriptionExpiresAt(TypedDict, total=False):
    """When the ephemeral key expires (openai-python calls this ``expires_at``)."""

    anchor: Literal["created_at"]
    seconds: Seconds


@_closed
class TranscriptionClientSecret(TypedDict, total=False):
    """Lifetime of the ephemeral key."""

    expires_at: TranscriptionExpiresAt


@_closed
class TranscriptionSessionCreateRequest(TypedDict, total=False):
    """The body of ``POST /realtime/transcription_sessions`` (spec + openai-python's extras)."""

    client_secret: TranscriptionClientSecret
    modalities: list[Modality]
    input_audio_format: BetaAudioFormat
    input_audio_transcription: AudioTranscription
    input_audio_noise_reduction: NoiseReduction | None  # patched spec: [object, null]
    # The description says "Can be set to `null` to turn off" (NOTES §14); the schema forgot.
    turn_detection: BetaTranscriptionTurnDetection | None
    include: list[Include]


# --------------------------------------------------------------------------------------------
# Validators

_REQUEST_MODELS: Mapping[Endpoint, Any] = MappingProxyType(
    {
        Endpoint.SESSIONS: SessionCreateRequest,
        Endpoint.CLIENT_SECRETS: ClientSecretCreateRequest,
        Endpoint.TRANSCRIPTION_SESSIONS: TranscriptionSessionCreateRequest,
    }
)


def request_model(endpoint: Endpoint) -> Any:
    """The ``TypedDict`` describing ``endpoint``'s request body."""
    return _REQUEST_MODELS[endpoint]


@functools.cache
def request_adapter(endpoint: Endpoint) -> TypeAdapter[Any]:
    """The validator of ``endpoint``'s request body, built on first use and then reused."""
    return TypeAdapter(_REQUEST_MODELS[endpoint])


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


def defaults_for(endpoint: Endpoint, body: Mapping[str, Any]) -> Mapping[TemplatePath, Any]:
    """The documented defaults that apply to ``body`` (a request body or a template's fields)."""
    if endpoint is not Endpoint.CLIENT_SECRETS:
        return SPEC_DEFAULTS[(endpoint, None)]
    session = body.get("session", body)
    kind = session.get("type") if isinstance(session, Mapping) else None
    key = (endpoint, kind if kind in _SESSION_TYPES else None)
    return SPEC_DEFAULTS[key]


# --------------------------------------------------------------------------------------------
# JSON Schema of templates, for editors


def template_json_schema(endpoint: Endpoint, session_type: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a template's API fields for ``endpoint`` (GA: of ``session_type``).

    Self-contained (no ``$ref``) and partial-friendly: a template may inherit any key, so
    ``required`` is kept only inside array items, which are never merged. Meta-keys such as
    ``extends`` are not included; the caller adds them to ``properties``.
    """
    if endpoint is Endpoint.CLIENT_SECRETS:
        if session_type is None:
            return {"anyOf": [_template_schema(endpoint, t) for t in _SESSION_TYPES]}
        if session_type not in _SESSION_TYPES:
            raise ValueError(f"session_type must be one of {_SESSION_TYPES}, not {session_type!r}")
    elif session_type is not None:
        raise ValueError(f"{endpoint.value} has no session types")
    return _template_schema(endpoint, session_type)


def _template_schema(endpoint: Endpoint, session_type: str | None) -> dict[str, Any]:
    return copy.deepcopy(_cached_template_schema(endpoint, session_type))


@functools.cache
def _cached_template_schema(endpoint: Endpoint, session_type: str | None) -> dict[str, Any]:
    session: Any
    lifetime: Any
    if endpoint is Endpoint.CLIENT_SECRETS:
        session = RealtimeSessionGA if session_type == "realtime" else TranscriptionSessionGA
        lifetime = ExpiresAfter
    elif endpoint is Endpoint.SESSIONS:
        session, lifetime = SessionCreateRequest, BetaExpiresAfter
    else:
        session, lifetime = TranscriptionSessionCreateRequest, TranscriptionExpiresAt
    schema = _editor_schema(TypeAdapter(session).json_schema())
    kind = f"{session_type} session" if session_type else "session"
    schema["description"] = f"A {kind} template for endpoint {endpoint.value}."
    schema["properties"].pop("client_secret", None)  # written as `expires_after` instead
    expires = _editor_schema(TypeAdapter(lifetime).json_schema())
    expires["description"] = "Lifetime of the client secret (moved to where the endpoint wants it)."
    schema["properties"]["expires_after"] = expires
    return schema


def _editor_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline ``$ref``\\ s, drop titles and discriminators, and ``oneOf`` → ``anyOf``."""
    defs = schema.pop("$defs", {})

    def walk(node: Any, in_array: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, in_array) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = dict(defs[node["$ref"].rsplit("/", 1)[-1]])
            target.update((k, v) for k, v in node.items() if k != "$ref")
            return walk(target, in_array)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "discriminator"):
                continue
            if key == "required" and not in_array:
                continue  # a template may inherit the required key from a parent
            if key == "oneOf":
                key = "anyOf"  # editors ignore `discriminator`; partial tables may match both
            if key == "properties":
                out[key] = {name: walk(sub, in_array) for name, sub in value.items()}
            elif key == "description" and isinstance(value, str):
                out[key] = value.replace("``", "`")  # docstrings are reST; editors show Markdown
            elif key in ("examples", "enum", "const", "default"):
                out[key] = value
            else:
                out[key] = walk(value, in_array or key == "items")
        return out

    result: dict[str, Any] = walk(schema, False)
    return result
