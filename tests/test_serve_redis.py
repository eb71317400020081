"""Rate limits shared by two ``rtconfig serve`` processes through a real redis-server on
loopback (CONTRACT §11: limits that survive more than one machine)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rtconfig.testing import EMULATOR_API_KEY, Emulator
from tests._serve_helpers import BASE_TOML, SERVE_TOKEN, SERVE_TOML, require, serving

pytest.importorskip("starlette", reason="needs the serve extra")
AUTH = {"Authorization": f"Bearer {SERVE_TOKEN}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = require("redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _toml(storage: str, rate: str) -> str:
    return BASE_TOML + SERVE_TOML.replace(
        'rate = "100/minute"', f'rate = "{rate}"\nrate_storage = "{storage}"'
    )


def _environ(api: Emulator) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": EMULATOR_API_KEY,
        "OPENAI_BASE_URL": api.base_url,
        "RTCONFIG_SERVE_TOKENS": SERVE_TOKEN,
    }


def test_two_replicas_share_one_limit_through_redis(redis_url: str, tmp_path: Path) -> None:
    """With rate 3/minute in Redis, two requests on replica A and one on B use the caller's
    allowance: the next one on B is 429 with Retry-After, though B itself saw only one."""
    url = "/v1/templates/sales/client_secret"
    with Emulator() as api:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        toml = _toml(redis_url, "3/minute")
        with (
            serving(tmp_path / "a", toml, _environ(api)) as a,
            serving(tmp_path / "b", toml, _environ(api)) as b,
        ):
            first = [httpx.post(a.url + url, headers=AUTH, timeout=20).status_code for _ in "ab"]
            third = httpx.post(b.url + url, headers=AUTH, timeout=20)
            fourth = httpx.post(b.url + url, headers=AUTH, timeout=20)
            health = httpx.get(b.url + "/healthz")
    assert first == [200, 200] and third.status_code == 200
    assert fourth.status_code == 429
    assert 1 <= int(fourth.headers["retry-after"]) <= 60
    assert health.json() == {"status": "ok"}


def test_unreachable_redis_fails_closed(tmp_path: Path) -> None:
    """Redis down: template routes answer 503 (never unlimited), /healthz says unavailable."""
    dead = f"redis://127.0.0.1:{_free_port()}/0"
    with Emulator() as api, serving(tmp_path, _toml(dead, "3/minute"), _environ(api)) as served:
        response = httpx.post(
            served.url + "/v1/templates/sales/client_secret", headers=AUTH, timeout=20
        )
        health = httpx.get(served.url + "/healthz", timeout=20)
        minted = len(api.requests)
    assert response.status_code == 503 and "Traceback" not in response.text
    assert health.status_code == 503
    assert minted == 0
