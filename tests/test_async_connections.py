"""AsyncApplier's own connections (asyncio-native, lent whole): as many as mints in flight,
reused, replaced when the server hangs up, and TLS verified as the sync engine verifies it."""

from __future__ import annotations

import asyncio
import socket
import threading

from rtconfig import AsyncApplier
from rtconfig._endpoints import Endpoint
from rtconfig.testing import Emulator
from tests._apply_helpers import API_KEY, make_job
from tests._robust import RawServer, read_request

ANSWER = b'{"value": "ek_ASYNCCONN_%012d", "expires_at": 1900000000, "session": {"id": "s"}}'


def keep_alive(close_after: int | None = None, delay_s: float = 0.0):  # type: ignore[no-untyped-def]
    """A handler answering requests on one connection until the client closes it (or, with
    ``close_after``, hanging up after that many answers: an idle keep-alive the server ends)."""
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        answered = 0
        while True:
            if not read_request(conn):
                return
            if delay_s:
                threading.Event().wait(delay_s)
            with lock:
                body = ANSWER % next(counter)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            conn.sendall(head + body)
            answered += 1
            if close_after is not None and answered >= close_after:
                conn.close()
                return

    return handle


def test_a_burst_opens_no_more_connections_than_mints_in_flight() -> None:
    """90 mints, 8 in flight: at most 8 connections are opened and every mint succeeds on
    them (connections are reused, not one per mint)."""
    with RawServer(keep_alive(delay_s=0.01), backlog=64) as server:
        job = make_job(base_url=server.base_url, endpoint=Endpoint.CLIENT_SECRETS)

        async def run() -> list[bool]:
            async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=8) as a:
                results = await a.mint_all([job] * 90)
            return [r.ok for r in results]

        assert asyncio.run(run()) == [True] * 90
        assert 1 <= server.connections <= 8


def test_connections_stay_open_between_bursts() -> None:
    """A second burst on the same applier reuses the first burst's connections."""
    with RawServer(keep_alive(delay_s=0.01), backlog=64) as server:
        job = make_job(base_url=server.base_url, endpoint=Endpoint.CLIENT_SECRETS)

        async def run() -> tuple[int, int]:
            async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=6) as a:
                assert all(r.ok for r in await a.mint_all([job] * 6))
                first = server.connections
                assert all(r.ok for r in await a.mint_all([job] * 30))
            return first, server.connections

        first, after = asyncio.run(run())
        assert 1 <= first <= 6 and after == first


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_failed_attempt() -> None:
    """The server hangs up after each answer: the next mint notices the idle connection is
    gone, opens another, and succeeds on its first attempt."""
    with RawServer(keep_alive(close_after=1)) as server:
        job = make_job(base_url=server.base_url, endpoint=Endpoint.CLIENT_SECRETS, max_retries=0)

        async def run() -> list[int]:
            async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=1) as a:
                attempts = []
                for _ in range(3):
                    result = await a.mint(job)
                    assert result.ok, result.error
                    attempts.append(result.attempts)
                    await asyncio.sleep(0.05)  # the hang-up reaches the idle connection
            return attempts

        assert asyncio.run(run()) == [1, 1, 1]
        assert server.connections == 3


def test_the_async_engine_mints_against_the_emulator_with_many_in_flight() -> None:
    """64 mints through the emulator with 32 in flight: each gets its own token."""
    with Emulator() as api:
        job = make_job(base_url=api.base_url, endpoint=Endpoint.CLIENT_SECRETS)

        async def run() -> list[str]:
            async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=32) as a:
                results = await a.mint_all([job] * 64)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok]
            return [r.client_secret for r in results if r.client_secret]

        tokens = asyncio.run(run())
        assert len(set(tokens)) == 64 and set(tokens) == set(api.tokens)


def test_a_connection_refused_is_a_retryable_connection_error() -> None:
    """Nothing listening: the mint fails as a connection error (after its retries), never an
    exception out of the engine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    job = make_job(base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)

    async def run() -> object:
        async with AsyncApplier(environ={"OPENAI_API_KEY": API_KEY}) as a:
            return await a.mint(job)

    result = asyncio.run(run())
    assert result.error is not None and result.error.type == "connection_error"  # type: ignore[attr-defined]
    assert result.attempts == 2  # type: ignore[attr-defined]
