#!/usr/bin/env python3
"""Backend burst: the token-vending backend of docs/backend.md under a burst of browser clients.

    .venv/bin/pip install -e '.[test,bench]'        # fastapi, uvicorn, aiohttp, the openai SDK
    .venv/bin/python bench/backend_burst.py          # 256 clients, 200 ms upstream, 3 runs
    .venv/bin/python bench/backend_burst.py --clients 8 --per-client 2 --runs 1 --latency-ms 20

Three processes per measurement, all on this machine: the upstream is rtconfig's emulator
(``rtconfig.testing.Emulator(latency_s=…)``: every answer ``--latency-ms`` late, as OpenAI is
slow to mint), the backend runs under uvicorn, and a load generator (bare asyncio sockets,
keep-alive, no HTTP library) opens ``--clients`` connections that each POST
``/realtime/session/push-to-talk`` ``--per-client`` times, as fast as answers come back.

Backends, each a FastAPI app with the same route and answer:

  rtconfig   the FastAPI recipe of docs/backend.md, executed verbatim from the page
             (``create_app`` with its defaults: ``rtconfig.AsyncApplier``)
  openai     the same route minting with the openai SDK: ``AsyncOpenAI().realtime.client_secrets
             .create(...)`` (the SDK's defaults)
  aiohttp    the same route posting the body with one ``aiohttp.ClientSession`` (no
             connection limit): the fastest Python client, a baseline
  httpx      the same route with one ``httpx.AsyncClient`` (its default limits)

``direct`` sends the load straight to the upstream: what the emulator and the machine allow.
Ideal = clients / latency. Figures: requests per second from the first request to the last
answer, and latency percentiles; "added" latency is a request's latency minus the upstream's
``--latency-ms``. Medians (and ranges) of ``--runs`` runs, backends interleaved round by round.
Prints figures and ratios; never fails on timings.
"""

# No `from __future__ import annotations` here: FastAPI reads the route's annotations at runtime.
import argparse
import asyncio
import importlib.util
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, REPO, machine_description

HERE = Path(__file__).resolve()
KEY = "sk-bench-not-a-real-key-0000000000"
BACKENDS = ("rtconfig", "openai", "aiohttp", "httpx")
NEEDS = {"rtconfig": (), "openai": ("openai",), "aiohttp": ("aiohttp",), "httpx": ()}
SERVER = ("fastapi", "uvicorn")  # every backend: pip install -e '.[test,bench]'


def _missing(backend: str) -> list[str]:
    return [m for m in (*SERVER, *NEEDS[backend]) if importlib.util.find_spec(m) is None]


TEMPLATE = "push-to-talk"
CONFIG = f"""\
[api]
endpoint = "realtime/client_secrets"

[templates.{TEMPLATE}]
type = "realtime"
model = "gpt-realtime"
instructions = "You are a friendly assistant."
audio.output.voice = "marin"
expires_after = {{ anchor = "created_at", seconds = 600 }}
"""
BODY = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a friendly assistant.",
        "audio": {"output": {"voice": "marin"}},
    },
}


# -- the backends ------------------------------------------------------------------------------


def docs_recipe() -> str:
    """The FastAPI example of docs/backend.md, up to where the page starts to try it out."""
    text = (REPO / "docs" / "backend.md").read_text(encoding="utf-8")
    section = text.split("## FastAPI", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    if code is None:
        raise SystemExit("docs/backend.md has no FastAPI example")
    return code.group(1).split("# --- run it against the emulator", 1)[0]


def rtconfig_app(upstream: str, config_path: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "backend_recipe"}
    exec(compile(docs_recipe(), "docs/backend.md", "exec"), namespace)
    return namespace["create_app"](
        config_path, env=None, environ={"OPENAI_API_KEY": KEY}, base_url=upstream
    )


def _sdk_app(mint: Any, startup: Any = None, shutdown: Any = None) -> Any:
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, HTTPException, Response

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if startup is not None:
            await startup()
        yield
        if shutdown is not None:
            await shutdown()

    app = FastAPI(lifespan=lifespan)

    @app.post("/realtime/session/{template}")
    async def route(template: str, response: Response) -> dict[str, object]:
        if template != TEMPLATE:
            raise HTTPException(404, f"no template {template!r}")
        try:
            value, expires_at = await mint()
        except Exception as exc:
            raise HTTPException(502, "could not create a session; try again") from exc
        response.headers["Cache-Control"] = "no-store"
        return {"client_secret": value, "expires_at": expires_at}

    return app


def openai_app(upstream: str) -> Any:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=KEY, base_url=upstream)

    async def mint() -> tuple[str, int]:
        secret = await client.realtime.client_secrets.create(**BODY)  # type: ignore[arg-type]
        return secret.value, secret.expires_at

    return _sdk_app(mint, shutdown=client.close)


