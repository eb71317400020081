"""One mint's life, shared by both engines: preflight, the attempt loop's state and decisions
(:class:`Mint`), and the fail-safe audit trail (:class:`Core`). No I/O of its own: the engines
send and wait; this module decides.

A failed mint is a result, never an exception. Audit records are written fail-safe: when the
sink raises (a full disk), no new mint starts — it could not be audited — and every result
already minted is still returned (``audit_error`` says what happened).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from rtconfig._apply.preflight import preflight
from rtconfig._apply.progress import MintRetrying
from rtconfig._apply.request import PreparedRequest, prepare
from rtconfig._apply.responses import MintOutcome, Outcome, Response, classify
from rtconfig._apply.results import FailureKind, MintFailure, MintResult
from rtconfig._apply.retry import SYSTEM_CLOCK, Clock, RetryPolicy, after_failure
from rtconfig._environ import process_environ
from rtconfig._errors import RtconfigError
from rtconfig._plan.records import PlanRecord
from rtconfig._redact import SecretRegistry, scrub_json
from rtconfig.audit import secret_fingerprint

__all__ = [
    "Attempts",
    "AuditSink",
    "CallbackError",
    "Core",
    "Mint",
    "SendFailed",
    "check_records",
]


class SendFailed(Protocol):
    """What a transport raises instead of answering (``transport.TransportFailure``)."""

    kind: FailureKind
    message: str
    retryable: bool
    status: int | None


R_co = TypeVar("R_co", covariant=True)


class Attempts(Protocol[R_co]):
    """One request across its attempts, as both engines loop over it: a :class:`Mint` (its
    result a ``MintResult``) or a call's attempts (a ``Call``). ``decide`` gives the result, or
    the wait before the next attempt (a float)."""

    prepared: PreparedRequest

    def begin(self) -> tuple[float, float]: ...

    def outcome(self, answer: Any) -> Any: ...

    def decide(self, outcome: Any) -> R_co | float: ...

    def interrupted(self, outcome: Any) -> R_co: ...


class AuditSink(Protocol):
    """Where the engine reports what it does (``rtconfig.audit.AuditLog`` is the real one)."""

    def emit(self, event: str, /, **fields: Any) -> None:
        """Record one event; must be safe to call from several threads."""

    def add_secret(self, secret: str) -> None:
        """Remember a value that must never be rendered (a key or a minted token)."""


class CallbackError(RtconfigError):
    """A result callback raised; ``results`` holds every result of the run (nothing is lost)
    and ``__cause__`` the callback's exception."""

    exit_code = 3

    def __init__(self, message: str, results: Sequence[MintResult]) -> None:
        super().__init__(message)
        self.results = list(results)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def check_records(records: Iterable[object]) -> list[PlanRecord]:
    if isinstance(records, PlanRecord | str | bytes | Mapping):
        raise TypeError("expected a sequence of PlanRecord (plan.templates), not a single value")
    out: list[PlanRecord] = []
    for item in records:
        if not isinstance(item, PlanRecord):
            raise TypeError(f"expected PlanRecord (plan.templates), got {type(item).__name__}")
        out.append(item)
    return out


