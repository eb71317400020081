"""Scale: validating generated files of many templates (depth-8 chains, 3 environments).

    .venv/bin/python bench/scale.py [--sizes 1000 10000 20000] [--runs 3]

Each measurement runs `rtconfig validate FILE` (every template in the default environment and
the 3 others) in a fresh process: wall time from the outside, peak RSS and a breakdown from the
inside (interpreter + imports, load = read + parse + locate keys, check = resolve + validate
every template in every environment). Figures are medians of ``--runs`` (RSS: the largest).
The same `rtconfig validate` with Python's cyclic garbage collector disabled is timed too:
about half of the time at 10,000+ templates is the collector's passes over a heap of millions
of objects, none of them in reference cycles. Targets (issue 5): 10,000 templates <= 3 s;
time(20,000) / time(10,000) <= 2.2; peak RSS at 10,000 <= 300 MB. Prints figures and ratios;
never fails on timings.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, generate_config, machine_description

CLI = """
import resource, sys
if sys.argv[2] == 'gc-off':
    import gc; gc.disable()  # what the CLI could do: this process makes no reference cycles
from rtconfig._cli import main
code = 0
try:
    main(['validate', sys.argv[1]])
except SystemExit as e:
    code = e.code
print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'EXIT', code, file=sys.stderr)
"""

# What `rtconfig validate FILE` does (rtconfig/_cli/_core.py), phase by phase.
PHASES = """
import sys, time
t0 = time.perf_counter()
import os
from rtconfig._config import ALL_ENVIRONMENTS, load
t1 = time.perf_counter()
config = load(sys.argv[1])
t2 = time.perf_counter()
check = config.check(envs=ALL_ENVIRONMENTS, environ=os.environ)
t3 = time.perf_counter()
print('PHASES', t1 - t0, t2 - t1, t3 - t2, len(check.templates), file=sys.stderr)
"""


def _run(code: str, path: Path, variant: str = "as-is") -> tuple[float, str]:
    start = time.perf_counter()
    argv = [PYTHON, "-c", code, str(path), variant]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stderr.splitlines() if line.startswith(("RSS_KB", "PHASES"))]
    if not lines:
        raise SystemExit(f"validate crashed on {path}:\n{proc.stderr[-2000:]}")
    return wall, lines[-1]


def measure(path: Path, runs: int) -> dict[str, float]:
    """Median wall time of ``runs`` fresh `rtconfig validate` processes, their largest peak
    RSS, and one process's phases."""
    walls, rss = [], []
    code = 0
    for _ in range(runs):
        wall, line = _run(CLI, path)
        walls.append(wall)
        parts = line.split()
        rss.append(int(parts[1]) / 1024)
        code = int(parts[3])
    _, line = _run(PHASES, path)
    imports, load, check, resolved = line.split()[1:]
    gc_off = statistics.median(_run(CLI, path, "gc-off")[0] for _ in range(runs))
    return {
        "seconds": statistics.median(walls),
        "gc_off_seconds": gc_off,
        "rss_mb": max(rss),
        "exit": code,
        "imports_s": float(imports),
        "load_s": float(load),
        "check_s": float(check),
        "resolved": int(resolved),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# scale: `rtconfig validate` on generated files, median of {args.runs} runs")
    print(f"# {machine_description()}")
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"s{size}.toml"
            path.write_text(generate_config(size))
            fig = results[size] = measure(path, args.runs)
            per = fig["check_s"] / fig["resolved"] * 1e6 if fig["resolved"] else 0.0
            print(
                f"{size:>6} templates x 4 environments: median {fig['seconds']:6.2f} s, "
                f"peak RSS {fig['rss_mb']:6.1f} MB, exit {fig['exit']}; phases: imports "
                f"{fig['imports_s']:.2f} s, load {fig['load_s']:.2f} s, check "
                f"{fig['check_s']:.2f} s ({fig['resolved']} template-environments, "
                f"{per:.0f} µs each); with the cyclic GC off: {fig['gc_off_seconds']:.2f} s"
            )
    sizes = sorted(results)
    for small, big in itertools.pairwise(sizes):
        ratio = results[big]["seconds"] / results[small]["seconds"]
        expected = big / small
        verdict = ""
        if (small, big) == (10000, 20000):
            verdict = f" (target <= 2.2: {'met' if ratio <= 2.2 else 'MISSED'})"
        print(f"ratio: time({big}) / time({small}) = {ratio:.2f}, sizes x{expected:g}{verdict}")
    if 10000 in results:
        fig = results[10000]
        ok_time = "met" if fig["seconds"] <= 3 else "MISSED"
        ok_rss = "met" if fig["rss_mb"] <= 300 else "MISSED"
        print(f"target: 10000 templates in {fig['seconds']:.2f} s (<= 3 s: {ok_time})")
        print(f"target: 10000 templates peak RSS {fig['rss_mb']:.0f} MB (<= 300 MB: {ok_rss})")


if __name__ == "__main__":
    main()
