"""The request bodies of the three endpoints, and their validators (built on first use)."""

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Required

from pydantic import Field, Tag, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

from rtconfig._endpoints import Endpoint
from rtconfig._models._blocks import (
    AudioFormat,
    AudioTranscription,
    BetaAudioFormat,
    BetaSessionTranscription,
    BetaTranscriptionTurnDetection,
    BetaTurnDetection,
    Effort,
    FunctionTool,
    Include,
    MaxTokens,
    Modality,
    ModelName,
    NoiseReduction,
    NoiseReductionGA,
    Prompt,
    Seconds,
    Speed,
    Tool,
    ToolChoice,
    Tracing,
    Truncation,
    TurnDetection,
    Voice,
    _by_type,
    _closed,
    _union,
)
from rtconfig._models._known import KNOWN_BETA_MODELS
from rtconfig._models._translations import TranslationClientSecretCreateRequest

# --------------------------------------------------------------------------------------------
# POST /realtime/client_secrets (GA)


@_closed
class AudioInputGA(TypedDict, total=False):
    """Input audio."""

    format: AudioFormat
    # NOTES §14: the schema forbids null but the description says "can be set to `null` to turn
    # off once on", and responses return it as null: we let users send null.
    transcription: AudioTranscription | None
    noise_reduction: NoiseReductionGA | None  # patched spec: [object, null] (NOTES §1)
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


SESSION_TYPES = ("realtime", "transcription")
SessionGA = Annotated[
    Annotated[RealtimeSessionGA, Tag("~realtime")]
    | Annotated[TranscriptionSessionGA, Tag("~transcription")],
    _union(
        _by_type({"realtime": "~realtime", "transcription": "~transcription"}),
        "a table",
        "type",
        SESSION_TYPES,
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
        Endpoint.TRANSLATIONS: TranslationClientSecretCreateRequest,
    }
)


def request_model(endpoint: Endpoint) -> Any:
    """The ``TypedDict`` describing ``endpoint``'s request body."""
    return _REQUEST_MODELS[endpoint]


@functools.cache
def request_adapter(endpoint: Endpoint) -> TypeAdapter[Any]:
    """The validator of ``endpoint``'s request body, built on first use and then reused."""
    return TypeAdapter(_REQUEST_MODELS[endpoint])
