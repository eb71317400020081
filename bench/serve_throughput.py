#!/usr/bin/env python3
"""`rtconfig serve` under load, beside the FastAPI + AsyncOpenAI endpoint users write today.

    .venv/bin/pip install -e '.[serve,bench]'                    # uvicorn, fastapi, openai
    .venv/bin/python bench/serve_throughput.py                   # 64 and 256 clients, 10 s each
    .venv/bin/python bench/serve_throughput.py --clients 8 --seconds 2 --runs 1   # smoke size

Processes (each its own, so that none steals the others' interpreter): the upstream answering
after ``--latency-ms`` (200 ms: OpenAI's order of magnitude) — bench/mint_throughput.py's bare
asyncio server by default, or ``--upstream emulator`` (``rtconfig.testing.Emulator``, which
validates each body and saturates long before the servers under test do); the server under
test on uvicorn with one worker; a load generator of ``--clients`` keep-alive connections, each
sending ``POST /v1/templates/support/client_secret`` back to back for ``--seconds`` after a
warm-up. Servers:

  rtconfig-serve    `rtconfig serve` (auth off on loopback, rate limit far above the load)
  fastapi-openai    a minimal FastAPI app whose route awaits
                    AsyncOpenAI().realtime.client_secrets.create(...) and returns
                    {value, expires_at, session_id}

A "ceiling" line per client count is the load generator posting straight to the upstream: what
the upstream and the machine allow, without any server in between.

Figures: requests per second, p50 and p99 latency and the latency *added* over the upstream's
(the median of ``--runs`` runs, servers interleaved), the server's RSS before and after, and
the server process's own CPU time per request (user + system, from /proc: the figure that
other load on a shared machine does not change much).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, machine_description

HERE = Path(__file__).resolve()
SERVERS = ("rtconfig-serve", "fastapi-openai")
TOML = """\
[api]
endpoint = "realtime/client_secrets"
max_retries = 0
concurrency = 256

[templates.support]
type = "realtime"
model = "gpt-realtime"
instructions = "You are a friendly support agent."
expires_after = { anchor = "created_at", seconds = 600 }

[serve]
templates = ["support"]
rate = "999999/second"
"""
FASTAPI_APP = """\
import os
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], max_retries=0)
SESSION = {"type": "realtime", "model": "gpt-realtime",
           "instructions": "You are a friendly support agent."}


@app.post("/v1/templates/{template}/client_secret")
async def client_secret(template: str) -> dict:
    secret = await client.realtime.client_secrets.create(
        session=SESSION, expires_after={"anchor": "created_at", "seconds": 600}
    )
    return {"value": secret.value, "expires_at": secret.expires_at,
            "session_id": secret.session.id}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a bench process exited early ({proc.args})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listened on {port}")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_upstream(latency_ms: float, kind: str) -> tuple[subprocess.Popen[bytes], str]:
    """The upstream: bench/mint_throughput.py's raw asyncio server (default), or the emulator."""
    if kind == "raw":
        from mint_throughput import start_server as start_raw

        proc, port = start_raw(latency_ms)
        return proc, f"http://127.0.0.1:{port}/v1"
    return start_emulator(latency_ms)


def start_emulator(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    code = (
        "import time\nfrom rtconfig.testing import Emulator\n"
        f"with Emulator(port={port}, latency_s={latency_ms / 1000}):\n    time.sleep(10**6)\n"
    )
    proc = subprocess.Popen([PYTHON, "-c", code])
    _wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}/v1"


