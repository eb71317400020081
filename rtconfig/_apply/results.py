"""What applying returns: one :class:`MintResult` per record, and the run's :class:`ApplyReport`.

A failed mint is a *result*, never an exception: ``MintResult.ok`` is False and ``error`` says
why, with a :class:`FailureKind` a program can branch on. Pure values; no httpx here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._errors import MintError
from rtconfig._keys import label

__all__ = ["ApplyReport", "FailureKind", "MintFailure", "MintResult", "MintSuccess"]


class FailureKind(StrEnum):
    """Why a mint failed, in rtconfig's words (``MintFailure.type`` adds the server's own)."""

    MISSING_API_KEY = "missing_api_key"  # the key's variable is not set: nothing sent
    INSECURE_URL = "insecure_url"  # base_url refused (plain http, a proxy, a bad URL)
    INVALID_HEADER = "invalid_header"  # a key, organization or project that is no header value
    CONNECTION_ERROR = "connection_error"  # could not connect, or the connection broke
    TIMEOUT = "timeout"
    HTTP_ERROR = "http_error"  # the server answered 4xx/5xx
    REDIRECT = "redirect"  # 3xx: never followed (the key would go with it)
    INVALID_RESPONSE = "invalid_response"  # 2xx without a token, not JSON, or too large
    CANCELLED = "cancelled"  # not attempted: the run was stopped


#: Kinds that mean nothing was sent for the record.
NOT_SENT = frozenset(
    {
        FailureKind.MISSING_API_KEY,
        FailureKind.INSECURE_URL,
        FailureKind.INVALID_HEADER,
        FailureKind.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class MintFailure:
    """Why a mint failed. ``type`` is OpenAI's ``error.type`` when the server gave one, else the
    kind's value. ``path``/``file``/``line`` are set when the server's ``error.param`` named a
    field traced back to the line of ``sessions.toml`` (or variable, or ``--set``) that set it.
    """

    kind: FailureKind
    message: str
    http_status: int | None = None
    type: str = ""
    code: str | None = None
    param: str | None = None
    path: str | None = None
    location: str | None = None
    file: str | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FailureKind):
            object.__setattr__(self, "kind", FailureKind(self.kind))
        if not self.type:
            object.__setattr__(self, "type", self.kind.value)

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.location, self.path) if part)
        status = f"HTTP {self.http_status} " if self.http_status is not None else ""
        text = f"{self.message} ({status}{self.type})"
        return f"{where}: {text}" if where else text

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "kind": self.kind.value,
            "message": self.message,
            "http_status": self.http_status,
            "code": self.code,
            "param": self.param,
            "path": self.path,
            "location": self.location,
            "file": self.file,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class MintResult:
    """The outcome of one mint. ``client_secret`` is the ephemeral token (hidden from repr)."""

    template: str
    env: str | None
    endpoint: Endpoint
    ok: bool
    client_secret: str | None = field(default=None, repr=False)
    expires_at: int | None = None
    session_id: str | None = None
    response: Mapping[str, Any] | None = field(default=None, repr=False)
    error: MintFailure | None = None
    attempts: int = 0
    http_status: int | None = None
    request_id: str | None = None
    latency_ms: float | None = None

    @property
    def label(self) -> str:
        return label(self.template, self.env)

    def to_json(self, *, sensitive: bool = True) -> dict[str, Any]:
        """The contract's result object (§5): the token once, as ``client_secret`` (the copy
        the API echoes inside ``response`` is ``"(sensitive)"``). With ``sensitive=False`` the
        token is ``"(sensitive)"`` too (stdout when ``--output`` holds the tokens, §13)."""
        secret = self.client_secret
        response = _hide(self.response, secret) if self.response is not None else None
        if not sensitive and secret is not None:
            secret = "(sensitive)"
        return {
            "template": self.template,
            "env": self.env,
            "endpoint": self.endpoint.value,
            "ok": self.ok,
            "client_secret": secret,
            "expires_at": self.expires_at,
            "session_id": self.session_id,
            "response": response,
            "error": self.error.to_json() if self.error is not None else None,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "latency_ms": self.latency_ms,
        }

    def raise_for_error(self) -> MintSuccess:
        """Return the result as a :class:`MintSuccess` when minted (``client_secret`` is then a
        ``str`` for the type checker), else raise :class:`MintError` describing the failure."""
        if not self.ok:
            raise MintError(f"{self.label}: {self.error}")
        if isinstance(self, MintSuccess):
            return self
        if self.client_secret is None:
            raise MintError(f"{self.label}: marked ok but carries no client_secret")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return MintSuccess(**values)


@dataclass(frozen=True)
class MintSuccess(MintResult):
    """A result that minted: ``ok`` is True and ``client_secret`` is the token, a ``str``.

    The engines return this class for every success, so ``isinstance(result, MintSuccess)``
    (or :meth:`MintResult.raise_for_error`) narrows ``client_secret`` for the type checker.
    """

    client_secret: str = field(default="", repr=False)


def _hide(value: Any, secret: str | None) -> Any:
    if isinstance(value, dict):
        return {k: _hide(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v, secret) for v in value]
    if isinstance(value, str) and secret and secret in value:
        return "(sensitive)"
    return value


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """Everything ``rtconfig apply`` reports, as data: the results in the plan's order, and
    what went wrong around them. ``exit_code`` is the CLI's (0, 3, or 128 + signal)."""

    run_id: str
    results: tuple[MintResult, ...]
    audit_log: str | None = None
    audit_error: BaseException | None = None
    output: str | None = None
    output_error: OSError | None = None
    signal: int | None = None
    emulated: bool = False

    @property
    def ok(self) -> bool:
        """Every mint succeeded, every audit record and the output were written."""
        return self.exit_code == 0

    @property
    def minted(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return len(self.results) - self.minted

    @property
    def interrupted(self) -> bool:
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        if self.signal is not None:
            return 128 + self.signal
        if self.failed or self.audit_error is not None or self.output_error is not None:
            return 3
        return 0

    def to_json(self, *, sensitive: bool = True) -> dict[str, Any]:
        """The document ``rtconfig apply`` prints (tokens hidden unless ``sensitive``)."""
        return {
            "format_version": 1,
            "run_id": self.run_id,
            "results": [r.to_json(sensitive=sensitive) for r in self.results],
            "emulated": self.emulated,
            "interrupted": self.interrupted,
        }