class Core:
    """What both engines share: settings, audit (fail-safe), stop flag, preflight."""

    def __init__(
        self,
        environ: Mapping[str, str] | None,
        concurrency: int | None,
        audit: AuditSink | None,
        retry: RetryPolicy | None,
        clock: Clock | None,
        own_transport: bool,
    ) -> None:
        from urllib.request import getproxies  # what httpx itself consults (trust_env)

        if environ is not None and not isinstance(environ, Mapping):
            raise TypeError(f"environ must be a mapping, not {type(environ).__name__}")
        if concurrency is not None and (
            not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
        ):
            raise TypeError("concurrency must be an integer of at least 1")
        if audit is not None and not callable(getattr(audit, "emit", None)):
            raise TypeError("audit must have an emit(event, **fields) method")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError("retry must be a RetryPolicy")
        self.environ: Mapping[str, str] = process_environ() if environ is None else environ
        self.concurrency = concurrency
        self.audit = audit
        self.policy = retry or RetryPolicy()
        self.clock = clock or SYSTEM_CLOCK
        # Our connections honour the environment's proxies, so http:// must be checked against
        # them; a caller's transport decides its own routing.
        self.proxies: dict[str, str] | None = dict(getproxies()) if own_transport else None
        self.stop_event = threading.Event()
        # Every secret of the run (the key, each token minted so far): cut out of every string
        # a server sends before it is kept in a result, a failure or an audit record.
        # An audit sink with a registry of its own (AuditLog, LoggingAudit) shares it: each
        # secret is indexed once, and both cut out every secret either was given.
        shared = getattr(getattr(audit, "redactor", None), "registry", None)
        self._shared_secrets = isinstance(shared, SecretRegistry)
        self.secrets = shared if isinstance(shared, SecretRegistry) else SecretRegistry()
        self.audit_error: BaseException | None = None
        self._audit_lock = threading.Lock()
        #: Called with each :class:`MintRetrying` as it happens (from the minting thread).
        self.on_progress: Callable[[MintRetrying], None] | None = None

    def progress(self, event: MintRetrying) -> None:
        """Report progress; a callback that raises is dropped (progress is informative: it
        must not change what is minted)."""
        callback = self.on_progress
        if callback is None:
            return
        try:
            callback(event)
        except Exception:
            self.on_progress = None

    # -- audit (fail-safe) -------------------------------------------------------------------

    def emit(self, event: str, **fields: Any) -> None:
        if self.audit is None:
            return
        try:
            self.audit.emit(event, **fields)
        except Exception as exc:  # a full disk, a failed fsync, a buggy sink
            with self._audit_lock:
                if self.audit_error is None:
                    self.audit_error = exc
            self.stop_event.set()  # no new mint: it could not be audited

    def after_failure(
        self, outcome: Outcome[Any], attempt: int, max_retries: int, deadline: float
    ) -> float | str | None:
        """The retry decision after a failed attempt (:func:`retry.after_failure`)."""
        return after_failure(
            self.policy,
            self.clock,
            retryable=outcome.retryable,
            attempt=attempt,
            max_retries=max_retries,
            stopped=self.stop_event.is_set(),
            headers=outcome.headers,
            deadline=deadline,
        )

    def add_secret(self, secret: str) -> None:
        self.secrets.add(secret)
        if self.audit is None or self._shared_secrets:
            return
        try:
            self.audit.add_secret(secret)
        except Exception as exc:
            with self._audit_lock:
                if self.audit_error is None:
                    self.audit_error = exc
            self.stop_event.set()

    # -- preflight ---------------------------------------------------------------------------

    def refuse(self, record: PlanRecord) -> tuple[str | None, MintResult | None]:
        """The key, or the failed result of a record that cannot be sent."""
        if self.stop_event.is_set():
            failure = MintFailure(FailureKind.CANCELLED, "not attempted: the apply was interrupted")
            return None, self._failed_early(record, failure)
        key, refusal = preflight(record.settings, self.environ, self.proxies)
        if refusal is not None:
            return None, self._failed_early(record, refusal)
        assert key is not None
        self.add_secret(key)
        return key, None

    def _failed_early(self, record: PlanRecord, failure: MintFailure) -> MintResult:
        self.emit("mint.failed", **_fields(record, 0, None), **_error_fields(failure))
        return _failed(record, failure, attempts=0)

    def preflight_all(self, records: Iterable[PlanRecord]) -> list[MintFailure]:
        seen: dict[str, MintFailure] = {}
        for record in check_records(records):
            _, refusal = preflight(record.settings, self.environ, self.proxies)
            if refusal is not None:
                seen.setdefault(refusal.message, refusal)
        return list(seen.values())

    def started(self, records: Sequence[PlanRecord], extra: Mapping[str, Any]) -> float:
        labels = [r.label for r in records]
        self.emit("apply.started", templates=labels, count=len(records), **extra)
        return self.clock.monotonic()

    def finished(self, results: Sequence[MintResult], t0: float) -> None:
        minted = sum(1 for r in results if r.ok)
        cancelled = sum(
            1 for r in results if r.error is not None and r.error.kind is FailureKind.CANCELLED
        )
        self.emit(
            "apply.finished",
            count=len(results),
            minted=minted,
            failed=len(results) - minted - cancelled,
            cancelled=cancelled,
            interrupted=self.stop_event.is_set(),
            duration_ms=_ms(self.clock.monotonic() - t0),
        )


def _fields(record: PlanRecord, attempt: int, outcome: MintOutcome | None) -> dict[str, Any]:
    return {
        "template": record.name,
        "env": record.env,
        "endpoint": record.endpoint.value,
        "base_url": record.settings.base_url,
        "body_sha256": record.body_sha256,
        "attempt": attempt,
        "http_status": outcome.status if outcome is not None else None,
        "request_id": outcome.request_id if outcome is not None else None,
        "latency_ms": outcome.latency_ms if outcome is not None else None,
    }


def _error_fields(failure: MintFailure) -> dict[str, Any]:
    return {
        "error_type": failure.type,
        "error_message": failure.message,
        "error_param": failure.param,
        "error_location": failure.location,
    }


def _failed(
    record: PlanRecord, failure: MintFailure, *, attempts: int, outcome: MintOutcome | None = None
) -> MintResult:
    return MintResult(
        template=record.name,
        env=record.env,
        endpoint=record.endpoint,
        ok=False,
        error=failure,
        attempts=attempts,
        http_status=outcome.status if outcome is not None else None,
        request_id=outcome.request_id if outcome is not None else None,
        latency_ms=outcome.latency_ms if outcome is not None else None,
    )


def _note(failure: MintFailure, note: str) -> MintFailure:
    return replace(failure, message=f"{failure.message} ({note})")


