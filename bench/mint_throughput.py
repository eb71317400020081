#!/usr/bin/env python3
"""Mint throughput: rtconfig against raw httpx and the official openai SDK, same run.

    .venv/bin/pip install -e '.[bench]'                           # the openai SDK, once
    .venv/bin/python bench/mint_throughput.py                     # 2000 mints, c=32, 0 and 50 ms
    .venv/bin/python bench/mint_throughput.py --n 60 --runs 1 --latencies 0   # smoke size

A raw-asyncio HTTP/1.1 server (no framework, its own process) answers POST
/v1/realtime/client_secrets, /v1/realtime/sessions and /v1/realtime/transcription_sessions
with a session and a client secret after ``--latencies`` ms. Every measured run is a fresh
process that mints ``--n`` sessions with ``--concurrency`` in flight; each figure is the median
of ``--runs`` runs, modes interleaved round by round so that drift on the machine hits them all
alike. Modes:

  raw-async          httpx.AsyncClient (limits c), asyncio.Semaphore(c)  <- encode/httpx#3215
  raw-threads        one sync httpx.Client (limits c) shared by c threads  <- CPU baseline
  aiohttp            aiohttp.ClientSession (connector limit c), asyncio.Semaphore(c): the
                     fastest Python HTTP client
  rtconfig           rtconfig.Applier.mint_all, audit log ON
  rtconfig-async     rtconfig.AsyncApplier.mint_all, audit log ON
  rtconfig(-async)-noaudit   the same without an audit log: what the log costs
  rtconfig-cli       `rtconfig apply` on a generated n-template file, audit log ON: the whole
                     process (start, load, resolve, mint, print); "mint phase" = the audit
                     log's apply.finished duration
  openai-async       AsyncOpenAI().realtime.client_secrets.create, asyncio.Semaphore(c)
  openai-threads     OpenAI().realtime.client_secrets.create from c threads
  openai-beta-async  AsyncOpenAI().beta.realtime.sessions.create, asyncio.Semaphore(c)

Rates are mints per second from the first request to the last answer (the client object built
inside the timed region, interpreter start and imports outside it), except rtconfig-cli's
end-to-end rate. Client CPU per mint is the measured process's user+system CPU divided by n
(the server's is excluded). The "ceiling" line is a bare asyncio client (no HTTP library),
showing what the server and the machine allow. The openai modes are skipped, saying so, when
the SDK is not installed or lacks the API. Timings are printed, never asserted. Each latency's
table is headed by the load average when it was measured (the machine may be shared).

``--memory N`` (target 3, memory flat): one process, one long-lived ``Applier`` and one
``AsyncApplier`` (audit log on), mints N sessions in chunks of N/10 at 0 ms, and prints the
resident set size (``VmRSS``) and the number of objects the collector tracks after each chunk:
growth from the first chunk to the last, per mint, is what a leak would show (RSS also moves
with the allocator's fragmentation; the object count does not).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
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

MODES = (
    "raw-async",
    "raw-threads",
    "aiohttp",
    "rtconfig",
    "rtconfig-async",
    "rtconfig-noaudit",
    "rtconfig-async-noaudit",
    "rtconfig-cli",
    "openai-async",
    "openai-threads",
    "openai-beta-async",
)
SDK_MODES = ("openai-async", "openai-threads", "openai-beta-async")
BODY = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a friendly assistant.",
        "audio": {"output": {"voice": "marin"}},
    },
}
BETA_BODY = {"model": "gpt-realtime", "instructions": "You are a friendly assistant."}
KEY = "sk-bench-not-a-real-key-0000000000"


# -- the server --------------------------------------------------------------------------------


def _answer(path: bytes, counter: int) -> dict[str, Any]:
    token = f"ek_bench_{counter:012d}"
    session = {"id": f"sess_{counter:012d}", "object": "realtime.session", "model": "gpt-realtime"}
    if path.endswith(b"/client_secrets"):
        return {
            "value": token,
            "expires_at": 1_900_000_000,
            "session": {**session, "type": "realtime"},
        }
    secret = {"value": token, "expires_at": 1_900_000_000}
    if path.endswith(b"/transcription_sessions"):
        return {"object": "realtime.transcription_session", "client_secret": secret}
    return {**session, "client_secret": secret}


def serve(port: int, latency_ms: float, ready: int) -> None:
    """Answer every request after ``latency_ms``, as OpenAI's three minting endpoints do."""
    delay = latency_ms / 1000.0
    counter = 0

    def response(path: bytes) -> bytes:
        nonlocal counter
        counter += 1
        body = json.dumps(_answer(path, counter)).encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"x-request-id: req_{counter}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].split(b"?")[0] if b" " in lines[0] else b"/"
                length = 0
                for line in lines:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if delay:
                    await asyncio.sleep(delay)
                writer.write(response(path))
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
        [PYTHON, str(HERE), "--serve", str(port), str(latency_ms), str(write)], pass_fds=(write,)
    )
    os.close(write)
    ok = os.read(read, 2) == b"ok"
    os.close(read)
    if not ok:
        proc.kill()
        raise SystemExit("the loopback server did not start")
    return proc, port


