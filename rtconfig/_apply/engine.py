"""The engines: plan records in, :class:`MintResult`\\ s out, with retries, bounded concurrency
and an audit trail. :class:`Applier` is synchronous (a thread per mint in flight);
:class:`AsyncApplier` is native asyncio (no thread per mint). Both loop over
:class:`~rtconfig._apply.attempts.Mint` (the attempt loop's state and decisions) and differ
only in how they send and wait.

::

    PlanRecord ──► preflight (pure) ──► prepare (pure) ──► Sender / AsyncSender (httpx)
                                                              │
         MintResult ◄── Mint.decide (retry policy, audit) ◄──┘ classify (pure)

A failed mint is a result, never an exception. Audit records are written through a fail-safe
wrapper: when the sink raises (a full disk), no new mint starts — it could not be audited — and
every result already minted is still returned (``audit_error`` says what happened). A result
callback that raises does not lose results either: they come back on :class:`CallbackError`.
"""

from __future__ import annotations

import asyncio
import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from rtconfig._apply.attempts import (
    Attempts,
    AuditSink,
    CallbackError,
    Core,
    Mint,
    check_records,
)
from rtconfig._apply.calls import (
    Call,
    CallAttempts,
    accept_attempts,
    control_attempts,
    create_attempts,
)
from rtconfig._apply.progress import MintRetrying
from rtconfig._apply.results import MintFailure, MintResult
from rtconfig._apply.retry import Clock, RetryPolicy
from rtconfig._apply.transport import (
    AsyncConnectionPool,
    AsyncSender,
    ConnectionPool,
    Sender,
    TransportFailure,
    tls_context,
)
from rtconfig._carriers import hangup_call_request, refer_call_request, reject_call_request
from rtconfig._plan.records import PlanRecord
from rtconfig._settings import Settings

__all__ = [
    "DEFAULT_ASYNC_CONCURRENCY",
    "Applier",
    "AsyncApplier",
    "AuditSink",
    "CallbackError",
]

R = TypeVar("R")  # what one request's attempts end in: a MintResult or a Call

#: Mints in flight for an AsyncApplier made without ``concurrency``: sized for a server's burst
#: (a backend in front of browsers, where every caller waits on OpenAI's slow mint), like the
#: openai SDK's 1,000 connections rather than a batch job's handful. Each mint in flight holds
#: one keep-alive connection; idle ones stay open for reuse.
DEFAULT_ASYNC_CONCURRENCY = 512


