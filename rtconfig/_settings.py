"""Connection settings (``[api]``): resolved like templates, consumed only by the applier."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtconfig._endpoints import Endpoint
from rtconfig._headers import header_value_problem, url_has_credentials
from rtconfig._suggest import did_you_mean

if TYPE_CHECKING:
    from rtconfig._sources import Sources

__all__ = [
    "DEFAULT_BASE_URL",
    "SETTING_KEYS",
    "Settings",
    "check_setting",
    "endpoint_unreliable",
    "type_name",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True, slots=True)
class Settings:
    """How to reach the API. ``api_key_env`` is the *name* of the variable holding the key."""

    endpoint: Endpoint = Endpoint.CLIENT_SECRETS  # v1 defaulted to the beta realtime/sessions
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


def endpoint_unreliable(sources: Sources, env: str | None) -> bool:
    """Whether the ``[api]`` endpoint in force for ``env`` is unknown because the file got it
    wrong: an invalid ``endpoint`` value, or an unknown setting that is a misspelt
    ``endpoint``. Templates would otherwise be checked against the default and each report
    a cascade of follow-on errors; the setting's own diagnostic is the one that matters."""
    environment = sources.environments.get(env) if env else None
    tables = [sources.api, environment.api if environment is not None else {}]
    if environment is not None and "endpoint" in environment.api:
        tables = [environment.api]
    for table in tables:
        if "endpoint" in table and check_setting("endpoint", table["endpoint"]) is not None:
            return True
        if "endpoint" not in table and any(
            key not in SETTING_KEYS and difflib.get_close_matches(key, ["endpoint"], 1, 0.7)
            for key in table
        ):
            return True
    return False


def check_setting(key: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for setting ``key``, or None."""
    types, expected = SETTING_KEYS[key]
    if isinstance(value, bool) or not isinstance(value, types):
        return f"must be {expected} (got {type_name(value)})"
    return _check_setting_value(key, value, expected)


def _check_setting_value(key: str, value: Any, expected: str) -> str | None:
    if key == "base_url" and url_has_credentials(value):
        # First, before any message that quotes the URL. Not echoed: OPENAI_BASE_URL and
        # --base-url are checked here too, and the URL is recorded in audit logs and saved plans.
        return (
            "must not carry credentials (user:password@ or a key): the API key is read from "
            "the environment variable named by [api] api_key_env"
        )
    if key in ("organization", "project"):
        return header_value_problem(value, f"the {key} (sent as a header)")
    if key == "endpoint" and value not in Endpoint._value2member_map_:
        return f"must be {expected} (got {value!r})" + did_you_mean(
            value, [e.value for e in Endpoint]
        )
    if key == "base_url" and not re.match(r"https?://[^/\s]+", value):
        return f"must be an http(s) URL such as 'https://api.openai.com/v1' (got {value!r})"
    if key == "timeout_s" and not 0 < value <= 600:
        return f"must be between 0 and 600 seconds (got {value!r})"
    if key == "max_retries" and not 0 <= value <= 10:
        return f"must be from 0 to 10 (got {value!r})"
    if key == "concurrency" and not 1 <= value <= 256:
        return f"must be from 1 to 256 (got {value!r})"
    if key == "api_key_env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return f"must be the NAME of an environment variable, like OPENAI_API_KEY (got {value!r})"
    return None


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
