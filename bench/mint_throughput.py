#!/usr/bin/env python3
"""Mint throughput: rtconfig's applier against raw httpx, on a loopback server, same run.

    .venv/bin/python bench/mint_throughput.py                      # 2000 mints, c=32, 0 and 50 ms
    .venv/bin/python bench/mint_throughput.py --n 200 --runs 1     # smoke size

A raw-asyncio HTTP/1.1 server (no framework, its own process) answers POST
/v1/realtime/client_secrets with a GA client secret after ``--latencies`` ms. Every measured
run is a fresh Python process (no warm caches, no shared pool) that mints ``--n`` sessions with
``--concurrency`` in flight; each figure is the median of ``--runs`` runs. Modes:

  raw-async        httpx.AsyncClient, default limits, asyncio.Semaphore(c)   <- the baseline
  raw-async-tuned  httpx.AsyncClient, Limits(max_connections=c, max_keepalive_connections=c)
  raw-threads      one sync httpx.Client shared by a pool of c threads
  rtconfig         rtconfig.applier.Applier.mint_all (threads + sync client), audit log ON
  rtconfig-async   rtconfig.applier.AsyncApplier.mint_all (same engine), audit log ON

Ratios are against raw-async measured in the same invocation; "ideal" is c / latency. Client
CPU per mint is the child process's user+system CPU divided by n (the server's is excluded).
Timings are reported, never asserted: this is a script, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
MODES = ("raw-async", "raw-async-tuned", "raw-threads", "rtconfig", "rtconfig-async")
BODY = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a friendly assistant.",
        "audio": {"output": {"voice": "marin"}},
    },
}
KEY = "sk-bench-not-a-real-key-0000000000"


# -- the server --------------------------------------------------------------------------------


def serve(port: int, latency_ms: float, ready: int) -> None:
    """Answer every request with a GA client secret after ``latency_ms``."""
    delay = latency_ms / 1000.0
    counter = 0

    def response() -> bytes:
        nonlocal counter
        counter += 1
        body = json.dumps(
            {
                "value": f"ek_bench_{counter:012d}",
                "expires_at": 1_900_000_000,
                "session": {"id": f"sess_{counter:012d}", "object": "realtime.session"},
            }
        ).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"x-request-id: req_{counter}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if delay:
                    await asyncio.sleep(delay)
                writer.write(response())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        os.write(ready, b"ok")
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    read, write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--serve", str(port), str(latency_ms), str(write)],
        pass_fds=(write,),
    )
    os.close(write)
    assert os.read(read, 2) == b"ok", "server did not start"
    os.close(read)
    return proc, port


# -- one measured run (in a fresh process) -----------------------------------------------------


def child(mode: str, port: int, n: int, concurrency: int) -> dict[str, Any]:
    base_url = f"http://127.0.0.1:{port}/v1"
    url = f"{base_url}/realtime/client_secrets"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    content = json.dumps(BODY, separators=(",", ":")).encode()
    cpu0, t0 = time.process_time(), time.perf_counter()
    ok = 0
    if mode in ("raw-async", "raw-async-tuned"):
        import httpx

        async def run_async() -> int:
            kwargs: dict[str, Any] = {}
            if mode == "raw-async-tuned":
                kwargs["limits"] = httpx.Limits(
                    max_connections=concurrency, max_keepalive_connections=concurrency
                )
            async with httpx.AsyncClient(**kwargs) as client:
                semaphore = asyncio.Semaphore(concurrency)

                async def one() -> int:
                    async with semaphore:
                        response = await client.post(url, content=content, headers=headers)
                        return 1 if response.json().get("value") else 0

                return sum(await asyncio.gather(*(one() for _ in range(n))))

        cpu0, t0 = time.process_time(), time.perf_counter()
        ok = asyncio.run(run_async())
    elif mode == "raw-threads":
        from concurrent.futures import ThreadPoolExecutor

        import httpx

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        with httpx.Client(limits=limits) as client:

            def one(_: int) -> int:
                response = client.post(url, content=content, headers=headers)
                return 1 if response.json().get("value") else 0

            cpu0, t0 = time.process_time(), time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                ok = sum(pool.map(one, range(n)))
    elif mode in ("rtconfig", "rtconfig-async"):
        from rtconfig.applier import Applier, AsyncApplier, MintJob
        from rtconfig.audit import AuditLog
        from rtconfig.endpoints import Endpoint
        from rtconfig.settings import Settings

        settings = Settings(
            endpoint=Endpoint.CLIENT_SECRETS, base_url=base_url, concurrency=concurrency
        )
        jobs = [MintJob(f"t{i}", None, Endpoint.CLIENT_SECRETS, BODY, settings) for i in range(n)]
        environ = {"OPENAI_API_KEY": KEY}
        with (
            tempfile.TemporaryDirectory() as tmp,
            AuditLog(Path(tmp) / "audit.jsonl", environ=environ) as audit,
        ):
            cpu0, t0 = time.process_time(), time.perf_counter()
            if mode == "rtconfig":
                with Applier(audit=audit, environ=environ, concurrency=concurrency) as ap:
                    results = ap.mint_all(jobs)
            else:

                async def run_rtconfig_async() -> list[Any]:
                    async with AsyncApplier(
                        audit=audit, environ=environ, concurrency=concurrency
                    ) as ap:
                        return await ap.mint_all(jobs)

                results = asyncio.run(run_rtconfig_async())
            ok = sum(1 for r in results if r.ok)
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {"mode": mode, "ok": ok, "rate": n / elapsed, "cpu_ms_per_mint": cpu * 1000.0 / n}


# -- the driver ----------------------------------------------------------------------------------


def measure(mode: str, port: int, n: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE), "--child", mode, str(port), str(n), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent.parent,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="mints per run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latencies", default="0,50", help="server latencies in ms")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", dest="json_out", help="also write the figures here")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
        "n": args.n,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "latencies": {},
    }
    print(f"# mint throughput: n={args.n}, concurrency={args.concurrency}, runs={args.runs}")
    print(f"# {report['machine']}, Python {report['python']}")
    for latency in (float(x) for x in args.latencies.split(",")):
        server, port = start_server(latency)
        try:
            samples: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
            for _ in range(args.runs):  # interleave modes so drift hits them all alike
                for mode in modes:
                    sample = measure(mode, port, args.n, args.concurrency)
                    if sample["ok"] != args.n:
                        raise SystemExit(f"{mode}: only {sample['ok']}/{args.n} minted")
                    samples[mode].append(sample)
        finally:
            server.terminate()
            server.wait()
        ideal = args.concurrency / (latency / 1000.0) if latency else None
        medians = {
            mode: {
                "rate": statistics.median(s["rate"] for s in runs),
                "cpu_ms_per_mint": statistics.median(s["cpu_ms_per_mint"] for s in runs),
            }
            for mode, runs in samples.items()
        }
        base = medians.get("raw-async", next(iter(medians.values())))
        print(f"\n## server latency {latency:g} ms" + (f" (ideal {ideal:.0f}/s)" if ideal else ""))
        print(f"{'mode':<16} {'mints/s':>9} {'x raw-async':>11} {'% ideal':>8} {'CPU ms/mint':>12}")
        for mode, figures in medians.items():
            figures["vs_raw_async"] = figures["rate"] / base["rate"]
            figures["vs_ideal"] = figures["rate"] / ideal if ideal else None
            pct = f"{100 * figures['vs_ideal']:.0f}%" if ideal else "-"
            print(
                f"{mode:<16} {figures['rate']:>9.0f} {figures['vs_raw_async']:>10.2f}x "
                f"{pct:>8} {figures['cpu_ms_per_mint']:>12.2f}"
            )
        report["latencies"][f"{latency:g}"] = {"ideal": ideal, "modes": medians}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child":
        result = child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        print(json.dumps(result))
    else:
        main()