def aiohttp_app(upstream: str) -> Any:
    import aiohttp

    state: dict[str, Any] = {}
    url = f"{upstream}/realtime/client_secrets"
    headers = {"Authorization": f"Bearer {KEY}"}

    async def startup() -> None:
        state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def mint() -> tuple[str, int]:
        async with state["session"].post(url, json=BODY, headers=headers) as answer:
            answer.raise_for_status()
            data = await answer.json()
        return data["value"], data["expires_at"]

    async def shutdown() -> None:
        await state["session"].close()

    return _sdk_app(mint, startup, shutdown)


def httpx_app(upstream: str) -> Any:
    import httpx

    client = httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {KEY}"})

    async def mint() -> tuple[str, int]:
        answer = await client.post("/realtime/client_secrets", json=BODY)
        answer.raise_for_status()
        data = answer.json()
        return data["value"], data["expires_at"]

    return _sdk_app(mint, shutdown=client.aclose)


def serve_backend(kind: str, port: int, upstream: str, config_path: str) -> None:
    import uvicorn

    apps = {"openai": openai_app, "aiohttp": aiohttp_app, "httpx": httpx_app}
    app = rtconfig_app(upstream, config_path) if kind == "rtconfig" else apps[kind](upstream)
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, backlog=4096
    )


def serve_upstream(port: int, latency_ms: float) -> None:
    from rtconfig.testing import Emulator

    emulator = Emulator(port=port, latency_s=latency_ms / 1000, history=1000)
    emulator.serve_forever()


# -- processes ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([PYTHON, str(HERE), *argv], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv[0]} {argv[1]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{argv} did not start listening on port {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- the load ----------------------------------------------------------------------------------


async def _client(port: int, path: str, count: int, body: bytes, out: list[Any]) -> None:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            answer = await reader.readexactly(length)
            end = time.perf_counter()
            out.append((start, end, head.startswith(b"HTTP/1.1 200") and len(answer) > 0))
    finally:
        writer.close()


def load(port: int, path: str, clients: int, per_client: int) -> dict[str, Any]:
    """``clients`` keep-alive connections, each sending ``per_client`` requests in a row."""
    body = json.dumps(BODY if path.endswith("client_secrets") else {}).encode()
    samples: list[Any] = []

    async def run() -> None:
        clients_ = (_client(port, path, per_client, body, samples) for _ in range(clients))
        await asyncio.gather(*clients_)

    asyncio.run(run())
    first = min(s[0] for s in samples)
    last = max(s[1] for s in samples)
    latencies = sorted((s[1] - s[0]) * 1000 for s in samples)
    return {
        "rate": len(samples) / (last - first),
        "ok": sum(1 for s in samples if s[2]),
        "n": len(samples),
        "p50": _percentile(latencies, 50),
        "p99": _percentile(latencies, 99),
    }


def _percentile(values: list[float], pct: float) -> float:
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
    return values[index]


