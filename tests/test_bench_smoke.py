"""Smoke: every benchmark in bench/ still runs at a tiny size and prints its ratio lines.

Timings are never asserted (this is a shared, noisy machine, and the sizes are too small to
mean anything); only that each script completes and reports what docs/performance.md quotes.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
HAS_OPENAI = importlib.util.find_spec("openai") is not None
HAS_SERVER = all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn"))

CASES = {
    "backend_burst.py": (
        [
            *("--clients", "4", "--per-client", "2", "--p99-clients", "2", "--runs", "1"),
            *("--latency-ms", "10", "--backends", "rtconfig,httpx"),
        ],
        [
            r"^direct\s+\d+ \[",
            r"^ratio: rtconfig / ideal = [\d.]+ \(target >= 0\.90\)"
            if HAS_SERVER
            else r"^rtconfig\s+skipped: (fastapi, )?(uvicorn )?.*not installed",
            r"^ratio: rtconfig p99 added latency at 2 clients" if HAS_SERVER else r"^ideal",
        ],
    ),
    "cli_latency.py": (
        ["--runs", "1"],
        [
            r"^ratio: rtconfig --version / \(1\.2 x python -c pass \+ 30 ms",
            r"^ratio: rtconfig validate sessions\.toml / import pydantic = [\d.]+ \(target",
            r"^ratio: rtconfig render .* / import pydantic",
            r"^ratio: rtconfig plan .* / import pydantic",
            r"^imports: `rtconfig validate` loaded of the heavy modules: -$",
        ],
    ),
    "scale.py": (
        ["--sizes", "24", "48", "--runs", "1"],
        [
            r"^\s+48 templates x 4 environments: median",
            r"^ratio: time\(48\) / time\(24\) = ",
            r"^ratio: plan time\(48\) / plan time\(24\) = ",
            r"^ratio: library / validate at 48 = [\d.]+ \(target <= 1\)",
            r"^\s+tomllib\s+[\d.]+ s \[",
        ],
    ),
    "plan_scale.py": (
        ["--templates", "24", "--runs", "1"],
        [
            r"^ratio: plan / validate = [\d.]+ \(target < 2",
            r"^ratio: plan --json / validate",
            r"^lock format 2: +[\d.]+ MB, \d+ lines, read in",
            r"^ratio: lock format 2 / format 1 size = [\d.]+",
        ],
    ),
    "mint_throughput.py": (
        ["--n", "40", "--runs", "1", "--latencies", "0"],
        [
            r"^ceiling\s+\d+",
            r"^raw-async\s+\d+",
            r"^rtconfig-async\s+\d+",
            r"^rtconfig-cli\s+\d+ .*mint phase \d+/s",
            r"^ratio: rtconfig / raw-threads CPU per mint at 0 ms = [\d.]+ \(target <= 1\.1",
            r"^ratio: rtconfig audit log cost \(1 - rate / rate without it\) at 0 ms",
            r"^ratio: rtconfig / openai-\S+ rate at 0 ms"
            if HAS_OPENAI
            else r"^openai-async\s+skipped: openai is not installed",
        ],
    ),
    "serve_throughput.py": (
        ["--clients", "4", "--seconds", "1", "--runs", "1", "--latency-ms", "10"],
        [
            r"^rtconfig-serve\s+c=4\s+[\d.]+ req/s\s+p50",
            r"^ratio: rtconfig-serve p99 added latency at c=4 = [-+][\d.]+ ms",
            r"^ratio: rtconfig-serve / fastapi-openai req/s at c=4"
            if HAS_OPENAI
            else r"^fastapi-openai\s+skipped",
        ],
    ),
    "mint_overhead.py": (
        ["--n", "40"],
        [
            r"^raw-httpx\s+[\d.]+",
            r"^ratio: rtconfig added latency per mint over raw httpx: p50 [-+][\d.]+ ms",
            r"^ratio: rtconfig-fsync added latency",
        ],
    ),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_at_a_tiny_size(script: str) -> None:
    """The script exits 0 and prints the lines (ratios, targets) that the docs quote."""
    argv, expected = CASES[script]
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *argv],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for pattern in expected:
        assert re.search(pattern, proc.stdout, re.MULTILINE), (pattern, proc.stdout)
