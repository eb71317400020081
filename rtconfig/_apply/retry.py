"""When to retry a mint and how long to wait: the openai SDK's rules, as pure functions.

Following ``openai/_base_client.py`` (``_should_retry``, ``_parse_retry_after_header``,
``_calculate_retry_timeout``):

- the server's wait is ``retry-after-ms``, else ``Retry-After`` (seconds, or an HTTP date);
- a wait over :data:`MAX_RETRY_AFTER_S` (120 s) means *do not retry* (fail at once);
- a wait in (0, 120] is honoured exactly; a missing, zero, negative or garbled one falls back to
  exponential backoff: ``min(0.5 * 2**n, 8) * (1 - 0.25 * random())`` for the n-th retry
  (n from 0), i.e. jitter of 0.75–1.0 of the backoff;
- ``x-should-retry: true`` / ``false`` (exactly those strings) decides next; then 408, 409, 429
  and every 5xx are retried; connection errors and timeouts are retried too.

No clock is read here: callers pass ``now`` and the random draw, so tests assert exact delays.
"""

from __future__ import annotations

import email.utils
import math
import random as _random
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "MAX_RETRY_AFTER_S",
    "RETRYABLE_STATUSES",
    "Clock",
    "RetryPolicy",
    "after_failure",
    "retry_after_s",
    "should_retry",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER_S = 120.0
INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0

Headers = Mapping[str, str]  # names in lower case


def _lower(headers: Headers) -> Headers:
    if all(name.islower() for name in headers):
        return headers
    return {name.lower(): value for name, value in headers.items()}


def retry_after_s(headers: Headers, now: float) -> float | None:
    """The wait the server asked for, in seconds (``retry-after-ms``, then ``Retry-After`` as
    seconds, then as an HTTP date relative to the wall-clock ``now``); None if absent or garbled.
    May be zero, negative or over the maximum: :meth:`RetryPolicy.delay_s` judges it."""
    headers = _lower(headers)
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if delay == math.inf and value.strip().lower() not in ("inf", "+inf", "infinity"):
            return MAX_RETRY_AFTER_S + 1  # a numeric overflow: an excessive wait, not garbage
        return delay / divisor
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed) - now)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def should_retry(status: int, headers: Headers, now: float = 0.0) -> bool:
    """Whether an HTTP error answer is worth another attempt (the SDK's ``_should_retry``)."""
    headers = _lower(headers)
    asked = retry_after_s(headers, now)
    if asked is not None and math.isfinite(asked) and asked > MAX_RETRY_AFTER_S:
        return False
    hint = headers.get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. ``max_retries=None`` takes the record's
    ``settings.max_retries``. ``deadline_s`` bounds one mint from its first attempt to its last
    answer, waits included (a wait that would pass it is not taken)."""

    max_retries: int | None = None
    initial_backoff_s: float = INITIAL_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    deadline_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries is not None and (
            not isinstance(self.max_retries, int) or self.max_retries < 0
        ):
            raise TypeError("max_retries must be a non-negative integer or None")

    def backoff_s(self, retry: int, rand: float) -> float:
        """The jittered wait before retry number ``retry`` (1-based), ``rand`` in [0, 1)."""
        n = min(retry - 1, 1000)
        return min(self.initial_backoff_s * 2.0**n, self.max_backoff_s) * (1.0 - 0.25 * rand)

    def delay_s(self, retry: int, headers: Headers | None, now: float, rand: float) -> float:
        """How long to wait before retry ``retry``: the server's word when it is in
        (0, ``max_retry_after_s``], else backoff."""
        asked = retry_after_s(headers, now) if headers is not None else None
        if asked is not None and math.isfinite(asked) and 0 < asked <= self.max_retry_after_s:
            return asked
        return self.backoff_s(retry, rand)


def after_failure(
    policy: RetryPolicy,
    clock: Clock,
    *,
    retryable: bool,
    attempt: int,
    max_retries: int,
    stopped: bool,
    headers: Headers | None,
    deadline: float,
) -> float | str | None:
    """After failed attempt number ``attempt``: how long to wait before the next one (a
    float), or why this failure is final — a note for its message (a str), or None when it was
    not retryable. One decision for mints and calls alike."""
    retries_left = attempt <= max_retries
    if retryable and retries_left and not stopped:
        delay = policy.delay_s(attempt, headers, clock.time(), clock.random())
        if clock.monotonic() + delay < deadline:
            return float(delay)
        return (
            f"gave up: waiting {delay:g} s to retry would pass the {policy.deadline_s:g} s deadline"
        )
    if retryable and retries_left:
        return "interrupted before the next retry"
    if retryable and max_retries:
        return f"after {attempt} attempts"
    return None
