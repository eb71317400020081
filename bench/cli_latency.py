"""CLI latency: rtconfig's commands against `python -c "import pydantic"`, in the same run.

    python bench/cli_latency.py [--runs 15]

Targets (issue 5): validate / render / plan <= 1.5x the pydantic import; --version <= 1.2x
`python -c pass` + 30 ms. Prints medians and ratios; never fails on timings.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, REPO, median_ms, time_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    rtconfig = shutil.which("rtconfig", path=str(Path(PYTHON).parent)) or "rtconfig"
    cases = {
        "python -c pass": [PYTHON, "-c", "pass"],
        'python -c "import pydantic"': [PYTHON, "-c", "import pydantic"],
        "rtconfig --version": [rtconfig, "--version"],
        "rtconfig validate sessions.toml": [rtconfig, "validate", "sessions.toml"],
        "rtconfig render sessions.toml support": [rtconfig, "render", "sessions.toml", "support"],
        "rtconfig plan sessions.toml": [rtconfig, "plan", "sessions.toml"],
    }
    medians = {}
    # Interleave the cases round by round so that machine noise hits all of them alike.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, argv in cases.items():
            samples[name].extend(time_command(argv, 1, REPO))
    for name, times in samples.items():
        medians[name] = median_ms(times)
    base = medians['python -c "import pydantic"']
    bare = medians["python -c pass"]
    print(f"{'command':45} {'median ms':>10} {'ratio':>8}")
    for name, ms in medians.items():
        if name.startswith("rtconfig --version"):
            ratio = f"{ms / (1.2 * bare + 30):.2f}*"
        elif name.startswith("rtconfig"):
            ratio = f"{ms / base:.2f}x"
        else:
            ratio = ""
        print(f"{name:45} {ms:10.1f} {ratio:>8}")
    print("ratio: x = against the pydantic import (target <= 1.5);")
    print("       * = against 1.2 x `python -c pass` + 30 ms (target <= 1.0)")


if __name__ == "__main__":
    main()