# -- one measured run (in a fresh process) -----------------------------------------------------


def _ceiling(port: int, n: int, concurrency: int) -> int:
    """A bare asyncio client: keep-alive connections, bytes in and out, no HTTP library."""
    content = json.dumps(BODY).encode()
    request = (
        f"POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    ).encode() + content
    left = [n]

    async def worker() -> int:
        ok = 0
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            ok += bool(json.loads(await reader.readexactly(length))["value"])
        writer.close()
        return ok

    async def run() -> int:
        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))

    return asyncio.run(run())


def child(mode: str, port: int, n: int, concurrency: int) -> dict[str, Any]:
    """Mint ``n`` sessions in this (fresh) process; the rate and CPU of the timed region."""
    base_url = f"http://127.0.0.1:{port}/v1"
    url = f"{base_url}/realtime/client_secrets"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    content = json.dumps(BODY, separators=(",", ":")).encode()
    runner: Any
    if mode == "ceiling":

        def runner() -> int:
            return _ceiling(port, n, concurrency)

    elif mode == "raw-async":
        import httpx

        async def run_async() -> int:
            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            async with httpx.AsyncClient(limits=limits) as client:
                semaphore = asyncio.Semaphore(concurrency)

                async def one() -> int:
                    async with semaphore:
                        response = await client.post(url, content=content, headers=headers)
                        return 1 if response.json().get("value") else 0

                return sum(await asyncio.gather(*(one() for _ in range(n))))

        def runner() -> int:
            return asyncio.run(run_async())

    elif mode == "raw-threads":
        from concurrent.futures import ThreadPoolExecutor

        import httpx

        def runner() -> int:
            limits = httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            )
            with httpx.Client(limits=limits) as client:

                def one(_: int) -> int:
                    response = client.post(url, content=content, headers=headers)
                    return 1 if response.json().get("value") else 0

                with ThreadPoolExecutor(concurrency) as pool:
                    return sum(pool.map(one, range(n)))

    elif mode == "aiohttp":
        try:
            import aiohttp
        except ImportError:
            return {"mode": mode, "skipped": "aiohttp is not installed (pip install -e '.[bench]')"}

        async def run_aiohttp() -> int:
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                semaphore = asyncio.Semaphore(concurrency)

                async def one() -> int:
                    async with semaphore, session.post(url, data=content, headers=headers) as r:
                        return 1 if (await r.json()).get("value") else 0

                return sum(await asyncio.gather(*(one() for _ in range(n))))

        def runner() -> int:
            return asyncio.run(run_aiohttp())

    elif mode.startswith("rtconfig") and mode != "rtconfig-cli":
        from rtconfig import Applier, AsyncApplier, PlanRecord
        from rtconfig._endpoints import Endpoint
        from rtconfig._settings import Settings
        from rtconfig.audit import AuditLog

        settings = Settings(endpoint=Endpoint.CLIENT_SECRETS, base_url=base_url)
        jobs = [PlanRecord.for_body(f"t{i}", BODY, settings=settings) for i in range(n)]
        environ = {"OPENAI_API_KEY": KEY, "RTCONFIG_ACTOR": "bench"}
        tmp = tempfile.mkdtemp()

        def runner() -> int:
            with contextlib.ExitStack() as stack:
                audit = None
                if not mode.endswith("-noaudit"):
                    log = AuditLog(Path(tmp) / "audit.jsonl", environ=environ)
                    audit = stack.enter_context(log)
                if mode.startswith("rtconfig-async"):

                    async def run_rtconfig_async() -> list[Any]:
                        async with AsyncApplier(
                            audit=audit, environ=environ, concurrency=concurrency
                        ) as ap:
                            return await ap.mint_all(jobs)

                    results = asyncio.run(run_rtconfig_async())
                else:
                    with Applier(audit=audit, environ=environ, concurrency=concurrency) as ap:
                        results = ap.mint_all(jobs)
            return sum(1 for r in results if r.ok)

    elif mode in SDK_MODES:
        try:
            import openai
        except ImportError:
            return {"mode": mode, "skipped": "openai is not installed (pip install -e '.[bench]')"}
        version = openai.__version__
        probe = openai.OpenAI(api_key=KEY, base_url=base_url)
        if mode == "openai-beta-async":
            beta_realtime = getattr(probe.beta, "realtime", None)
            if beta_realtime is None or not hasattr(beta_realtime, "sessions"):
                return {
                    "mode": mode,
                    "skipped": f"openai {version} has no client.beta.realtime.sessions",
                }
        elif not hasattr(getattr(probe, "realtime", None), "client_secrets"):
            return {"mode": mode, "skipped": f"openai {version} has no realtime.client_secrets"}
        probe.close()

        if mode == "openai-threads":
            from concurrent.futures import ThreadPoolExecutor

            def runner() -> int:
                with openai.OpenAI(api_key=KEY, base_url=base_url) as client:

                    def one(_: int) -> int:
                        secret = client.realtime.client_secrets.create(**BODY)
                        return 1 if secret.value else 0

                    with ThreadPoolExecutor(concurrency) as pool:
                        return sum(pool.map(one, range(n)))

        else:

            async def run_sdk() -> int:
                async with openai.AsyncOpenAI(api_key=KEY, base_url=base_url) as client:
                    semaphore = asyncio.Semaphore(concurrency)

                    async def one() -> int:
                        async with semaphore:
                            if mode == "openai-beta-async":
                                created = await client.beta.realtime.sessions.create(**BETA_BODY)
                                return 1 if created.client_secret.value else 0
                            secret = await client.realtime.client_secrets.create(**BODY)
                            return 1 if secret.value else 0

                    return sum(await asyncio.gather(*(one() for _ in range(n))))

            def runner() -> int:
                return asyncio.run(run_sdk())

    else:
        raise SystemExit(f"unknown mode {mode}")
    cpu0, t0 = time.process_time(), time.perf_counter()
    ok = runner()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {"mode": mode, "ok": ok, "rate": n / elapsed, "cpu_ms_per_mint": cpu * 1000.0 / n}


