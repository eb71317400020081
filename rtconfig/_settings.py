"""Connection settings (``[api]``): resolved like templates, consumed only by the applier."""

from __future__ import annotations

from dataclasses import dataclass

from rtconfig._endpoints import Endpoint
from rtconfig._headers import header_value_problem, url_has_credentials

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

    def __post_init__(self) -> None:
        # The library builds Settings directly: the same refusals as [api] in a file, checked
        # first (a credentialed base_url would reach the audit log), never quoting the value.
        if not isinstance(self.base_url, str):
            raise TypeError(
                f"Settings.base_url must be a string, not {type(self.base_url).__name__}"
            )
        if url_has_credentials(self.base_url):
            raise ValueError(
                "Settings.base_url must not carry credentials (user:password@ or a key); the "
                "API key is read from the environment variable named by api_key_env"
            )
        for name in ("organization", "project"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"Settings.{name} must be a string or None")
            problem = header_value_problem(value, f"Settings.{name}")
            if problem:
                raise ValueError(problem)


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
