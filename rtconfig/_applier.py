"""Minting (contract §6): jobs in, results out, over httpx, with bounded concurrency and retries.

::

    MintJob ──► Applier.mint / mint_all ──► MintResult (ok + token, or MintFailure)
                   │  a thread pool of ``concurrency`` workers, one connection each
                   │  retries: connection errors, timeouts, 408, 409, 429, 5xx
                   └─► audit sink (mint.retrying / mint.succeeded / mint.failed, apply.*)

A failed mint is a *result*, never an exception: every selected template is attempted and the
caller decides what a failure means (the CLI exits 3; :meth:`MintResult.raise_for_error` raises
:class:`~rtconfig._errors.MintError`). httpx's errors are translated here and nowhere else.

Why threads and sync connections: httpx's ``AsyncClient`` pool loses most of its throughput
past a couple of dozen requests in flight (encode/httpx#3215); a pool of threads, each request
lent a keep-alive connection of its own (:class:`_Connections`), spends half the CPU per mint of
threads sharing one ``httpx.Client`` at concurrency 32 in ``bench/mint_throughput.py``
(figures in ``docs/performance.md``). A caller's own ``httpx.Client`` is used as given.
:class:`AsyncApplier` offers the same engine to asyncio code without blocking its event loop.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import ipaddress
import json
import os
import random as _random
import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from rtconfig._endpoints import Endpoint, template_path
from rtconfig._errors import MintError, format_path
from rtconfig._headers import header_value_problem, url_has_credentials
from rtconfig._origins import Origin
from rtconfig._settings import Settings
from rtconfig._version import __version__
from rtconfig.audit import secret_fingerprint

if TYPE_CHECKING:
    import ssl

    from rtconfig._resolver import ResolvedTemplate

__all__ = [
    "USER_AGENT",
    "Applier",
    "AsyncApplier",
    "AuditSink",
    "Clock",
    "MintFailure",
    "MintJob",
    "MintResult",
    "RetryPolicy",
    "check_base_url",
    "endpoint_url",
    "is_loopback_host",
    "parse_param",
    "retry_after_s",
    "should_retry",
]

Path = tuple[str | int, ...]
Locate = Callable[[Path], "Origin | None"]

USER_AGENT = f"rtconfig/{__version__}"
RETRYABLE_STATUSES = frozenset({408, 409, 429})

# MintFailure.type values rtconfig itself produces (the server's own ``error.type`` otherwise).
MISSING_API_KEY = "missing_api_key"
INSECURE_URL = "insecure_url"
CONNECTION_ERROR = "connection_error"
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
REDIRECT = "redirect"
INVALID_RESPONSE = "invalid_response"
CANCELLED = "cancelled"


class AuditSink(Protocol):
    """Where the applier reports what it does (``rtconfig.audit.AuditLog`` is the real one)."""

    def emit(self, event: str, /, **fields: Any) -> None:
        """Record one event; must be safe to call from several threads."""

    def add_secret(self, secret: str) -> None:
        """Remember a value that must never be rendered (a key or a minted token)."""


# ---------------------------------------------------------------------------------------------
# Jobs and results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MintJob:
    """One session to mint: the exact body, where to send it, and how to locate its fields.

    ``locate`` maps a *template* path (``("audio", "output", "speed")``) to the origin that set
    it, so that an API error naming a field can point at the TOML line.
    """

    template: str
    env: str | None
    endpoint: Endpoint
    body: Mapping[str, Any]
    settings: Settings = field(default_factory=Settings)
    locate: Locate | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_resolved(cls, resolved: ResolvedTemplate) -> MintJob:
        """The job for a resolved (and validated) template."""
        return cls(
            template=resolved.name,
            env=resolved.env,
            endpoint=resolved.endpoint,
            body=resolved.body,
            settings=resolved.settings,
            locate=resolved.origin_of,
        )

    @property
    def body_sha256(self) -> str:
        """The contract's body hash (the one ``plan`` and the lock file show)."""
        from rtconfig._resolver import body_sha256

        return body_sha256(self.body)

    @property
    def url(self) -> str:
        return endpoint_url(self.settings.base_url, self.endpoint)


