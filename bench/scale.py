"""Scale: validating generated files of many templates (depth-8 chains, 3 environments).

    python bench/scale.py [--sizes 1000 10000 20000] [--runs 3]

Each measurement runs `rtconfig validate` in a fresh process and reads its peak RSS. Targets
(issue 5): 10,000 templates in all environments <= 3 s; time(20,000) / time(10,000) <= 2.2;
peak RSS at 10,000 <= 300 MB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from _common import PYTHON, generate_config

CHILD = (
    "import resource, sys\n"
    "from rtconfig.cli import main\n"
    "try:\n    main(['validate', sys.argv[1]])\n"
    "except SystemExit as e:\n    code = e.code\n"
    "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'EXIT', code, "
    "file=sys.stderr)\n"
)


def measure(path: Path, runs: int) -> tuple[float, float, int]:
    times, rss = [], []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [PYTHON, "-c", CHILD, str(path)], capture_output=True, text=True, check=False
        )
        times.append(time.perf_counter() - start)
        tail = proc.stderr.strip().splitlines()[-1].split()
        rss.append(int(tail[1]) / 1024)
        code = int(tail[3])
    return statistics.median(times), max(rss), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"s{size}.toml"
            path.write_text(generate_config(size))
            seconds, rss_mb, code = measure(path, args.runs)
            results[size] = seconds
            print(
                f"{size:>6} templates x 4 environments: median {seconds:6.2f} s, "
                f"peak RSS {rss_mb:6.1f} MB, exit {code}"
            )
    sizes = sorted(results)
    for small, big in itertools.pairwise(sizes):
        print(f"time({big}) / time({small}) = {results[big] / results[small]:.2f}")


if __name__ == "__main__":
    main()
