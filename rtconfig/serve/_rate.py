"""Per-caller rate limits on the ``limits`` library's storage (memory, or Redis shared by every
replica).

``rate = "N/period"`` allows N requests per caller in any rolling period (``limits``' moving
window, the same algorithm on both storages); ``burst = B`` adds a second rolling window that
allows at most B requests in any B/N of the period, so a caller's allowance refills steadily
instead of all at once — the shape of a token bucket with capacity B refilled at N per period,
built from what ``limits`` provides (it has no token-bucket strategy of its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rtconfig._serve_settings import Rate
from rtconfig.serve._decide import retry_after_s

__all__ = ["RateDecision", "RateLimiter", "windows"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after_s: int | None = None


def windows(rate: Rate) -> list[tuple[int, int]]:
    """The rolling windows a rate is enforced with: ``(count, seconds)`` pairs."""
    out = [(rate.count, rate.period_s)]
    if rate.burst is not None and rate.burst < rate.count:
        out.append((rate.burst, max(1, round(rate.period_s * rate.burst / rate.count))))
    return out


class RateLimiter:
    """Counts each caller's requests in ``storage_uri`` (``memory://`` or ``redis://…``)."""

    def __init__(
        self,
        rate: Rate,
        storage_uri: str = "memory://",
        *,
        namespace: str = "rtconfig-serve",
        clock: Callable[[], float] = time.time,
    ) -> None:
        from limits import RateLimitItemPerSecond
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.storage import storage_from_string

        options: dict[str, Any] = {}
        if storage_uri.startswith(("redis://", "rediss://")):
            # redis-py is what the `limits[redis]` extra installs (coredis is limits' default).
            options["implementation"] = "redispy"
            options["key_prefix"] = namespace
        self._storage = storage_from_string(f"async+{storage_uri}", **options)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items = [RateLimitItemPerSecond(n, s, namespace=namespace) for n, s in windows(rate)]
        self._clock = clock

    async def hit(self, caller: str, bucket: str) -> RateDecision:
        """Count one request by ``caller``; refused with the seconds until a slot frees."""
        for item in self._items:
            if not await self._limiter.hit(item, bucket, caller):
                stats = await self._limiter.get_window_stats(item, bucket, caller)
                return RateDecision(False, retry_after_s(stats.reset_time, self._clock()))
        return RateDecision(True)

    async def check_storage(self) -> bool:
        """Whether the storage answers (Redis reachable); memory always does."""
        checked: Any = self._storage.check()
        return bool(await checked)