class Mint:
    """One mint across its attempts: what to send, and after each answer, what to do next
    (return a result, or wait this long and try again). The engines loop over it."""

    def __init__(self, core: Core, record: PlanRecord, key: str) -> None:
        self.core = core
        self.record = record
        self.key = key
        self.prepared = prepare(record, key)
        policy = core.policy
        self.max_retries = (
            policy.max_retries if policy.max_retries is not None else record.settings.max_retries
        )
        self.deadline = core.clock.monotonic() + policy.deadline_s
        self.attempt = 0
        self.t0 = 0.0

    def begin(self) -> tuple[float, float]:
        """Start an attempt: its timeout, and the monotonic time its body must arrive by."""
        self.attempt += 1
        now = self.core.clock.monotonic()
        self.t0 = now
        remaining = self.deadline - now
        return max(0.001, min(self.record.settings.timeout_s, remaining)), now + remaining

    def outcome(self, answer: Response | SendFailed) -> MintOutcome:
        """The attempt's outcome, from a response or the failure raised instead."""
        clock = self.core.clock
        latency = _ms(clock.monotonic() - self.t0)
        if not isinstance(answer, Response):
            failure = MintFailure(
                answer.kind, _scrub(answer.message, self.key), http_status=answer.status
            )
            return Outcome(
                latency_ms=latency,
                status=answer.status,
                failure=failure,
                retryable=answer.retryable,
            )
        outcome = classify(self.record, self.key, answer, latency, clock.time())
        return _scrubbed(outcome, self.core.secrets)

    def decide(self, outcome: MintOutcome) -> MintResult | float:
        """The result to return, or how long to wait before the next attempt."""
        core, record, attempt = self.core, self.record, self.attempt
        if outcome.result is not None:
            result = replace(
                outcome.result,
                attempts=attempt,
                request_id=outcome.request_id,
                latency_ms=outcome.latency_ms,
            )
            assert result.client_secret is not None
            core.add_secret(result.client_secret)
            core.emit(
                "mint.succeeded",
                **_fields(record, attempt, outcome),
                session_id=result.session_id,
                expires_at=result.expires_at,
                secret_fingerprint=secret_fingerprint(result.client_secret),
            )
            return result
        failure = outcome.failure
        assert failure is not None
        step = core.after_failure(outcome, attempt, self.max_retries, self.deadline)
        if isinstance(step, float):
            core.emit(
                "mint.retrying",
                **_fields(record, attempt, outcome),
                error_type=failure.type,
                error_message=failure.message,
                delay_ms=round(step * 1000.0, 1),
            )
            core.progress(
                MintRetrying(
                    template=record.name,
                    env=record.env,
                    endpoint=record.endpoint,
                    attempt=attempt + 1,
                    reason=_reason(outcome, failure),
                    http_status=outcome.status,
                    delay_s=step,
                )
            )
            return step
        if step is not None:
            failure = _note(failure, step)
        return self.fail(failure, outcome)

    def interrupted(self, outcome: MintOutcome) -> MintResult:
        assert outcome.failure is not None
        return self.fail(_note(outcome.failure, "interrupted before the next retry"), outcome)

    def fail(self, failure: MintFailure, outcome: MintOutcome) -> MintResult:
        self.core.emit(
            "mint.failed", **_fields(self.record, self.attempt, outcome), **_error_fields(failure)
        )
        return _failed(self.record, failure, attempts=self.attempt, outcome=outcome)


def _reason(outcome: MintOutcome, failure: MintFailure) -> str:
    """What the failed attempt got, in a few words: ``429``, ``HTTP 503``, ``timeout``."""
    if outcome.status == 429:
        return "429"
    if outcome.status is not None:
        return f"HTTP {outcome.status}"
    return failure.kind.value.replace("_", " ")


def _scrubbed(outcome: MintOutcome, secrets: SecretRegistry) -> MintOutcome:
    """``outcome`` with the run's secrets cut out of every server string: headers (so
    ``x-request-id``), the failure's message, type, code and param, and a success's session id
    and body — except the token just minted, which is not registered until it is returned."""
    scrub = secrets.scrub
    headers = outcome.headers
    if headers is not None:
        headers = {name: scrub(value) for name, value in headers.items()}
    failure = outcome.failure
    if failure is not None:
        failure = replace(
            failure,
            message=scrub(failure.message),
            type=scrub(failure.type),
            code=scrub(failure.code) if failure.code is not None else None,
            param=scrub(failure.param) if failure.param is not None else None,
            path=scrub(failure.path) if failure.path is not None else None,  # from param
            location=scrub(failure.location) if failure.location is not None else None,
        )
    result = outcome.result
    if result is not None:
        response = result.response
        result = replace(
            result,
            session_id=scrub(result.session_id) if result.session_id is not None else None,
            response=scrub_json(response, secrets) if response is not None else None,  # type: ignore[arg-type]
        )
    return replace(outcome, headers=headers, failure=failure, result=result)


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "[REDACTED]") if key else text
