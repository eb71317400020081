#!/usr/bin/env python3
"""Per-mint overhead for a long-lived library user: resolve once, mint many, one at a time.

    .venv/bin/python bench/mint_overhead.py                 # 2000 mints per mode, 0 ms server
    .venv/bin/python bench/mint_overhead.py --n 100         # smoke size

What a token-vending backend does: one process loads and resolves ``sessions.toml`` once, keeps
one ``Applier`` (and one ``AuditLog``) for its lifetime, and mints a session per incoming
request. This script does that against the loopback server of ``mint_throughput.py`` (0 ms of
server latency by default, so that the client's own cost is what shows), timing each call:

  raw-httpx        httpx.Client().post(url, content=<the same body>, headers=...) + .json()
  rtconfig         Applier.mint(job), the job made once from a resolved template, audit log ON
                   (the default: each record written at once, fsynced in groups)
  rtconfig-fsync   the same with AuditLog(fsync_interval_s=0): one fsync per record, in mint()
  rtconfig-noaudit Applier.mint(job) without an audit log

Modes run in one process, interleaved in blocks of 50 calls after a warm-up, so that they see
the same machine. Reported: p50 and p99 of the per-call latency of each, and rtconfig's added
latency over raw httpx at p50 and p99. ``--profile`` then runs cProfile over ``--n`` more
``rtconfig`` mints and prints where the CPU goes, by package. Timings are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import generate_config, machine_description
from mint_throughput import KEY, start_server

MODES = ("raw-httpx", "rtconfig", "rtconfig-fsync", "rtconfig-noaudit")
BLOCK = 50


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="timed mints per mode")
    parser.add_argument("--latency", type=float, default=0.0, help="server latency in ms")
    parser.add_argument("--profile", action="store_true", help="cProfile the rtconfig mode")
    args = parser.parse_args()

    import httpx

    from rtconfig import Applier, PlanRecord
    from rtconfig._config import load
    from rtconfig.audit import AuditLog

    print(
        f"# per-mint overhead: n={args.n} per mode, sequential, server latency {args.latency:g} ms"
    )
    print(f"# {machine_description()}")
    server, port = start_server(args.latency)
    base_url = f"http://127.0.0.1:{port}/v1"
    environ = {"OPENAI_API_KEY": KEY, "RTCONFIG_ACTOR": "bench"}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = Path(tmp) / "sessions.toml"
            config.write_text(generate_config(8, environments=0))
            check = load(config).check(envs=[None], environ=environ, base_url=base_url)
            check.raise_for_errors()
            resolved = next(t for t in check.templates if t.name == "t0-7")  # depth 8
            job = PlanRecord.from_resolved(resolved)  # resolved once, minted many times
            content = json.dumps(job.body, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

            client = httpx.Client()
            audit = AuditLog(Path(tmp) / "audit.jsonl", environ=environ)
            audit_fsync = AuditLog(
                Path(tmp) / "audit-fsync.jsonl", environ=environ, fsync_interval_s=0
            )
            appliers = {
                "rtconfig": Applier(audit=audit, environ=environ, concurrency=1),
                "rtconfig-fsync": Applier(audit=audit_fsync, environ=environ, concurrency=1),
                "rtconfig-noaudit": Applier(environ=environ, concurrency=1),
            }

            def raw() -> Any:
                response = client.post(job.url, content=content, headers=headers)
                return response.json()["value"]

            calls: dict[str, Callable[[], Any]] = {"raw-httpx": raw}
            for name, applier in appliers.items():
                calls[name] = lambda applier=applier: applier.mint(job).raise_for_error()

            samples: dict[str, list[float]] = {mode: [] for mode in MODES}
            for call in calls.values():  # warm-up: connections, caches
                for _ in range(BLOCK):
                    call()
            while len(samples["raw-httpx"]) < args.n:
                for mode in MODES:
                    call = calls[mode]
                    for _ in range(min(BLOCK, args.n - len(samples[mode]))):
                        t0 = time.perf_counter()
                        call()
                        samples[mode].append((time.perf_counter() - t0) * 1000.0)
            if args.profile:
                profile = _profile(calls["rtconfig"], args.n)
            for applier in appliers.values():
                applier.close()
            audit.close()
            audit_fsync.close()
            client.close()
        finally:
            server.terminate()
            server.wait()

    base50 = _percentile(samples["raw-httpx"], 0.50)
    base99 = _percentile(samples["raw-httpx"], 0.99)
    print(f"{'mode':<18} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for mode, values in samples.items():
        print(
            f"{mode:<18} {_percentile(values, 0.5):>8.3f} {_percentile(values, 0.99):>8.3f} "
            f"{statistics.fmean(values):>8.3f}"
        )
    for mode in MODES[1:]:
        p50 = _percentile(samples[mode], 0.50)
        p99 = _percentile(samples[mode], 0.99)
        print(
            f"ratio: {mode} added latency per mint over raw httpx: "
            f"p50 {p50 - base50:+.3f} ms ({p50 / base50:.2f}x), "
            f"p99 {p99 - base99:+.3f} ms ({p99 / base99:.2f}x)"
        )
    if args.profile:
        print(f"where rtconfig's CPU goes (cProfile, own time by package, {args.n} mints):")
        for name, share in profile:
            print(f"  {100 * share:5.1f}%  {name}")


def _profile(call: Callable[[], Any], n: int) -> list[tuple[str, float]]:
    """Own time per package (httpx, httpcore, h11, rtconfig.audit, …) over ``n`` calls."""
    import cProfile
    import pstats
    from collections import Counter

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call()
    profiler.disable()
    totals: Counter[str] = Counter()
    stats: Any = pstats.Stats(profiler).stats
    for (filename, _, function), (_, _, own, _, _) in stats.items():
        if "site-packages/" in filename:
            name = filename.split("site-packages/")[1].split("/")[0]
        elif "/rtconfig/" in filename:
            name = "rtconfig." + filename.rsplit("/", 1)[1].removesuffix(".py")
        elif filename == "~":  # C functions: socket.send, json's encoder, …
            name = function.strip("<>").replace("built-in method ", "")
        else:
            name = "stdlib " + filename.rsplit("/", 1)[-1].removesuffix(".py")
        totals[name] += own
    whole = sum(totals.values())
    return [(name, own / whole) for name, own in totals.most_common(14)]


if __name__ == "__main__":
    main()