def measure_cli(port: int, n: int, concurrency: int, config: Path) -> dict[str, Any]:
    """``rtconfig apply`` on ``config`` (n templates) as its own process, audit log on."""
    from rtconfig.audit import read_audit_log

    rtconfig = str(Path(PYTHON).parent / "rtconfig")
    with tempfile.TemporaryDirectory() as tmp:
        audit = Path(tmp) / "audit.jsonl"
        argv = [rtconfig, "apply", str(config), "--base-url", f"http://127.0.0.1:{port}/v1"]
        argv += ["--concurrency", str(concurrency), "--audit-log", str(audit)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RTCONFIG")}
        env |= {"OPENAI_API_KEY": KEY, "RTCONFIG_ACTOR": "bench"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"rtconfig apply exited {proc.returncode}: {proc.stderr[-2000:]!r}")
        ok = sum(1 for r in json.loads(proc.stdout)["results"] if r["ok"])
        finished = [r for r in read_audit_log(audit) if r["event"] == "apply.finished"][-1]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "mode": "rtconfig-cli",
        "ok": ok,
        "rate": n / elapsed,
        "mint_phase_rate": n / (finished["duration_ms"] / 1000.0),
        "cpu_ms_per_mint": cpu * 1000.0 / n,
    }


# -- memory over many mints (target 3) --------------------------------------------------------


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_child(engine: str, port: int, n: int, concurrency: int) -> dict[str, Any]:
    """Mint ``n`` sessions through one applier in ten chunks; RSS after each chunk."""
    import gc

    from rtconfig import Applier, AsyncApplier, PlanRecord
    from rtconfig._endpoints import Endpoint
    from rtconfig._settings import Settings
    from rtconfig.audit import AuditLog

    settings = Settings(endpoint=Endpoint.CLIENT_SECRETS, base_url=f"http://127.0.0.1:{port}/v1")
    chunk = max(1, n // 10)
    jobs = [PlanRecord.for_body(f"t{i}", BODY, settings=settings) for i in range(chunk)]
    environ = {"OPENAI_API_KEY": KEY, "RTCONFIG_ACTOR": "bench"}
    rss: list[int] = []
    objects: list[int] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        AuditLog(Path(tmp) / "a.jsonl", environ=environ) as log,
    ):
        if engine == "rtconfig-async":

            async def run() -> None:
                async with AsyncApplier(audit=log, environ=environ, concurrency=concurrency) as ap:
                    for _ in range(10):
                        assert all(r.ok for r in await ap.mint_all(jobs))
                        gc.collect()
                        rss.append(_rss_kib())
                        objects.append(len(gc.get_objects()))

            asyncio.run(run())
        else:
            with Applier(audit=log, environ=environ, concurrency=concurrency) as ap:
                for _ in range(10):
                    assert all(r.ok for r in ap.mint_all(jobs))
                    gc.collect()
                    rss.append(_rss_kib())
                    objects.append(len(gc.get_objects()))
    return {"engine": engine, "n": chunk * 10, "rss_kib": rss, "objects": objects}


