"""The applier's own connections: shared by any number of threads, proxies honoured."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from rtconfig._apply.engine import Applier
from rtconfig._endpoints import Endpoint
from rtconfig.testing import Emulator
from tests._apply_helpers import API_KEY, make_job


def test_more_threads_than_connections_all_mint() -> None:
    """Twelve threads calling mint() on a concurrency-2 applier wait their turn; none fails."""
    with Emulator() as api:
        job = make_job(base_url=api.base_url, endpoint=Endpoint.CLIENT_SECRETS)
        with (
            Applier(environ={"OPENAI_API_KEY": API_KEY}, concurrency=2) as applier,
            ThreadPoolExecutor(12) as pool,
        ):
            results = list(pool.map(lambda _: applier.mint(job), range(36)))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        assert len(set(api.tokens)) == 36


def test_an_environment_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, requests go through the proxy, as httpx's client sends them."""
    with Emulator() as proxy, Emulator() as api:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        job = make_job(base_url=api.base_url, endpoint=Endpoint.CLIENT_SECRETS)
        with Applier(environ={"OPENAI_API_KEY": API_KEY}) as applier:
            applier.mint(job)
        assert [r.path for r in proxy.requests] == [api.base_url + "/realtime/client_secrets"]
        assert api.requests == []