class Applier:
    """Mints sessions synchronously; hold one for a process's lifetime (it keeps connections
    alive). ``environ``: where API keys are read (default ``os.environ``). ``concurrency``: mints
    in flight (default: the first record's ``[api].concurrency``). ``audit``: where events go.
    ``transport``: an ``httpx.BaseTransport`` to send through (``httpx.MockTransport`` in
    tests; default: rtconfig's own connections, with the environment's proxies).
    ``on_progress``: called with a :class:`MintRetrying` each time a mint is about to wait and
    try again (from the minting thread; one that raises is dropped).
    """

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        audit: AuditSink | None = None,
        transport: Any = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        on_progress: Callable[[MintRetrying], None] | None = None,
    ) -> None:
        if transport is not None and not callable(getattr(transport, "handle_request", None)):
            raise TypeError("transport must be an httpx.BaseTransport (e.g. httpx.MockTransport)")
        self._core = Core(environ, concurrency, audit, retry, clock, transport is None)
        self._core.on_progress = on_progress
        self._transport = transport
        self._sender: Sender | None = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._slots: threading.BoundedSemaphore | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<Applier concurrency={self._core.concurrency} stopped={self.stopped}>"

    def __enter__(self) -> Applier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def stopped(self) -> bool:
        return self._core.stop_event.is_set()

    @property
    def audit_error(self) -> BaseException | None:
        """The first exception the audit sink raised (no mint started after it), or None."""
        return self._core.audit_error

    def stop(self) -> None:
        """Start no new mint and no new retry; mints already sending finish or time out."""
        self._core.stop_event.set()

    def close(self) -> None:
        """Wait for running mints, then release the threads and connections (if ours)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            sender, self._sender = self._sender, None
        if executor is not None:
            executor.shutdown(wait=True)
        if sender is not None and self._transport is None:
            sender.close()

    def preflight(self, records: Iterable[PlanRecord]) -> list[MintFailure]:
        """Problems that would stop records before anything is sent (missing key, unsafe URL),
        one per distinct problem — so a caller can refuse the whole run up front."""
        return self._core.preflight_all(records)

    def mint(self, record: PlanRecord) -> MintResult:
        """Mint one session (retrying per the policy). Never raises for a failed mint."""
        if not isinstance(record, PlanRecord):
            raise TypeError(f"expected a PlanRecord (plan.templates[i]), got {type(record)}")
        key, refused = self._core.refuse(record)
        if refused is not None:
            return refused
        assert key is not None
        return self._attempt(Mint(self._core, record, key), record)

    def mint_all(
        self,
        records: Sequence[PlanRecord],
        *,
        on_result: Callable[[MintResult], None] | None = None,
        **started: Any,
    ) -> list[MintResult]:
        """Mint every record, ``concurrency`` at a time; results in the records' order.

        One failure never stops the others; after :meth:`stop`, records not yet started come
        back as ``cancelled``. ``on_result`` is called in this thread as each finishes (it may
        call this applier again); ``started`` adds fields to the ``apply.started`` record.
        """
        records = check_records(records)
        t0 = self._core.started(records, started)
        executor = self._pool(records)
        futures = {executor.submit(self.mint, record): i for i, record in enumerate(records)}
        results: list[MintResult | None] = [None] * len(records)
        callback_error: BaseException | None = None
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_result is not None and callback_error is None:
                try:
                    on_result(result)
                except Exception as exc:
                    callback_error = exc
        done = [r for r in results if r is not None]
        self._core.finished(done, t0)
        if callback_error is not None:
            raise CallbackError(
                f"on_result raised {type(callback_error).__name__}; every result is on "
                "this error's .results",
                done,
            ) from callback_error
        return done

    # -- the call carriers (CONTRACT §10) ------------------------------------------------------

    def create_call(self, record: PlanRecord, sdp_offer: str | bytes) -> Call:
        """``POST /realtime/calls``: the browser's SDP offer with ``record``'s session; the SDP
        answer and call id come back on the :class:`Call`. Never raises for a failed request;
        ``UsageError`` for a bad offer and ``ConfigError`` for a template that cannot take calls
        (nothing is sent then)."""
        return self._carry(create_attempts(self._core, record, sdp_offer))

    def accept_call(self, record: PlanRecord, call_id: str) -> Call:
        """``POST /realtime/calls/{call_id}/accept`` with ``record``'s session (a SIP call)."""
        return self._carry(accept_attempts(self._core, record, call_id))

    def reject_call(
        self,
        call_id: str,
        status: int = 603,
        *,
        settings: Settings | None = None,
        record: PlanRecord | None = None,
    ) -> Call:
        """``POST /realtime/calls/{call_id}/reject`` (``status``: the SIP status, 603 Decline);
        sent with ``record``'s settings, or ``settings``, or the defaults."""
        request = reject_call_request(call_id, status)
        return self._carry(control_attempts(self._core, request, settings, record))

    def hangup_call(
        self, call_id: str, *, settings: Settings | None = None, record: PlanRecord | None = None
    ) -> Call:
        """``POST /realtime/calls/{call_id}/hangup``."""
        request = hangup_call_request(call_id)
        return self._carry(control_attempts(self._core, request, settings, record))

    def refer_call(
        self,
        call_id: str,
        target_uri: str,
        *,
        settings: Settings | None = None,
        record: PlanRecord | None = None,
    ) -> Call:
        """``POST /realtime/calls/{call_id}/refer`` to ``target_uri`` (``tel:…`` or ``sip:…``)."""
        request = refer_call_request(call_id, target_uri)
        return self._carry(control_attempts(self._core, request, settings, record))

    def _carry(self, attempts: CallAttempts) -> Call:
        if attempts.refused is not None:
            return attempts.refused
        return self._attempt(attempts, PlanRecord.for_body("call", {}, settings=attempts.settings))

    def _attempt(self, attempts: Attempts[R], record: PlanRecord) -> R:
        """Send ``attempts`` until it decides (a mint or a call: the one loop of this engine);
        ``record``'s settings size the slots the first time."""
        sender, slots = self._ready(record)
        clock = self._core.clock
        while True:
            with slots:
                timeout_s, stop_at = attempts.begin()
                try:
                    answer: Any = sender.send(
                        attempts.prepared,
                        timeout_s=timeout_s,
                        stop_at=stop_at,
                        monotonic=clock.monotonic,
                    )
                except TransportFailure as failure:
                    answer = failure
            outcome = attempts.outcome(answer)
            step = attempts.decide(outcome)
            if not isinstance(step, float):
                return step
            if not self._wait(step):
                return attempts.interrupted(outcome)

    # -- internals ---------------------------------------------------------------------------

    def _size(self, records: Sequence[PlanRecord]) -> int:
        if self._core.concurrency is None:
            self._core.concurrency = records[0].settings.concurrency if records else 8
        return self._core.concurrency

    def _pool(self, records: Sequence[PlanRecord]) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Applier is closed")
            if self._executor is None:
                size = self._size(records)
                self._executor = ThreadPoolExecutor(size, thread_name_prefix="rtconfig-mint")
            return self._executor

    def _ready(self, record: PlanRecord) -> tuple[Sender, threading.BoundedSemaphore]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Applier is closed")
            if self._sender is None:
                transport = self._transport
                if transport is None:
                    assert self._core.proxies is not None
                    transport = ConnectionPool(tls_context(), self._core.proxies)
                self._sender = Sender(transport)
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(self._size([record]))
            return self._sender, self._slots

    def _wait(self, delay: float) -> bool:
        """Sleep before a retry; False when :meth:`stop` was called (do not retry)."""
        clock = self._core.clock
        if clock.sleep is _time.sleep:
            return not self._core.stop_event.wait(delay)
        clock.sleep(delay)
        return not self._core.stop_event.is_set()


