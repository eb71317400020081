"""Building blocks of the request models: strict tables, our unions, and the shared fields.

See the package docstring for how the models are written.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal, Required, TypeVar

from pydantic import BeforeValidator, ConfigDict, Discriminator, Field, Tag, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

from rtconfig._models._known import KNOWN_MODELS, KNOWN_TRANSCRIPTION_MODELS, KNOWN_VOICES
from rtconfig._pickers import by_shape, by_type, strict_int

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


# Union branch tags start with "~" so that checks.py can drop them from error locations. The
# pickers live in rtconfig._pickers so that a validator rebuilt from a cached core schema can name
# them without importing the models.
_by_shape = by_shape
_by_type = by_type
_strict_int = strict_int


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
class NoiseReductionGA(TypedDict, total=False):
    """Input audio noise reduction of GA sessions; null turns it off."""

    type: Literal["near_field", "far_field"]
    # New in openai-python 3.57.0 (NOTES §8), absent from the trimmed spec. The SDK types it as
    # a plain float and states no range, so none is enforced here.
    strength: Annotated[
        float,
        Field(
            description="Suppression strength: higher values suppress more (1 when first enabled)."
        ),
    ]


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
class PromptCacheBreakpoint(TypedDict, total=False):
    """Marks the end of a reusable prompt prefix."""

    mode: Required[Literal["explicit"]]
    # New in openai-python 3.57.0 (NOTES §8): the breakpoint's minimum lifetime; the request's
    # TTL when left out.
    ttl: Literal["30m", "12h"]


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
