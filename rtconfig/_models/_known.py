"""Known values of the open sets (NOTES §7, §16, §21, §5.1b): any string is valid, others warn.

A light module (no pydantic): the lifecycle table, the emulator and the checks all read it.
"""

__all__ = ["KNOWN_BETA_MODELS", "KNOWN_MODELS", "KNOWN_TRANSCRIPTION_MODELS", "KNOWN_VOICES"]


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
