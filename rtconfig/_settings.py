"""Connection settings (``[api]``): resolved like templates, consumed only by the applier."""

from __future__ import annotations

from dataclasses import dataclass

from rtconfig._endpoints import Endpoint

__all__ = ["DEFAULT_BASE_URL", "SETTING_KEYS", "Settings"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class Settings:
    """How to reach the API. ``api_key_env`` is the *name* of the variable holding the key."""

    endpoint: Endpoint = Endpoint.SESSIONS
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"
    organization: str | None = None
    project: str | None = None
    timeout_s: float = 30.0
    max_retries: int = 2
    concurrency: int = 8


# key -> (accepted python types, human type name); bool is excluded from the numeric ones.
SETTING_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "endpoint": ((str,), "one of " + ", ".join(repr(e.value) for e in Endpoint)),
    "base_url": ((str,), "a URL string"),
    "api_key_env": ((str,), "an environment variable name"),
    "organization": ((str,), "a string"),
    "project": ((str,), "a string"),
    "timeout_s": ((int, float), "a positive number of seconds"),
    "max_retries": ((int,), "an integer from 0 to 10"),
    "concurrency": ((int,), "an integer from 1 to 256"),
}
