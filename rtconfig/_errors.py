"""The one exception tree of rtconfig, and the diagnostic it carries.

::

    RtconfigError            raised on purpose; ``exit_code`` says how the CLI exits
    ├── ConfigError          the configuration is invalid: carries every Diagnostic found (exit 1)
    │   └── ConfigFileNotFoundError   the file does not exist (also a FileNotFoundError)
    ├── UsageError           the command line asks for something impossible (exit 2)
    ├── StalePlanError       a saved plan no longer matches its inputs (exit 1)
    ├── MintError            one or more mints failed (exit 3)
    └── WebhookError         a webhook delivery was refused (``reason`` says why: a code)

Library callers catch ``RtconfigError``; only the CLI prints and exits. Any other exception
reaching the CLI is a bug in rtconfig and is reported as one.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from rtconfig._codes import DiagnosticCode
from rtconfig._keys import format_path, label

Severity = Literal["error", "warning"]

__all__ = [
    "KEY_LIKE",
    "TOKEN_LIKE",
    "ConfigError",
    "ConfigFileNotFoundError",
    "Diagnostic",
    "DiagnosticCode",
    "MintError",
    "RtconfigError",
    "Severity",
    "StalePlanError",
    "UsageError",
    "WebhookError",
    "format_path",
    "redact_key_like",
]

# Anything that looks like an OpenAI key. Refused where it is written, and never echoed.
KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
KEY_REDACTED = "[REDACTED key-like value]"
# A minted client secret (``ek_…``): never a legitimate part of a prompt or a configuration.
TOKEN_LIKE = re.compile(r"\bek_[A-Za-z0-9_-]{16,}")


def redact_key_like(text: str) -> str:
    """``text`` with every key-like run (``sk-…``) cut out: what rtconfig echoes back to people
    (diagnostics, error messages) may quote a value, but never a key."""
    return KEY_LIKE.sub(KEY_REDACTED, text) if "sk-" in text else text


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, located where the user can fix it.

    ``file``/``line``/``col`` point at the key that set the offending value; for values from an
    environment variable ``file`` is the variable's name, for ``--set`` it is ``--set``.
    ``code`` is the stable machine name of the kind of problem: branch on it, never on
    ``message``.
    """

    severity: Severity
    message: str
    code: DiagnosticCode = field(kw_only=True)
    file: str | None = None
    line: int | None = None
    col: int | None = None
    template: str | None = None
    env: str | None = None
    path: str | None = None
    hint: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # A diagnostic may quote what it is about (a value, a key, a name); a key is cut out,
        # whichever check wrote the message, so no path prints one (stderr, --json, str(exc)).
        for name in ("message", "file", "template", "env", "path", "hint"):
            text = getattr(self, name)
            if text is not None and "sk-" in text:
                object.__setattr__(self, name, redact_key_like(text))

    def location(self) -> str:
        if self.file is None:
            return "rtconfig"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def __str__(self) -> str:
        parts = [self.location(), self.severity]
        if self.template is not None:
            parts.append(label(self.template, self.env))
        if self.path:
            parts.append(self.path)
        text = ": ".join(parts) + ": " + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code.value,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "template": self.template,
            "env": self.env,
            "path": self.path,
            "message": self.message if not self.hint else f"{self.message} ({self.hint})",
        }


class RtconfigError(Exception):
    """Base of every error rtconfig raises on purpose."""

    exit_code: int = 1


class ConfigError(RtconfigError):
    """The configuration cannot be loaded, resolved or validated; ``diagnostics`` says why."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @classmethod
    def single(cls, message: str, *, code: DiagnosticCode, **where: Any) -> ConfigError:
        return cls([Diagnostic("error", message, code=code, **where)])


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """The configuration file does not exist. A :class:`ConfigError` (one diagnostic, exit 1)
    that is also a :class:`FileNotFoundError`, so ``except FileNotFoundError`` catches it too."""

    def __init__(self, file: str, message: str = "no such file") -> None:
        code = DiagnosticCode.FILE_NOT_FOUND
        super().__init__([Diagnostic("error", message, code=code, file=file)])
        self.errno = errno.ENOENT
        self.strerror = "No such file or directory"
        self.filename = file

    def __str__(self) -> str:
        return str(self.diagnostics[0])


class UsageError(RtconfigError):
    """The command line asks for something that cannot be done."""

    exit_code = 2


class StalePlanError(RtconfigError):
    """A saved plan's inputs have changed since it was made."""


class MintError(RtconfigError):
    """At least one mint failed."""

    exit_code = 3


class WebhookError(RtconfigError):
    """A webhook delivery was refused. ``reason`` is a stable code: ``missing_header``,
    ``bad_timestamp``, ``stale_timestamp``, ``future_timestamp``, ``bad_signature``,
    ``replayed``, ``too_large``, ``malformed`` or ``invalid_secret`` (the verifier's own
    secret is unusable). The message never quotes the secret or a signature."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)