def measure_memory(n: int, concurrency: int) -> dict[str, Any]:
    server, port = start_server(0)
    report: dict[str, Any] = {"n": n, "load": os.getloadavg()}
    print(f"\n## memory over {n} mints (0 ms, {concurrency} in flight, audit log on)")
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        for engine in ("rtconfig", "rtconfig-async"):
            argv = [
                PYTHON,
                str(HERE),
                "--memory-child",
                engine,
                str(port),
                str(n),
                str(concurrency),
            ]
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{engine} memory run failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            rss = result["rss_kib"]
            growth = rss[-1] - rss[0]
            per_mint = growth * 1024 / (result["n"] * 0.9)
            print(
                f"{engine:<16} RSS MiB after each tenth: {' '.join(f'{k / 1024:.1f}' for k in rss)}"
            )
            print(
                f"ratio: {engine} RSS growth from the first tenth to the last = "
                f"{growth / 1024:.1f} MiB ({per_mint:.1f} bytes per mint)"
            )
            objects = result["objects"]
            print(f"{engine:<16} tracked objects after each tenth: {' '.join(map(str, objects))}")
            print(
                f"ratio: {engine} tracked objects from the first tenth to the last = "
                f"{objects[-1] - objects[0]:+d} "
                f"({(objects[-1] - objects[0]) / (result['n'] * 0.9):+.3f} per mint)"
            )
            report[engine] = {
                "rss_kib": rss,
                "growth_kib": growth,
                "bytes_per_mint": per_mint,
                "objects": objects,
            }
    finally:
        server.terminate()
        server.wait()
    return report


# -- the driver ----------------------------------------------------------------------------------


def measure(mode: str, port: int, n: int, concurrency: int, config: Path) -> dict[str, Any]:
    if mode == "rtconfig-cli":
        return measure_cli(port, n, concurrency, config)
    out = subprocess.run(
        [PYTHON, str(HERE), "--child", mode, str(port), str(n), str(concurrency)],
        capture_output=True,
        text=True,
        check=False,
        cwd=HERE.parent.parent,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if key in run]
    return statistics.median(values) if values else None


def _verdict(value: float, target: float, *, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="mints per run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latencies", default="0,50", help="server latencies in ms")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--json", dest="json_out", help="also write the figures here")
    parser.add_argument(
        "--memory", type=int, metavar="N", help="only measure RSS over N mints (target 3)"
    )
    args = parser.parse_args()
    if args.memory:
        print(f"# {machine_description()}")
        figures = measure_memory(args.memory, args.concurrency)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")
        return
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_description(),
        "command": " ".join(["python", "bench/mint_throughput.py", *sys.argv[1:]]),
        "n": args.n,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "latencies": {},
    }
    print(f"# mint throughput: n={args.n}, concurrency={args.concurrency}, runs={args.runs}")
    print(f"# {report['machine']}")
    c = args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sessions.toml"
        if "rtconfig-cli" in modes:
            from _common import generate_config

            config.write_text(generate_config(args.n, environments=0))
        for latency in (float(x) for x in args.latencies.split(",")):
            server, port = start_server(latency)
            load_before = os.getloadavg()
            try:
                samples: dict[str, list[dict[str, Any]]] = {m: [] for m in ["ceiling", *modes]}
                for _ in range(args.runs):
                    for mode in samples:
                        sample = measure(mode, port, args.n, c, config)
                        if "skipped" not in sample and sample["ok"] != args.n:
                            raise SystemExit(f"{mode}: only {sample['ok']}/{args.n} minted")
                        samples[mode].append(sample)
            finally:
                server.terminate()
                server.wait()
            load = (load_before, os.getloadavg())
            report["latencies"][f"{latency:g}"] = _report_latency(latency, c, samples, load)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")