@dataclass(frozen=True, slots=True)
class MintFailure:
    """Why a mint failed. ``type`` is OpenAI's ``error.type`` when the server gave one.

    ``path``/``file``/``line`` are set when the server's ``error.param`` named a field that
    could be traced back to the line of ``sessions.toml`` (or variable, or ``--set``) that set it.
    """

    type: str
    message: str
    http_status: int | None = None
    code: str | None = None
    param: str | None = None
    path: str | None = None
    location: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.location, self.path) if part)
        status = f"HTTP {self.http_status} " if self.http_status is not None else ""
        text = f"{self.message} ({status}{self.type})"
        return f"{where}: {text}" if where else text

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
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

    def to_json(self) -> dict[str, Any]:
        """The contract's result object (§5), token included: this is for the caller."""
        return {
            "template": self.template,
            "env": self.env,
            "endpoint": self.endpoint.value,
            "ok": self.ok,
            "client_secret": self.client_secret,
            "expires_at": self.expires_at,
            "session_id": self.session_id,
            "response": dict(self.response) if self.response is not None else None,
            "error": self.error.to_json() if self.error is not None else None,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "latency_ms": self.latency_ms,
        }

    def raise_for_error(self) -> MintResult:
        """Return self when minted, else raise :class:`MintError` describing the failure."""
        if not self.ok:
            label = self.template + (f" [{self.env}]" if self.env else "")
            raise MintError(f"{label}: {self.error}")
        return self


# ---------------------------------------------------------------------------------------------
# Retry rules (pure functions, so they can be tested without a network or a clock)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retries=None`` takes the job's ``max_retries``.

    Backoff is exponential with full jitter: retry *n* waits ``uniform(0, min(max_backoff_s,
    initial_backoff_s * 2**(n-1)))``, unless the server said how long to wait
    (``retry-after-ms``, then ``Retry-After``), which is honoured up to ``retry_after_cap_s``.
    ``deadline_s`` bounds one mint from its first attempt to its last answer, waits included.
    """

    max_retries: int | None = None
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    retry_after_cap_s: float = 60.0
    deadline_s: float = 120.0

    def backoff_s(self, retry: int, rand: float) -> float:
        """The jittered wait before retry number ``retry`` (1-based), ``rand`` in [0, 1)."""
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (retry - 1))
        return rand * ceiling

    def delay_s(self, retry: int, headers: Mapping[str, str] | None, clock: Clock) -> float:
        """How long to wait before retry ``retry``: the server's word (capped), else backoff."""
        asked = retry_after_s(headers, clock.time()) if headers is not None else None
        if asked is not None:
            return min(asked, self.retry_after_cap_s)
        return self.backoff_s(retry, clock.random())