class AsyncApplier:
    """:class:`Applier` for asyncio, natively: mints are coroutines on the caller's event loop
    (no thread per mint), sent over ``httpx.AsyncHTTPTransport`` connections lent whole.
    ``concurrency`` (default :data:`DEFAULT_ASYNC_CONCURRENCY`) bounds mints in flight for this
    applier; ``[api].concurrency`` does not cap it. ``transport``: an
    ``httpx.AsyncBaseTransport`` (``httpx.MockTransport`` in tests). Use one event loop per
    applier."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        audit: AuditSink | None = None,
        transport: Any = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        on_progress: Callable[[MintRetrying], None] | None = None,
    ) -> None:
        if transport is not None and not callable(getattr(transport, "handle_async_request", None)):
            raise TypeError("transport must be an httpx.AsyncBaseTransport (httpx.MockTransport)")
        self._core = Core(environ, concurrency, audit, retry, clock, transport is None)
        self._core.on_progress = on_progress
        if self._core.concurrency is None:
            self._core.concurrency = DEFAULT_ASYNC_CONCURRENCY
        self._transport = transport
        self._sender: AsyncSender | None = None
        self._slots: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"<AsyncApplier concurrency={self._core.concurrency} stopped={self.stopped}>"

    async def __aenter__(self) -> AsyncApplier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def concurrency(self) -> int:
        assert self._core.concurrency is not None
        return self._core.concurrency

    @property
    def stopped(self) -> bool:
        return self._core.stop_event.is_set()

    @property
    def audit_error(self) -> BaseException | None:
        return self._core.audit_error

    def stop(self) -> None:
        self._core.stop_event.set()

    async def aclose(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None and self._transport is None:
            await sender.aclose()

    def preflight(self, records: Iterable[PlanRecord]) -> list[MintFailure]:
        return self._core.preflight_all(records)

    def _ready(self) -> tuple[AsyncSender, asyncio.Semaphore]:
        if self._sender is None:
            transport = self._transport
            if transport is None:
                assert self._core.proxies is not None
                transport = AsyncConnectionPool(tls_context(), self._core.proxies)
            self._sender = AsyncSender(transport)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._sender, self._slots

    async def mint(self, record: PlanRecord) -> MintResult:
        """Mint one session (retrying per the policy). Never raises for a failed mint."""
        if not isinstance(record, PlanRecord):
            raise TypeError(f"expected a PlanRecord (plan.templates[i]), got {type(record)}")
        key, refused = self._core.refuse(record)
        if refused is not None:
            return refused
        assert key is not None
        return await self._attempt(Mint(self._core, record, key))

    async def mint_all(
        self,
        records: Sequence[PlanRecord],
        *,
        on_result: Callable[[MintResult], None] | None = None,
        **started: Any,
    ) -> list[MintResult]:
        """Mint every record, ``concurrency`` at a time; results in the records' order."""
        records = check_records(records)
        t0 = self._core.started(records, started)
        callback_error: list[BaseException] = []

        async def one(record: PlanRecord) -> MintResult:
            result = await self.mint(record)
            if on_result is not None and not callback_error:
                try:
                    on_result(result)
                except Exception as exc:
                    callback_error.append(exc)
            return result

        results = list(await asyncio.gather(*(one(r) for r in records)))
        self._core.finished(results, t0)
        if callback_error:
            raise CallbackError(
                f"on_result raised {type(callback_error[0]).__name__}; every result is on "
                "this error's .results",
                results,
            ) from callback_error[0]
        return results

    # -- the call carriers (CONTRACT §10): as on Applier, awaited ------------------------------

    async def create_call(self, record: PlanRecord, sdp_offer: str | bytes) -> Call:
        """:meth:`Applier.create_call`, on this event loop."""
        return await self._carry(create_attempts(self._core, record, sdp_offer))

    async def accept_call(self, record: PlanRecord, call_id: str) -> Call:
        """:meth:`Applier.accept_call`, on this event loop."""
        return await self._carry(accept_attempts(self._core, record, call_id))

    async def reject_call(
        self,
        call_id: str,
        status: int = 603,
        *,
        settings: Settings | None = None,
        record: PlanRecord | None = None,
    ) -> Call:
        """:meth:`Applier.reject_call`, on this event loop."""
        request = reject_call_request(call_id, status)
        return await self._carry(control_attempts(self._core, request, settings, record))

    async def hangup_call(
        self, call_id: str, *, settings: Settings | None = None, record: PlanRecord | None = None
    ) -> Call:
        """:meth:`Applier.hangup_call`, on this event loop."""
        request = hangup_call_request(call_id)
        return await self._carry(control_attempts(self._core, request, settings, record))

    async def refer_call(
        self,
        call_id: str,
        target_uri: str,
        *,
        settings: Settings | None = None,
        record: PlanRecord | None = None,
    ) -> Call:
        """:meth:`Applier.refer_call`, on this event loop."""
        request = refer_call_request(call_id, target_uri)
        return await self._carry(control_attempts(self._core, request, settings, record))

    async def _carry(self, attempts: CallAttempts) -> Call:
        if attempts.refused is not None:
            return attempts.refused
        return await self._attempt(attempts)

    async def _attempt(self, attempts: Attempts[R]) -> R:
        """Send ``attempts`` until it decides (a mint or a call: the one loop of this engine)."""
        sender, slots = self._ready()
        clock = self._core.clock
        while True:
            async with slots:
                timeout_s, stop_at = attempts.begin()
                try:
                    answer: Any = await sender.send(
                        attempts.prepared,
                        timeout_s=timeout_s,
                        stop_at=stop_at,
                        monotonic=clock.monotonic,
                    )
                except TransportFailure as failure:
                    answer = failure
            outcome = attempts.outcome(answer)
            step = attempts.decide(outcome)
            if not isinstance(step, float):
                return step
            if clock.sleep is _time.sleep:
                await asyncio.sleep(step)
            else:
                clock.sleep(step)
            if self.stopped:
                return attempts.interrupted(outcome)