def _measure(port: int, path: str, clients: int, per_client: int) -> dict[str, Any]:
    proc = subprocess.run(
        [PYTHON, str(HERE), "--load", str(port), path, str(clients), str(per_client)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the report --------------------------------------------------------------------------------


def _summary(runs: list[dict[str, Any]], key: str) -> tuple[float, float, float]:
    values = [r[key] for r in runs]
    return statistics.median(values), min(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--per-client", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--p99-clients", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()
    backends = []
    for backend in (b for b in args.backends.split(",") if b):
        missing = _missing(backend)
        if missing:
            print(f"{backend:10} skipped: {', '.join(missing)} not installed")
        else:
            backends.append(backend)
    ideal = args.clients / (args.latency_ms / 1000)
    print(
        f"# backend burst: {args.clients} clients x {args.per_client} requests, upstream "
        f"{args.latency_ms:g} ms (rtconfig's emulator); medians of {args.runs} runs [min-max]"
    )
    print(f"# {machine_description()}", flush=True)
    upstream_port = _free_port()
    upstream = _start(["--serve-upstream", str(upstream_port), str(args.latency_ms)], upstream_port)
    upstream_url = f"http://127.0.0.1:{upstream_port}/v1"
    burst: dict[str, list[dict[str, Any]]] = {b: [] for b in ["direct", *backends]}
    calm: dict[str, list[dict[str, Any]]] = {b: [] for b in ["direct", *backends]}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sessions.toml"
        config.write_text(CONFIG)
        try:
            for _ in range(args.runs):
                _round(args, backends, upstream_port, upstream_url, str(config), burst, calm)
        finally:
            _stop(upstream)
    _report(args, ideal, burst, calm)


def _round(
    args: argparse.Namespace,
    backends: list[str],
    upstream_port: int,
    upstream_url: str,
    config: str,
    burst: dict[str, list[dict[str, Any]]],
    calm: dict[str, list[dict[str, Any]]],
) -> None:
    direct = "/v1/realtime/client_secrets"
    _measure(upstream_port, direct, min(args.clients, 32), 1)  # warm-up
    burst["direct"].append(_measure(upstream_port, direct, args.clients, args.per_client))
    calm["direct"].append(_measure(upstream_port, direct, args.p99_clients, args.per_client))
    _progress("direct", burst["direct"][-1], calm["direct"][-1])
    route = f"/realtime/session/{TEMPLATE}"
    for backend in backends:
        port = _free_port()
        proc = _start(["--serve-backend", backend, str(port), upstream_url, config], port)
        try:
            _measure(port, route, min(args.clients, 32), 2)  # warm-up: connections, imports
            burst[backend].append(_measure(port, route, args.clients, args.per_client))
            calm[backend].append(_measure(port, route, args.p99_clients, args.per_client))
            _progress(backend, burst[backend][-1], calm[backend][-1])
        finally:
            _stop(proc)


def _progress(name: str, burst: dict[str, Any], calm: dict[str, Any]) -> None:
    """One run's figures as soon as they are measured (a long run can be read as it goes)."""
    print(
        f"# run: {name:10} {burst['rate']:6.0f} req/s, p50 {burst['p50']:.0f} ms, p99 "
        f"{burst['p99']:.0f} ms, ok {burst['ok']}/{burst['n']}; calm p99 {calm['p99']:.0f} ms; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )


def _report(
    args: argparse.Namespace,
    ideal: float,
    burst: dict[str, list[dict[str, Any]]],
    calm: dict[str, list[dict[str, Any]]],
) -> None:
    upstream = args.latency_ms
    print(f"{'backend':10} {'req/s':>16} {'% ideal':>8} {'p50 ms':>8} {'p99 ms':>8} {'ok':>6}")
    for name, runs in burst.items():
        rate, low, high = _summary(runs, "rate")
        ok = min(r["ok"] / r["n"] for r in runs)
        print(
            f"{name:10} {rate:7.0f} [{low:.0f}-{high:.0f}] {100 * rate / ideal:7.0f}% "
            f"{_summary(runs, 'p50')[0]:8.1f} {_summary(runs, 'p99')[0]:8.1f} {100 * ok:5.0f}%"
        )
    print(f"ideal      {ideal:7.0f}  ({args.clients} clients / {upstream:g} ms)")
    print(f"# {args.p99_clients} clients: latency added to the upstream's {upstream:g} ms")
    for name, runs in calm.items():
        p50, p99 = _summary(runs, "p50")[0] - upstream, _summary(runs, "p99")
        print(
            f"{name:10} added p50 {p50:6.1f} ms, p99 {p99[0] - upstream:6.1f} ms "
            f"[{p99[1] - upstream:.1f}-{p99[2] - upstream:.1f}]"
        )
    if "rtconfig" in burst:
        rate = _summary(burst["rtconfig"], "rate")[0]
        print(f"ratio: rtconfig / ideal = {rate / ideal:.2f} (target >= 0.90)")
        if "openai" in burst:
            sdk = _summary(burst["openai"], "rate")[0]
            print(f"ratio: rtconfig / openai = {rate / sdk:.2f} (target >= 2.5)")
        p99 = _summary(calm["rtconfig"], "p99")[0] - upstream
        print(
            f"ratio: rtconfig p99 added latency at {args.p99_clients} clients = {p99:.1f} ms "
            "(target <= 25 ms)"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-upstream"]:
        serve_upstream(int(sys.argv[2]), float(sys.argv[3]))
    elif sys.argv[1:2] == ["--serve-backend"]:
        serve_backend(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[1:2] == ["--load"]:
        print(json.dumps(load(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    else:
        main()
