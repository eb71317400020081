"""A long-running process's AsyncApplier holds a server's burst without being told to."""

from __future__ import annotations

import asyncio

import httpx

from rtconfig import AsyncApplier
from rtconfig._apply.engine import DEFAULT_ASYNC_CONCURRENCY
from tests._apply_helpers import API_KEY, make_job, ok_ga

BURST = 300  # more browsers at once than the 128 mints a smaller default once allowed


def test_the_default_async_applier_has_a_burst_in_flight_at_once() -> None:
    """300 mints started together are all in flight together with the default concurrency."""
    in_flight = 0
    everyone = asyncio.Event()

    async def upstream(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        if in_flight == BURST:
            everyone.set()
        # Answer only once the whole burst is waiting on the upstream: with a lower cap the
        # event never fires and the mints time out (the test fails, it does not measure).
        await asyncio.wait_for(everyone.wait(), timeout=30)
        return ok_ga()

    async def burst() -> list[bool]:
        transport = httpx.MockTransport(upstream)
        async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, transport=transport) as a:
            assert a.concurrency == DEFAULT_ASYNC_CONCURRENCY >= BURST
            job = make_job(max_retries=0)
            results = await asyncio.gather(*(a.mint(job) for _ in range(BURST)))
        return [r.ok for r in results]

    assert asyncio.run(burst()) == [True] * BURST