def start_server(kind: str, base_url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RTCONFIG", "OPENAI"))},
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": base_url,
    }
    if kind == "rtconfig-serve":
        (folder / "sessions.toml").write_text(TOML)
        argv = [PYTHON, "-m", "rtconfig", "serve", "sessions.toml", "--port", str(port)]
    else:
        (folder / "bench_app.py").write_text(FASTAPI_APP)
        argv = [
            PYTHON,
            "-m",
            "uvicorn",
            "bench_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    proc = subprocess.Popen(
        argv, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_port(port, proc)
    return proc, port


# -- the load generator (its own process) ------------------------------------------------------


CEILING_BODY = json.dumps(
    {
        "expires_after": {"anchor": "created_at", "seconds": 600},
        "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "x"},
    }
).encode()


def _request(upstream: bool) -> bytes:
    """The request each client repeats: the server's route, or (the ceiling) the emulator's."""
    if not upstream:
        return (
            b"POST /v1/templates/support/client_secret HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
    return (
        b"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer bench-key\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(CEILING_BODY)}\r\n\r\n".encode()
        + CEILING_BODY
    )


def load(
    port: int, clients: int, seconds: float, warmup: float, upstream: bool = False
) -> dict[str, Any]:
    """``clients`` keep-alive connections posting back to back; latencies after the warm-up."""
    request = _request(upstream)
    latencies: list[float] = []
    errors = total = 0

    async def client(start: float, stop: float) -> None:
        nonlocal errors
        while time.monotonic() < stop:  # a connection the server closed is opened again
            try:
                await connection(start, stop)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                errors += 1

    async def connection(start: float, stop: float) -> None:
        nonlocal errors, total
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                sent = time.monotonic()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
                    continue
                total += 1
                if sent >= start:
                    latencies.append(time.monotonic() - sent)
        finally:
            writer.close()

    async def main() -> float:
        begin = time.monotonic()
        start, stop = begin + warmup, begin + warmup + seconds
        await asyncio.gather(*(client(start, stop) for _ in range(clients)))
        return time.monotonic() - start

    elapsed = asyncio.run(main())
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "errors": errors,
        "count": len(latencies),
        "total": total,
    }


def measure(kind: str, base_url: str, clients: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        proc, port = start_server(kind, base_url, Path(folder))
        try:
            rss_before, cpu_before = _rss_kib(proc.pid), _cpu_s(proc.pid)
            out = subprocess.run(
                [PYTHON, str(HERE), "--load", str(port), str(clients), str(seconds)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result: dict[str, Any] = json.loads(out)
            result["rss_before_mib"] = rss_before / 1024
            result["rss_after_mib"] = _rss_kib(proc.pid) / 1024
            cpu = _cpu_s(proc.pid) - cpu_before
            result["cpu_ms"] = cpu * 1000 / result["total"] if result["total"] else float("nan")
            return result
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument(
        "--upstream",
        choices=("raw", "emulator"),
        default="raw",
        help="raw: a bare asyncio server (default); emulator: rtconfig.testing.Emulator, which "
        "validates every body in Python threads and saturates first (see its ceiling line)",
    )
    args = parser.parse_args()
    servers = list(args.servers)
    try:
        import fastapi  # noqa: F401
        import openai  # noqa: F401
    except ImportError:
        print("fastapi-openai   skipped: fastapi or openai is not installed ('.[bench]')")
        servers = [s for s in servers if s != "fastapi-openai"]
    print(machine_description())
    upstream = "rtconfig.testing.Emulator" if args.upstream == "emulator" else "raw asyncio"
    print(
        f"upstream: {upstream} at {args.latency_ms:g} ms; "
        f"{args.seconds:g} s per run, median of {args.runs} run(s)"
    )
    emulator, base_url = start_upstream(args.latency_ms, args.upstream)
    emulator_port = base_url.rsplit(":", 1)[1].split("/")[0]
    try:
        for clients in args.clients:
            runs: dict[str, list[dict[str, Any]]] = {s: [] for s in servers}
            for _ in range(args.runs):
                ceiling = json.loads(
                    subprocess.run(
                        [
                            PYTHON,
                            str(HERE),
                            "--load",
                            emulator_port,
                            str(clients),
                            str(args.seconds),
                            "upstream",
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
                print(
                    f"ceiling          c={clients:<4} {ceiling['rate']:7.1f} req/s  "
                    f"p50 {ceiling['p50_ms']:6.1f} ms  p99 {ceiling['p99_ms']:6.1f} ms  "
                    "(the load generator straight to the upstream)"
                )
                for kind in servers:  # interleaved, so that drift hits both alike
                    runs[kind].append(measure(kind, base_url, clients, args.seconds))
            medians = {
                k: {key: statistics.median(r[key] for r in v) for key in v[0]}
                for k, v in runs.items()
            }
            for kind, m in medians.items():
                print(
                    f"{kind:<16} c={clients:<4} {m['rate']:7.1f} req/s  p50 {m['p50_ms']:6.1f} ms"
                    f"  p99 {m['p99_ms']:6.1f} ms  added p50 {m['p50_ms'] - args.latency_ms:+6.1f}"
                    f" p99 {m['p99_ms'] - args.latency_ms:+6.1f} ms  errors {m['errors']:.0f}"
                    f"  rss {m['rss_before_mib']:.0f}->{m['rss_after_mib']:.0f} MiB"
                    f"  server CPU {m['cpu_ms']:.2f} ms/request"
                )
            if "fastapi-openai" in medians:
                baseline = medians["fastapi-openai"]["rate"]
                shown = (
                    f"{medians['rtconfig-serve']['rate'] / baseline:.2f}"
                    if baseline
                    else "n/a (no baseline request completed after the warm-up)"
                )
                print(
                    f"ratio: rtconfig-serve / fastapi-openai req/s at c={clients} = {shown} "
                    "(target >= 2 at 256)"
                )
            added = medians["rtconfig-serve"]["p99_ms"] - args.latency_ms
            print(
                f"ratio: rtconfig-serve p99 added latency at c={clients} = {added:+.1f} ms "
                "(target <= 10 at 64)"
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        port, clients, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        upstream = sys.argv[5:] == ["upstream"]
        print(json.dumps(load(port, clients, seconds, min(2.0, seconds / 2), upstream)))
    else:
        main()