def _report_latency(
    latency: float,
    concurrency: int,
    samples: dict[str, list[dict[str, Any]]],
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> dict[str, Any]:
    ideal = concurrency / (latency / 1000.0) if latency else None
    figures: dict[str, dict[str, Any]] = {}
    for mode, runs in samples.items():
        if runs and "skipped" in runs[0]:
            figures[mode] = {"skipped": runs[0]["skipped"]}
            continue
        figures[mode] = {
            "rate": _median(runs, "rate"),
            "cpu_ms_per_mint": _median(runs, "cpu_ms_per_mint"),
            "rates": [round(run["rate"], 1) for run in runs],
        }
        if mode == "rtconfig-cli":
            figures[mode]["mint_phase_rate"] = _median(runs, "mint_phase_rate")
    title = f"\n## server latency {latency:g} ms"
    print(title + (f" (ideal {concurrency} / {latency:g} ms = {ideal:.0f}/s)" if ideal else ""))
    shown = [" ".join(f"{x:.2f}" for x in avg) for avg in load]
    print(f"# load average before / after these runs: {shown[0]} / {shown[1]}")
    print(f"{'mode':<18} {'mints/s':>8} {'% ideal':>8} {'CPU ms/mint':>12}   runs (mints/s)")
    for mode, fig in figures.items():
        if "skipped" in fig:
            print(f"{mode:<18} skipped: {fig['skipped']}")
            continue
        pct = f"{100 * fig['rate'] / ideal:.0f}%" if ideal else "-"
        runs_text = " ".join(f"{r:.0f}" for r in fig["rates"])
        extra = ""
        if "mint_phase_rate" in fig:
            extra = f"   (end to end; mint phase {fig['mint_phase_rate']:.0f}/s)"
        print(
            f"{mode:<18} {fig['rate']:>8.0f} {pct:>8} {fig['cpu_ms_per_mint']:>12.2f}   "
            f"{runs_text}{extra}"
        )
    sdk = {m: figures[m]["rate"] for m in SDK_MODES if "rate" in figures.get(m, {})}
    targets: list[dict[str, Any]] = []
    for engine in ("rtconfig", "rtconfig-async"):
        fig, bare = figures.get(engine, {}), figures.get(f"{engine}-noaudit", {})
        if ideal and "rate" in fig:
            share = fig["rate"] / ideal
            targets.append({"what": f"{engine} / ideal rate", "value": share, "target": 0.85})
        if "rate" in fig and "rate" in bare:
            cost = 1 - fig["rate"] / bare["rate"]
            what = f"{engine} audit log cost (1 - rate / rate without it)"
            targets.append({"what": what, "value": cost, "target": 0.10, "at_most": True})
    ours = figures.get("rtconfig", {})
    if "rate" in ours:
        if sdk:
            best = max(sdk, key=sdk.__getitem__)
            targets.append(
                {"what": f"rtconfig / {best} rate", "value": ours["rate"] / sdk[best], "target": 2}
            )
        raw = figures.get("raw-threads", {})
        if not ideal and "cpu_ms_per_mint" in raw:
            targets.append(
                {
                    "what": "rtconfig / raw-threads CPU per mint",
                    "value": ours["cpu_ms_per_mint"] / raw["cpu_ms_per_mint"],
                    "target": 1.1,
                    "at_most": True,
                }
            )
    for other in ("rtconfig-async", "rtconfig-cli"):
        fig = figures.get(other, {})
        if "rate" in fig and sdk:
            best = max(sdk, key=sdk.__getitem__)
            rate = fig.get("mint_phase_rate", fig["rate"])
            label = f"{other}{' mint phase' if other == 'rtconfig-cli' else ''} / {best} rate"
            targets.append({"what": label, "value": rate / sdk[best], "target": 2})
    for target in targets:
        at_most = target.get("at_most", False)
        sign = "<=" if at_most else ">="
        target["met"] = _verdict(target["value"], target["target"], at_most=at_most) == "met"
        print(
            f"ratio: {target['what']} at {latency:g} ms = {target['value']:.2f} "
            f"(target {sign} {target['target']:g}: {'met' if target['met'] else 'MISSED'})"
        )
    return {"ideal": ideal, "load": load, "modes": figures, "targets": targets}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        result = memory_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        print(json.dumps(result))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child":
        result = child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        print(json.dumps(result))
    else:
        main()
