"""``POST /realtime/translations/client_secrets``: the GA translation session (NOTES §9).

A translation session listens in one language and speaks another: ``model`` is required, the
input may be denoised and transcribed, and ``audio.output.language`` is the language spoken
back. The body wraps the session like ``realtime/client_secrets``: ``{expires_after, session}``.
Facts from NOTES §9 only (the trimmed spec has no schema for this endpoint): the model and the
output language are open strings, and no default is documented.
"""

from typing import Annotated, Literal, Required

from pydantic import Field
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

from rtconfig._models._blocks import NoiseReductionGA, Seconds, TranscriptionModelName, _closed

__all__ = ["TranslationClientSecretCreateRequest", "TranslationSession"]


@_closed
class TranslationTranscription(TypedDict, total=False):
    """Transcription of the input audio (the words heard, before translation)."""

    model: Required[TranscriptionModelName]


@_closed
class TranslationAudioInput(TypedDict, total=False):
    """Input audio of a translation session; null turns a feature off."""

    noise_reduction: NoiseReductionGA | None
    transcription: TranslationTranscription | None


@_closed
class TranslationAudioOutput(TypedDict, total=False):
    """Output audio of a translation session."""

    language: Annotated[
        str, Field(min_length=1, max_length=64, description="The language to speak, e.g. 'es'.")
    ]


@_closed
class TranslationAudio(TypedDict, total=False):
    """Audio of a translation session."""

    input: TranslationAudioInput
    output: TranslationAudioOutput


@_closed
class TranslationSession(TypedDict, total=False):
    """A GA translation session."""

    model: Required[
        Annotated[str, Field(min_length=1, description="The translation model (required).")]
    ]
    audio: TranslationAudio


@_closed
class TranslationExpiresAfter(TypedDict, total=False):
    """When the client secret expires: ``seconds`` after ``anchor``."""

    anchor: Literal["created_at"]
    seconds: Seconds


@_closed
class TranslationClientSecretCreateRequest(TypedDict, total=False):
    """The body of ``POST /realtime/translations/client_secrets``."""

    expires_after: TranslationExpiresAfter
    session: Required[TranslationSession]