def retry_after_s(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asked for, in seconds: ``retry-after-ms``, else ``Retry-After``
    (delta-seconds or an HTTP date, relative to the wall-clock ``now``); None if absent/garbled."""
    raw_ms = _header(headers, "retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = float("nan")
        if value == value and value >= 0:  # not NaN
            return value
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now)
    if value != value or value < 0 or value == float("inf"):
        return None
    return value


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an HTTP answer is worth another attempt: ``x-should-retry`` decides when sent,
    else 408, 409, 429 and every 5xx."""
    hint = _header(headers, "x-should-retry")
    if hint is not None:
        if hint.strip().lower() == "true":
            return True
        if hint.strip().lower() == "false":
            return False
    return status in RETRYABLE_STATUSES or status >= 500


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not isinstance(headers, httpx.Headers):
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    return value


@dataclass(frozen=True, slots=True)
class Clock:
    """Time and chance, injectable so retry tests run instantly and assert exact delays.

    ``monotonic`` measures latencies and deadlines, ``time`` (wall clock) resolves HTTP-date
    ``Retry-After`` values, ``sleep`` waits, ``random`` draws the jitter in [0, 1).
    """

    monotonic: Callable[[], float] = _time.monotonic
    time: Callable[[], float] = _time.time
    sleep: Callable[[float], None] = _time.sleep
    random: Callable[[], float] = _random.random


SYSTEM_CLOCK = Clock()


# ---------------------------------------------------------------------------------------------
# Transport safety
# ---------------------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=64)
def check_base_url(base_url: str) -> str | None:
    """None when requests may go to ``base_url``; else why not (nothing is sent then).

    ``https://`` always (TLS verified); ``http://`` only to a loopback host, since the API key
    would otherwise travel in clear.
    """
    if not isinstance(base_url, str) or url_has_credentials(base_url):
        # Asked first: every message below quotes the URL.
        return "base_url must be a string without credentials (user:password@ or a key)"
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"base_url {base_url!r} is not a valid URL ({exc})"
    if url.scheme == "https" and url.host:
        return None
    if url.scheme == "http" and url.host:
        if is_loopback_host(url.host):
            return None
        return (
            f"base_url {base_url!r} uses http:// to a host that is not loopback: the API key "
            "would travel in clear (use https://, or http:// only to localhost/127.0.0.1/::1)"
        )
    return f"base_url {base_url!r} must be an https:// URL"


def _check_proxy(base_url: str) -> str | None:
    """None unless the environment's proxy settings (``HTTP_PROXY``/``ALL_PROXY`` less
    ``NO_PROXY``, as httpx applies them) would send an ``http://`` base URL through a proxy that
    is not on this machine: the key would then travel in clear after all."""
    url = httpx.URL(base_url)
    if url.scheme != "http":
        return None
    proxy = _environment_proxy_for(url)
    if proxy is None:
        return None
    host = httpx.URL(proxy).host
    if is_loopback_host(host):
        return None
    return (
        f"base_url {base_url!r} uses http:// and the environment (HTTP_PROXY or ALL_PROXY) "
        f"sends it through the proxy at {host}: the API key would travel in clear beyond this "
        f"machine (add {url.host} to NO_PROXY, or use https://)"
    )


def _environment_proxy_for(url: httpx.URL) -> str | None:
    """The proxy httpx's own client would use for ``url``, from the environment (trust_env)."""
    from httpx._utils import URLPattern, get_environment_proxies  # the rules Client applies

    mounts = sorted((URLPattern(key), proxy) for key, proxy in get_environment_proxies().items())
    for pattern, proxy in mounts:
        if pattern.matches(url):
            return proxy
    return None


def endpoint_url(base_url: str, endpoint: Endpoint) -> str:
    return base_url.rstrip("/") + "/" + endpoint.value


def parse_param(param: str) -> Path:
    """OpenAI's ``error.param`` as a body path: ``session.tools[0].name`` → ``(session, tools,
    0, name)``."""
    path: list[str | int] = []
    for part in param.split("."):
        while part:
            head, bracket, rest = part.partition("[")
            if head:
                path.append(head)
            if not bracket:
                break
            index, _, part = rest.partition("]")
            path.append(int(index) if index.isdigit() else index)
    return tuple(path)


# ---------------------------------------------------------------------------------------------
# The applier
# ---------------------------------------------------------------------------------------------


class _Outcome:
    """One attempt's result, before the retry decision."""

    __slots__ = ("failure", "headers", "latency_ms", "request_id", "result", "retryable", "status")

    def __init__(
        self,
        *,
        latency_ms: float,
        status: int | None = None,
        headers: httpx.Headers | None = None,
        result: MintResult | None = None,
        failure: MintFailure | None = None,
        retryable: bool = False,
    ) -> None:
        self.latency_ms = latency_ms
        self.status = status
        self.headers = headers
        self.request_id = headers.get("x-request-id") if headers is not None else None
        self.result = result
        self.failure = failure
        self.retryable = retryable


class Applier:
    """Mints sessions; hold one for a process's lifetime (it keeps connections alive).

    ``client``: an ``httpx.Client`` to use (its transport, limits and TLS settings are then the
    caller's; redirects are still never followed). ``audit``: where events go (none by
    default). ``environ``: where API keys are read (``os.environ`` by default) — the only place
    this module reads the environment. ``concurrency``: mints in flight in :meth:`mint_all`
    (default: the first job's ``settings.concurrency``).
    """

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        audit: AuditSink | None = None,
        environ: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = client
        self._owns_client = client is None
        # Our own connections, used directly on the hot path when the client is ours (_http).
        self._direct: _Connections | None = None
        self._audit = audit
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._concurrency = concurrency
        self._retry = retry or RetryPolicy()
        self._clock = clock or SYSTEM_CLOCK
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<Applier concurrency={self._concurrency} stopped={self._stop.is_set()}>"

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Applier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for running mints, then release the thread pool and the client (if ours)."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
            client = self._client if self._owns_client else None
            direct, self._direct = self._direct, None
            if self._owns_client:
                self._client = None
        if executor is not None:
            executor.shutdown(wait=True)
        if direct is not None:
            direct.close()
        if client is not None:
            client.close()

    def stop(self) -> None:
        """Start no new mint and no new retry; mints already sending finish or time out."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # -- public API --------------------------------------------------------------------------

    def mint(self, job: MintJob) -> MintResult:
        """Mint one session (retrying per the policy). Never raises for a failed mint."""
        if self._stop.is_set():
            return self._cancelled(job)
        key, refusal = self._preflight(job)
        if refusal is not None:
            self._emit_failed(job, refusal, attempt=0, outcome=None)
            return _failed(job, refusal, attempts=0)
        assert key is not None
        return self._mint_with_retries(job, key)

    def mint_all(
        self,
        jobs: Sequence[MintJob],
        *,
        on_result: Callable[[MintResult], None] | None = None,
        **started: Any,
    ) -> list[MintResult]:
        """Mint every job, ``concurrency`` at a time; results in the jobs' order.

        One failure never stops the others. After :meth:`stop`, jobs not yet started come back
        as ``cancelled`` failures. ``on_result`` is called (from a worker thread) as each
        finishes; ``started`` adds fields to the ``apply.started`` audit record.
        """
        jobs = list(jobs)
        self._emit(
            "apply.started",
            templates=[_label(job) for job in jobs],
            count=len(jobs),
            **started,
        )
        t0 = self._clock.monotonic()
        executor = self._pool(jobs)

        def run(job: MintJob) -> MintResult:
            result = self.mint(job)
            if on_result is not None:
                on_result(result)
            return result

        futures: list[Future[MintResult]] = [executor.submit(run, job) for job in jobs]
        results = [future.result() for future in futures]
        minted = sum(1 for r in results if r.ok)
        cancelled = sum(1 for r in results if r.error is not None and r.error.type == CANCELLED)
        self._emit(
            "apply.finished",
            count=len(results),
            minted=minted,
            failed=len(results) - minted - cancelled,
            cancelled=cancelled,
            interrupted=self._stop.is_set(),
            duration_ms=round((self._clock.monotonic() - t0) * 1000.0, 1),
        )
        return results

    def preflight(self, jobs: Iterable[MintJob]) -> list[MintFailure]:
        """Problems that would stop jobs before anything is sent (missing key, unsafe URL),
        one per distinct problem — so a caller can refuse the whole run up front."""
        seen: dict[str, MintFailure] = {}
        for job in jobs:
            _, refusal = self._preflight(job)
            if refusal is not None:
                seen.setdefault(refusal.message, refusal)
        return list(seen.values())

    # -- internals ---------------------------------------------------------------------------

    def _pool(self, jobs: Sequence[MintJob]) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("this Applier is closed")
            if self._executor is None:
                size = self._concurrency or (jobs[0].settings.concurrency if jobs else 8)
                self._concurrency = size
                self._executor = ThreadPoolExecutor(size, thread_name_prefix="rtconfig-mint")
            return self._executor

    def _http(self, job: MintJob) -> tuple[httpx.Client, _Connections | None]:
        """The client, and the connections to use directly when the client is our own."""
        with self._lock:
            if self._client is None:
                if self._closed:
                    raise RuntimeError("this Applier is closed")
                size = self._concurrency or job.settings.concurrency
                # verify stays True (httpx honours SSL_CERT_FILE / SSL_CERT_DIR); never redirect.
                tls = httpx.create_ssl_context(verify=True, trust_env=True)
                limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
                self._client = httpx.Client(  # no transport=: httpx would ignore env proxies
                    verify=tls,
                    limits=limits,
                    follow_redirects=False,
                    timeout=httpx.Timeout(job.settings.timeout_s),
                )
                # The hot path skips the client unless an environment proxy is set (only the
                # client's mounts apply those): see _Connections for why.
                if self._owns_client and not _environment_proxied():
                    self._direct = _Connections(size, tls)
            return self._client, self._direct

    def _preflight(self, job: MintJob) -> tuple[str | None, MintFailure | None]:
        refusal = check_base_url(job.settings.base_url)
        if refusal is None and self._owns_client and job.settings.base_url.startswith("http://"):
            refusal = _check_proxy(job.settings.base_url)  # (a caller's client: its own proxies)
        if refusal is not None:
            return None, MintFailure(INSECURE_URL, refusal + "; nothing was sent")
        name = job.settings.api_key_env
        key = self._environ.get(name, "")
        if not key.strip():
            return None, MintFailure(
                MISSING_API_KEY,
                f"environment variable {name} is not set: it must hold the API key "
                f"([api].api_key_env names it); nothing was sent",
            )
        if self._audit is not None:
            self._audit.add_secret(key)
        problem = header_value_problem(key.strip(), f"the API key in {name}")
        if problem is not None:  # httpx would raise deep in the transport; a CR/LF, inject
            return None, MintFailure(MISSING_API_KEY, problem + "; nothing was sent")
        return key.strip(), None

    def _headers(self, job: MintJob, key: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if job.settings.organization:
            headers["OpenAI-Organization"] = job.settings.organization
        if job.settings.project:
            headers["OpenAI-Project"] = job.settings.project
        return headers

    def _mint_with_retries(self, job: MintJob, key: str) -> MintResult:
        clock = self._clock
        policy = self._retry
        max_retries = policy.max_retries
        if max_retries is None:
            max_retries = job.settings.max_retries
        client, direct = self._http(job)
        content = json.dumps(job.body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = self._headers(job, key)
        sha = job.body_sha256 if self._audit is not None else None  # once per mint, not per record
        start = clock.monotonic()
        deadline = start + policy.deadline_s
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - clock.monotonic()
            outcome = self._attempt(client, direct, job, key, content, headers, remaining)
            if outcome.result is not None:
                result = _with_meta(outcome.result, attempt, outcome)
                self._emit_succeeded(job, result, outcome, sha)
                return result
            failure = outcome.failure
            assert failure is not None
            retries_left = attempt <= max_retries
            if outcome.retryable and retries_left and not self._stop.is_set():
                delay = policy.delay_s(attempt, outcome.headers, clock)
                if clock.monotonic() + delay < deadline:
                    self._emit_retrying(job, attempt, outcome, failure, delay, sha)
                    if self._wait(delay):
                        continue
                    failure = _note(failure, "interrupted before the next retry")
                else:
                    failure = _note(
                        failure,
                        f"gave up: waiting {delay:g} s to retry would pass the "
                        f"{policy.deadline_s:g} s deadline",
                    )
            elif outcome.retryable and retries_left:
                failure = _note(failure, "interrupted before the next retry")
            elif outcome.retryable and max_retries:
                failure = _note(failure, f"after {attempt} attempts")
            self._emit_failed(job, failure, attempt=attempt, outcome=outcome, sha=sha)
            return _failed(job, failure, attempts=attempt, outcome=outcome)

    def _wait(self, delay: float) -> bool:
        """Sleep before a retry; False when :meth:`stop` was called (do not retry)."""
        if self._clock.sleep is _time.sleep:
            return not self._stop.wait(delay)
        self._clock.sleep(delay)
        return not self._stop.is_set()

    def _attempt(
        self,
        client: httpx.Client,
        direct: _Connections | None,
        job: MintJob,
        key: str,
        content: bytes,
        headers: dict[str, str],
        remaining: float,
    ) -> _Outcome:
        clock = self._clock
        timeout_s = max(0.001, min(job.settings.timeout_s, remaining))
        timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        t0 = clock.monotonic()
        stop_at = t0 + remaining

        def read(response: httpx.Response) -> None:
            _read_body(response, stop_at, clock.monotonic)

        try:
            if direct is not None:
                response = direct.post(job.url, content, headers, timeout, read)
            else:
                request = client.build_request(
                    "POST", job.url, content=content, headers=headers, timeout=timeout
                )
                response = client.send(request, follow_redirects=False, stream=True)
                read(response)
        except httpx.TimeoutException as exc:
            return _Outcome(
                latency_ms=_ms(clock.monotonic() - t0),
                failure=MintFailure(TIMEOUT, f"{_exc_kind(exc)} after {timeout_s:g} s"),
                retryable=True,
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return _Outcome(
                latency_ms=_ms(clock.monotonic() - t0),
                failure=MintFailure(INSECURE_URL, _scrub(str(exc), key)),
            )
        except (httpx.TransportError, httpx.StreamError) as exc:
            return _Outcome(
                latency_ms=_ms(clock.monotonic() - t0),
                failure=MintFailure(CONNECTION_ERROR, _describe_transport_error(exc, key)),
                retryable=True,
            )
        latency_ms = _ms(clock.monotonic() - t0)
        return _classify(job, key, response, latency_ms)

    def _cancelled(self, job: MintJob) -> MintResult:
        failure = MintFailure(CANCELLED, "not attempted: the apply was interrupted")
        self._emit_failed(job, failure, attempt=0, outcome=None)
        return _failed(job, failure, attempts=0)

    # -- audit -------------------------------------------------------------------------------

    def _emit(self, event: str, **fields: Any) -> None:
        if self._audit is not None:
            self._audit.emit(event, **fields)

    def _mint_fields(
        self, job: MintJob, attempt: int, outcome: _Outcome | None, body_sha256: str | None = None
    ) -> dict[str, Any]:
        return {
            "template": job.template,
            "env": job.env,
            "endpoint": job.endpoint.value,
            "base_url": job.settings.base_url,
            "body_sha256": body_sha256 or job.body_sha256,
            "attempt": attempt,
            "http_status": outcome.status if outcome is not None else None,
            "request_id": outcome.request_id if outcome is not None else None,
            "latency_ms": outcome.latency_ms if outcome is not None else None,
        }

    def _emit_retrying(
        self,
        job: MintJob,
        attempt: int,
        outcome: _Outcome,
        failure: MintFailure,
        delay: float,
        sha: str | None,
    ) -> None:
        if self._audit is None:
            return
        self._audit.emit(
            "mint.retrying",
            **self._mint_fields(job, attempt, outcome, sha),
            error_type=failure.type,
            error_message=failure.message,
            delay_ms=round(delay * 1000.0, 1),
        )

    def _emit_succeeded(
        self, job: MintJob, result: MintResult, outcome: _Outcome, sha: str | None
    ) -> None:
        if self._audit is None:
            return
        assert result.client_secret is not None
        self._audit.add_secret(result.client_secret)
        self._audit.emit(
            "mint.succeeded",
            **self._mint_fields(job, result.attempts, outcome, sha),
            session_id=result.session_id,
            expires_at=result.expires_at,
            secret_fingerprint=secret_fingerprint(result.client_secret),
        )

    def _emit_failed(
        self,
        job: MintJob,
        failure: MintFailure,
        *,
        attempt: int,
        outcome: _Outcome | None,
        sha: str | None = None,
    ) -> None:
        if self._audit is None:
            return
        self._audit.emit(
            "mint.failed",
            **self._mint_fields(job, attempt, outcome, sha),
            error_type=failure.type,
            error_message=failure.message,
            error_param=failure.param,
            error_location=failure.location,
        )


class AsyncApplier:
    """:class:`Applier` for asyncio code: the same engine (thread pool, sync client), awaited
    without blocking the event loop. Takes the same keyword arguments."""

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        audit: AuditSink | None = None,
        environ: Mapping[str, str] | None = None,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._applier = Applier(
            client=client,
            audit=audit,
            environ=environ,
            concurrency=concurrency,
            retry=retry,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"<AsyncApplier {self._applier!r}>"

    @property
    def applier(self) -> Applier:
        return self._applier

    async def __aenter__(self) -> AsyncApplier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def mint(self, job: MintJob) -> MintResult:
        """Mint one session in the applier's thread pool."""
        import asyncio

        executor = self._applier._pool([job])
        return await asyncio.wrap_future(executor.submit(self._applier.mint, job))

    async def mint_all(self, jobs: Sequence[MintJob], **started: Any) -> list[MintResult]:
        """Mint every job, ``concurrency`` at a time; results in the jobs' order."""
        import asyncio

        return await asyncio.to_thread(self._applier.mint_all, jobs, **started)

    def stop(self) -> None:
        self._applier.stop()

    async def aclose(self) -> None:
        import asyncio

        await asyncio.to_thread(self._applier.close)

    def close(self) -> None:
        self._applier.close()


def _environment_proxied() -> bool:
    """Whether httpx's client would route requests through a proxy from the environment."""
    from urllib.request import getproxies  # what httpx itself consults (trust_env)

    proxies = getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class _Connections:
    """Up to ``size`` single-connection httpx transports, one lent to each request in flight.

    Why not one ``httpx.Client`` (or transport) with ``size`` connections: at 32 requests in
    flight, ``Client.send`` and httpcore's shared pool (which rescans every connection and
    every waiting request under one lock, twice per request) cost about as much CPU as the
    HTTP exchange itself; a pool of one connection per request in flight, lent out whole, does
    neither, and halves the applier's CPU per mint (``bench/mint_throughput.py``). Requests are
    sent as ``Client.send`` would for a client without base URL, auth, cookies, hooks or
    redirects, which ours is. The most recently returned connection is lent first, so a lightly
    loaded process keeps few connections warm.
    """

    def __init__(self, size: int, tls: ssl.SSLContext) -> None:
        self._tls = tls  # one context for all: loading the CA bundle costs ~20 ms each time
        self._free = threading.Semaphore(size)
        self._idle: list[httpx.HTTPTransport] = []  # list.append/pop are atomic
        self._every: list[httpx.HTTPTransport] = []
        self._lock = threading.Lock()
        self._urls: dict[str, httpx.URL] = {}  # parsing a URL costs more than sending a header

    def post(
        self,
        url: str,
        content: bytes,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        read: Callable[[httpx.Response], None],
    ) -> httpx.Response:
        """POST on a connection of our own; the body is read (by ``read``) before returning."""
        if not self._free.acquire(timeout=timeout.pool):
            raise httpx.PoolTimeout("no connection became free in time")
        try:
            try:
                transport = self._idle.pop()
            except IndexError:  # every connection made so far is busy: make another
                transport = self._new()
            try:
                parsed = self._urls.get(url)
                if parsed is None:
                    if len(self._urls) >= 64:
                        self._urls.clear()
                    parsed = self._urls[url] = httpx.URL(url)
                request = httpx.Request(
                    "POST",
                    parsed,
                    content=content,
                    headers=headers,
                    extensions={"timeout": timeout.as_dict()},
                )
                response = transport.handle_request(request)
                response.request = request
                read(response)
                return response
            finally:
                self._idle.append(transport)
        finally:
            self._free.release()

    def _new(self) -> httpx.HTTPTransport:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        transport = httpx.HTTPTransport(verify=self._tls, limits=one)
        with self._lock:
            self._every.append(transport)
        return transport

    def close(self) -> None:
        with self._lock:
            every, self._every = self._every, []
        self._idle.clear()
        for transport in every:
            transport.close()


# ---------------------------------------------------------------------------------------------
# Response handling
# ---------------------------------------------------------------------------------------------

# Session objects are a few kilobytes: a bigger answer is refused rather than held in memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


def _read_body(response: httpx.Response, stop_at: float, monotonic: Callable[[], float]) -> None:
    """Read a streamed response's body, then close it. The read timeout bounds each read only:
    a server trickling bytes just inside it would hold the mint for ever, so the body must also
    arrive before ``stop_at`` (the mint's deadline), and within :data:`MAX_RESPONSE_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if monotonic() > stop_at:
                raise httpx.ReadTimeout("the response body was still arriving at the deadline")
            if size > MAX_RESPONSE_BYTES:
                raise httpx.RemoteProtocolError(
                    f"the response body is larger than {MAX_RESPONSE_BYTES} bytes"
                )
    finally:
        response.close()
    # What Response.read() stores: the body is then available as .content, .text and .json().
    response._content = b"".join(chunks)


def _classify(job: MintJob, key: str, response: httpx.Response, latency_ms: float) -> _Outcome:
    status = response.status_code
    headers = response.headers
    if 200 <= status < 300:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError, RecursionError):  # deep JSON: unreadable too
            return _Outcome(
                latency_ms=latency_ms,
                status=status,
                headers=headers,
                failure=MintFailure(
                    INVALID_RESPONSE,
                    f"HTTP {status} with a body that is not JSON "
                    f"({headers.get('content-type', 'no content type')})",
                    http_status=status,
                ),
            )
        if len(key) >= 8 and key.encode() in response.content:
            # The answer quotes our key (a proxy or gateway echoing headers): the response goes
            # to stdout with the token, and the key is never printed.
            with contextlib.suppress(ValueError):
                data = json.loads(response.text.replace(key, "[REDACTED]"))
        return _from_payload(job, data, status, headers, latency_ms)
    if 300 <= status < 400:
        location = headers.get("location", "(no Location)")
        return _Outcome(
            latency_ms=latency_ms,
            status=status,
            headers=headers,
            failure=MintFailure(
                REDIRECT,
                f"the server answered a redirect to {_scrub(location, key)}; redirects are not "
                "followed (the API key would go with it): check base_url",
                http_status=status,
            ),
        )
    return _Outcome(
        latency_ms=latency_ms,
        status=status,
        headers=headers,
        failure=_api_error(job, key, response),
        retryable=should_retry(status, headers),
    )


def _from_payload(
    job: MintJob, data: Any, status: int, headers: httpx.Headers, latency_ms: float
) -> _Outcome:
    token: Any = None
    expires_at: Any = None
    session_id: Any = None
    if isinstance(data, dict):
        if job.endpoint is Endpoint.CLIENT_SECRETS:
            token, expires_at = data.get("value"), data.get("expires_at")
            session = data.get("session")
            session_id = session.get("id") if isinstance(session, dict) else None
        else:
            secret = data.get("client_secret")
            if isinstance(secret, dict):
                token, expires_at = secret.get("value"), secret.get("expires_at")
            session_id = data.get("id")
    if not isinstance(token, str) or not token:
        where = "value" if job.endpoint is Endpoint.CLIENT_SECRETS else "client_secret.value"
        return _Outcome(
            latency_ms=latency_ms,
            status=status,
            headers=headers,
            failure=MintFailure(
                INVALID_RESPONSE,
                f"HTTP {status} without a client secret at {where}: no session was minted",
                http_status=status,
            ),
        )
    result = MintResult(
        template=job.template,
        env=job.env,
        endpoint=job.endpoint,
        ok=True,
        client_secret=token,
        expires_at=expires_at if isinstance(expires_at, int) and expires_at >= 0 else None,
        session_id=session_id if isinstance(session_id, str) else None,
        response=data,
        http_status=status,
    )
    return _Outcome(latency_ms=latency_ms, status=status, headers=headers, result=result)


def _api_error(job: MintJob, key: str, response: httpx.Response) -> MintFailure:
    status = response.status_code
    error: Any = None
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
    if not isinstance(error, dict):
        error = {}
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status} {response.reason_phrase}".strip()
    kind = error.get("type")
    code = error.get("code")
    param = error.get("param")
    failure = MintFailure(
        type=kind if isinstance(kind, str) and kind else HTTP_ERROR,
        message=_scrub(message, key),
        http_status=status,
        code=code if isinstance(code, str) else None,
        param=param if isinstance(param, str) and param else None,
    )
    if failure.param is not None:
        failure = _locate(job, failure, failure.param)
    return failure


def _locate(job: MintJob, failure: MintFailure, param: str) -> MintFailure:
    """Point a failure naming a body field at the template path and the line that set it."""
    try:
        body_path = parse_param(param)
    except ValueError:
        return failure
    if not body_path:
        return failure
    tpath = template_path(job.endpoint, body_path)
    origin = job.locate(tpath) if job.locate is not None and tpath else None
    from dataclasses import replace

    return replace(
        failure,
        path=format_path(tpath) if tpath else None,
        location=origin.location() if origin is not None else None,
        file=origin.file if origin is not None else None,
        line=origin.line if origin is not None else None,
    )


def _failed(
    job: MintJob, failure: MintFailure, *, attempts: int, outcome: _Outcome | None = None
) -> MintResult:
    return MintResult(
        template=job.template,
        env=job.env,
        endpoint=job.endpoint,
        ok=False,
        error=failure,
        attempts=attempts,
        http_status=outcome.status if outcome is not None else None,
        request_id=outcome.request_id if outcome is not None else None,
        latency_ms=outcome.latency_ms if outcome is not None else None,
    )


def _with_meta(result: MintResult, attempt: int, outcome: _Outcome) -> MintResult:
    from dataclasses import replace

    return replace(
        result, attempts=attempt, request_id=outcome.request_id, latency_ms=outcome.latency_ms
    )


def _note(failure: MintFailure, note: str) -> MintFailure:
    from dataclasses import replace

    return replace(failure, message=f"{failure.message} ({note})")


def _label(job: MintJob) -> str:
    return job.template + (f" [{job.env}]" if job.env else "")


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def _exc_kind(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "write timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    return "timeout"


def _describe_transport_error(exc: Exception, key: str) -> str:
    if isinstance(exc, httpx.ConnectError):
        kind = "could not connect"
    elif isinstance(exc, httpx.RemoteProtocolError):
        kind = "the server closed the connection or broke the protocol"
    elif isinstance(exc, httpx.ReadError | httpx.WriteError):
        kind = "the connection failed mid-request"
    else:
        kind = "connection error"
    detail = str(exc)
    return _scrub(f"{kind}: {detail}" if detail else kind, key)


def _scrub(text: str, *secrets: str) -> str:
    """Remove secrets from text that came from outside (a server's message, an exception)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text
