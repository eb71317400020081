"""The served templates, resolved and validated once at startup, and how each is sent.

This is the one module of the server that knows the applier's API: a :class:`Target` is a
template ready to mint (``job``, what :class:`~rtconfig.AsyncApplier` takes) or to carry a call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rtconfig._applier import AsyncApplier, MintJob, MintResult
from rtconfig._config import Config
from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig.serve._decide import AuditSink, tracing_problem, with_caller

__all__ = [
    "AsyncApplier",
    "CallOutcome",
    "MintResult",
    "Target",
    "accept_call",
    "create_call",
    "mint",
    "new_applier",
    "prepare_targets",
    "reject_call",
]


@dataclass(frozen=True, slots=True)
class Target:
    """One template as the server sends it."""

    name: str
    env: str | None
    endpoint: Endpoint
    job: MintJob
    trace_caller: bool = False
    line: int | None = None

    @property
    def session(self) -> Mapping[str, Any]:
        """The session object (the GA body's ``session``, or the flat beta body)."""
        session = self.job.body.get("session")
        return session if isinstance(session, Mapping) else self.job.body

    def job_for(self, caller_id: str) -> MintJob:
        """The job to send for ``caller_id`` (the caller in ``tracing.metadata`` if opted in)."""
        if not self.trace_caller:
            return self.job
        body = dict(self.job.body)
        if isinstance(body.get("session"), Mapping):
            body["session"] = with_caller(body["session"], caller_id)
        else:
            body = with_caller(body, caller_id)
        return dataclasses.replace(self.job, body=body)


def new_applier(
    *, environ: Mapping[str, str], concurrency: int, audit: AuditSink, client: Any
) -> AsyncApplier:
    """The applier every route shares (one connection pool for the process)."""
    return AsyncApplier(environ=environ, concurrency=concurrency, audit=audit, client=client)


def prepare_targets(
    config: Config,
    names: Iterable[str],
    env: str | None,
    environ: Mapping[str, str],
    traced: Iterable[str] = (),
) -> dict[str, Target]:
    """Resolve and validate every name for ``env``; :class:`ConfigError` (every problem, with
    file:line) when any is invalid or its API key variable is unset."""
    wanted = list(dict.fromkeys(names))
    check = config.check(envs=[env], templates=wanted, environ=environ)
    check.raise_for_errors()
    traced = set(traced)
    targets: dict[str, Target] = {}
    problems: list[Diagnostic] = []
    for resolved in check.templates:
        target = Target(
            resolved.name,
            env,
            resolved.endpoint,
            MintJob.from_resolved(resolved),
            trace_caller=resolved.name in traced,
            line=resolved.header.line,
        )
        where: dict[str, Any] = {
            "file": config.path,
            "line": target.line,
            "template": resolved.name,
            "env": env,
        }
        if target.trace_caller and (problem := tracing_problem(target.session)):
            problems.append(Diagnostic("error", problem, **where))
        key_env = resolved.settings.api_key_env
        if not environ.get(key_env, "").strip():
            problems.append(
                Diagnostic("error", f"the API key variable {key_env} is not set", **where)
            )
        targets[resolved.name] = target
    if problems:
        raise ConfigError(problems)
    return targets


async def mint(applier: AsyncApplier, target: Target, caller_id: str) -> MintResult:
    """Mint one token for ``caller_id``; never raises for a failed mint."""
    return await applier.mint(target.job_for(caller_id))


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What a carrier request came back with; ``permanent``: retrying cannot help (a 4xx)."""

    ok: bool
    sdp: str | None = None
    call_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    http_status: int | None = None
    request_id: str | None = None

    @property
    def permanent(self) -> bool:
        return (
            self.http_status is not None
            and 400 <= self.http_status < 500
            and (self.http_status not in (408, 409, 429))
        )

    def audit_fields(self) -> dict[str, Any]:
        """For the audit log only: never the SDP."""
        return {
            "ok": self.ok,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "error_type": self.error_type,
            "error_message": self.error_message,
        }


def _outcome(value: Any) -> CallOutcome:
    """The carriers' result (a Call, a result with ``ok``/``error``, or None) as an outcome."""
    if value is None:
        return CallOutcome(True)
    error = getattr(value, "error", None)
    ok = bool(getattr(value, "ok", error is None))
    return CallOutcome(
        ok,
        sdp=getattr(value, "sdp", None),
        call_id=getattr(value, "call_id", None),
        error_type=getattr(error, "type", None) or getattr(error, "kind", None),
        error_message=getattr(error, "message", None),
        http_status=getattr(value, "http_status", None) or getattr(error, "http_status", None),
        request_id=getattr(value, "request_id", None),
    )


async def _carrier(applier: AsyncApplier, method: str, *args: Any) -> CallOutcome:
    call = getattr(applier, method, None)
    if call is None:  # the applier predates the carriers (CONTRACT §10)
        return CallOutcome(False, error_type="not_supported", error_message=f"no {method}")
    try:
        return _outcome(await call(*args))
    except Exception as exc:  # a carrier that raises for a failed request: still an outcome
        return CallOutcome(
            False,
            error_type=type(exc).__name__,
            error_message=str(exc)[:500],
            http_status=getattr(exc, "http_status", None),
        )


async def create_call(
    applier: AsyncApplier, target: Target, caller_id: str, sdp_offer: str
) -> CallOutcome:
    return await _carrier(applier, "create_call", target.job_for(caller_id), sdp_offer)


async def accept_call(applier: AsyncApplier, target: Target, call_id: str) -> CallOutcome:
    return await _carrier(applier, "accept_call", target.job, call_id)


async def reject_call(applier: AsyncApplier, call_id: str, status: int = 603) -> CallOutcome:
    return await _carrier(applier, "reject_call", call_id, status)
