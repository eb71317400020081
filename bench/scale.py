"""Scale: validating and planning generated files of many templates (depth-8 chains, 3 envs).

    .venv/bin/python bench/scale.py [--sizes 10000 20000] [--runs 3]

For each size, a generated sessions.toml (every template in the default environment and 3
others) and its lock file; then ``--runs`` rounds, each running every case below as a fresh
process, the cases interleaved so that machine noise hits them all alike:

- ``tomllib``: ``python -c "import tomllib; tomllib.load(...)"`` of the same file (the same-run
  baseline: parsing alone, in the standard library's pure-Python parser);
- ``validate``: ``rtconfig validate FILE`` (the CLI: every template in every environment);
- ``library``: ``rtconfig.load(FILE).check()`` in a plain process at Python's default GC
  thresholds (the CLI raises them; a library caller's process does not);
- ``plan``: ``rtconfig plan FILE`` against the lock file (default environment), output to a pipe.

Reported: medians and ranges, each case over its baseline, peak RSS (the largest of the runs),
one in-process breakdown (imports, load, check, the cyclic GC's share of the library path) and
time(20k) / time(10k). Targets (issue 16, target 5): validate <= 1 s and plan <= 1.5 s at
10,000 templates, time(20k) / time(10k) <= 2.1, peak RSS <= 200 MB, the library path as fast
as the CLI. Prints figures, the load average of every round, and verdicts; never fails on
timings.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, generate_config, machine_description

# Each case prints "RSS_KB <peak>" on stderr as its last line.
_RSS = (
    "import resource, sys\n"
    "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
CASES = {
    "tomllib": "import tomllib, sys\nwith open(sys.argv[1], 'rb') as f:\n    tomllib.load(f)\n"
    + _RSS,
    "validate": (
        "import sys\nfrom rtconfig._cli import main\ntry:\n    main(['validate', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n" + _RSS
    ),
    "library": "import sys, rtconfig\nrtconfig.load(sys.argv[1]).check(environ={})\n" + _RSS,
    "plan": (
        "import sys\nfrom rtconfig._cli import main\ntry:\n    main(['plan', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n" + _RSS
    ),
}

# What the library path does, phase by phase, with the cyclic collector timed by its callbacks.
PHASES = """
import gc, sys, time
spent = [0.0, 0.0]
def _gc(phase, info):
    if phase == 'start':
        spent[1] = time.perf_counter()
    else:
        spent[0] += time.perf_counter() - spent[1]
gc.callbacks.append(_gc)
t0 = time.perf_counter()
import rtconfig, rtconfig._checks
t1 = time.perf_counter()
config = rtconfig.load(sys.argv[1])
t2 = time.perf_counter()
check = config.check(environ={})
t3 = time.perf_counter()
print('PHASES', t1 - t0, t2 - t1, t3 - t2, spent[0], len(check.templates), file=sys.stderr)
"""


def _run(code: str, path: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stderr of one fresh process running ``code``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RTCONFIG", "OPENAI"))}
    start = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-c", code, str(path)], capture_output=True, text=True, check=False, env=env
    )
    wall = time.perf_counter() - start
    rss = [line for line in proc.stderr.splitlines() if line.startswith("RSS_KB")]
    if not rss and "PHASES" not in proc.stderr:
        raise SystemExit(f"a case crashed on {path}:\n{proc.stderr[-2000:]}")
    return wall, int(rss[-1].split()[1]) / 1024 if rss else 0.0, proc.stderr


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(path: Path, runs: int) -> dict[str, dict[str, float]]:
    """Every case ``runs`` times, interleaved; medians, ranges and the largest peak RSS."""
    walls: dict[str, list[float]] = {case: [] for case in CASES}
    rss: dict[str, float] = dict.fromkeys(CASES, 0.0)
    for round_ in range(runs):
        for case, code in CASES.items():
            wall, peak, _ = _run(code, path)
            walls[case].append(wall)
            rss[case] = max(rss[case], peak)
        shown = ", ".join(f"{case} {walls[case][-1]:.2f} s" for case in CASES)
        print(f"    round {round_ + 1}: {shown} (load average {_load()})", flush=True)
    return {
        case: {
            "median": statistics.median(values),
            "low": min(values),
            "high": max(values),
            "rss_mb": rss[case],
        }
        for case, values in walls.items()
    }


def phases(path: Path) -> list[float]:
    _, _, stderr = _run(PHASES, path)
    line = [x for x in stderr.splitlines() if x.startswith("PHASES")][-1]
    return [float(x) for x in line.split()[1:]]


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _report_size(size: int, fig: dict[str, dict[str, float]], parts: list[float]) -> None:
    base = fig["tomllib"]["median"]
    print(f"{size:>6} templates x 4 environments: median of each case [range], peak RSS:")
    for case, values in fig.items():
        print(
            f"    {case:<9} {values['median']:7.2f} s [{values['low']:.2f}-{values['high']:.2f}]"
            f"  {values['median'] / base:5.2f}x tomllib  peak RSS {values['rss_mb']:6.1f} MB"
        )
    imports, load, check, collected, resolved = parts
    per = check / resolved * 1e6 if resolved else 0.0
    print(
        f"    library path in one process: imports {imports:.2f} s, load {load:.2f} s, check "
        f"{check:.2f} s ({int(resolved)} template-environments, {per:.0f} µs each), of which "
        f"the cyclic GC {collected:.2f} s ({collected / max(load + check, 1e-9):.0%} of load "
        f"+ check)"
    )
    print(
        f"ratio: library / validate at {size} = "
        f"{fig['library']['median'] / fig['validate']['median']:.2f} (target <= 1)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# scale: fresh processes, cases interleaved, medians of {args.runs} runs")
    print(f"# {machine_description()}")
    results: dict[int, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"s{size}.toml"
            path.write_text(generate_config(size))
            subprocess.run(
                [PYTHON, "-m", "rtconfig", "lock", str(path)], capture_output=True, check=False
            )
            lock = path.with_name(path.stem + ".lock.json")
            print(
                f"  {size} templates: {path.stat().st_size / 1e6:.1f} MB of TOML, lock file "
                f"{lock.stat().st_size / 1e6:.1f} MB",
                flush=True,
            )
            results[size] = measure(path, args.runs)
            _report_size(size, results[size], phases(path))
    sizes = sorted(results)
    for small, big in itertools.pairwise(sizes):
        for case in ("validate", "plan"):
            ratio = results[big][case]["median"] / results[small][case]["median"]
            target = (
                f" (target <= 2.1: {_verdict(ratio <= 2.1)})"
                if (small, big)
                == (
                    10000,
                    20000,
                )
                else ""
            )
            label = "time" if case == "validate" else "plan time"
            print(
                f"ratio: {label}({big}) / {label}({small}) = {ratio:.2f}, sizes "
                f"x{big / small:g}{target}"
            )
    if 10000 in results:
        fig = results[10000]
        validate, plan = fig["validate"]["median"], fig["plan"]["median"]
        rss = max(values["rss_mb"] for case, values in fig.items() if case != "tomllib")
        ok = _verdict(validate <= 1)
        print(f"target: validate 10000 templates in {validate:.2f} s (<= 1 s: {ok})")
        print(f"target: plan 10000 templates in {plan:.2f} s (<= 1.5 s: {_verdict(plan <= 1.5)})")
        print(f"target: peak RSS at 10000 {rss:.0f} MB (<= 200 MB: {_verdict(rss <= 200)})")


if __name__ == "__main__":
    main()
