"""The process environment, read here and only here.

Every stage that depends on environment variables (``RTCONFIG__…`` overrides, ``OPENAI_BASE_URL``,
the API key named by ``[api].api_key_env``, ``RTCONFIG_ACTOR``, ``RTCONFIG_TODAY``) takes them as
an ``environ`` mapping. Library entry points default to :func:`process_environ` when none is
given; the CLI passes it explicitly. Tests (and deployment scripts) pass their own mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["process_environ", "set_process_default"]


def process_environ() -> Mapping[str, str]:
    """The process's environment variables (``os.environ``, live: later changes are seen)."""
    return os.environ


def set_process_default(name: str, value: str) -> None:
    """Set ``name`` for this process (and its children) unless the user already set it."""
    os.environ.setdefault(name, value)
