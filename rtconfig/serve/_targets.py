"""The served templates, planned once at startup, and how each is sent.

This is the one module of the server that knows the applier's API: a :class:`Target` is a
template's :class:`~rtconfig.PlanRecord`, what :class:`~rtconfig.AsyncApplier` mints and what
the carriers send.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rtconfig._apply.engine import AsyncApplier
from rtconfig._apply.results import MintResult
from rtconfig._codes import DiagnosticCode as C
from rtconfig._config import Config
from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._plan.records import PlanRecord, canonical_sha256
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
    """One template as the server sends it: its plan record, made once at startup."""

    record: PlanRecord
    trace_caller: bool = False

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def env(self) -> str | None:
        return self.record.env

    @property
    def endpoint(self) -> Endpoint:
        return self.record.endpoint

    @property
    def line(self) -> int | None:
        return self.record.header.line if self.record.header is not None else None

    @property
    def session(self) -> Mapping[str, Any]:
        """The session object (the GA body's ``session``, or the flat beta body)."""
        return self.record.session or self.record.body

    def record_for(self, caller_id: str) -> PlanRecord:
        """The record to send for ``caller_id``: the reviewed one, or (opted in) a copy whose
        session carries the caller in ``tracing.metadata``, hashed anew."""
        if not self.trace_caller:
            return self.record
        body = dict(self.record.body)
        if isinstance(body.get("session"), Mapping):
            body["session"] = with_caller(body["session"], caller_id)
        else:
            body = with_caller(body, caller_id)
        return dataclasses.replace(
            self.record, body=body, body_sha256=canonical_sha256(body), session_sha256=None
        )


def new_applier(
    *, environ: Mapping[str, str], concurrency: int, audit: AuditSink, transport: Any
) -> AsyncApplier:
    """The applier every route shares (native asyncio, one connection pool per process)."""
    return AsyncApplier(environ=environ, concurrency=concurrency, audit=audit, transport=transport)


def prepare_targets(
    config: Config,
    names: Iterable[str],
    env: str | None,
    environ: Mapping[str, str],
    traced: Iterable[str] = (),
) -> dict[str, Target]:
    """Plan every name for ``env`` (resolved and validated); :class:`ConfigError` (every
    problem, with file:line) when any is invalid or its API key variable is unset."""
    wanted = list(dict.fromkeys(names))
    plan = config.plan(env=env, environ=environ, templates=wanted, compare_lock=False)
    traced = set(traced)
    targets: dict[str, Target] = {}
    problems: list[Diagnostic] = []
    for record in plan.templates:
        target = Target(record, trace_caller=record.name in traced)
        where: dict[str, Any] = {
            "file": config.path,
            "line": target.line,
            "template": record.name,
            "env": env,
        }
        if target.trace_caller and (problem := tracing_problem(target.session)):
            problems.append(Diagnostic("error", problem, code=C.PREFLIGHT_REFUSED, **where))
        key_env = record.settings.api_key_env
        if not environ.get(key_env, "").strip():
            problems.append(
                Diagnostic(
                    "error",
                    f"the API key variable {key_env} is not set",
                    code=C.PREFLIGHT_REFUSED,
                    **where,
                )
            )
        targets[record.name] = target
    if problems:
        raise ConfigError(problems)
    return targets


async def mint(applier: AsyncApplier, target: Target, caller_id: str) -> MintResult:
    """Mint one token for ``caller_id``; never raises for a failed mint."""
    return await applier.mint(target.record_for(caller_id))


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
    return await _carrier(applier, "create_call", target.record_for(caller_id), sdp_offer)


async def accept_call(applier: AsyncApplier, target: Target, call_id: str) -> CallOutcome:
    return await _carrier(applier, "accept_call", target.record, call_id)


async def reject_call(
    applier: AsyncApplier, call_id: str, status: int = 603, target: Target | None = None
) -> CallOutcome:
    """Reject with ``target``'s settings (base URL, key): a reject sends no template."""
    if target is None:
        return await _carrier(applier, "reject_call", call_id, status)
    call = getattr(applier, "reject_call", None)
    if call is None:
        return CallOutcome(False, error_type="not_supported", error_message="no reject_call")
    try:
        return _outcome(await call(call_id, status, record=target.record))
    except Exception as exc:
        return CallOutcome(False, error_type=type(exc).__name__, error_message=str(exc)[:500])
