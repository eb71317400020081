"""CLI latency: rtconfig's commands against `python -c "import pydantic"`, in the same run.

    .venv/bin/python bench/cli_latency.py [--runs 15]

Each command runs as a fresh process (after one warm-up run), the cases interleaved round by
round so that machine noise hits them all alike; figures are medians. Targets (issue 5):
validate / render / plan <= 1.5x the pydantic import; --version <= 1.2x `python -c pass` +
30 ms. Also reports which heavy modules `rtconfig validate` imports (it must import neither
httpx nor structlog: tests/test_public_api.py enforces it) and the slowest imports of a
validate run (`python -X importtime`). Prints medians and ratios; never fails on timings.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, REPO, machine_description, median_ms, time_command

VALIDATE_IN_PROCESS = (
    "import sys\n"
    "from rtconfig._cli import main\n"
    "try:\n    main(['validate', 'sessions.toml'])\n"
    "except SystemExit:\n    pass\n"
    "heavy = ('httpx', 'httpcore', 'h11', 'anyio', 'structlog', 'rtconfig._apply.transport',"
    " 'openai')\n"
    "print('LOADED', ','.join(m for m in heavy if m in sys.modules) or '-', file=sys.stderr)\n"
)


def _imports_of_validate() -> str:
    proc = subprocess.run(
        [PYTHON, "-c", VALIDATE_IN_PROCESS], cwd=REPO, capture_output=True, text=True, check=False
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("LOADED ")][-1]
    return line.split(" ", 1)[1]


def _slowest_imports(count: int) -> list[tuple[int, str]]:
    """The top-level imports of a validate run with the largest cumulative time (µs)."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", VALIDATE_IN_PROCESS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # nested imports are indented further: top level only
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
    print(f"# CLI latency: medians of {args.runs} runs per command, interleaved")
    print(f"# {machine_description()}")
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, argv in cases.items():
            samples[name].extend(time_command(argv, 1, REPO))
    medians = {name: median_ms(times) for name, times in samples.items()}
    base = medians['python -c "import pydantic"']
    bare = medians["python -c pass"]
    print(f"{'command':45} {'median ms':>10}")
    for name, ms in medians.items():
        print(f"{name:45} {ms:10.1f}")
    for name, ms in medians.items():
        if name == "rtconfig --version":
            limit = 1.2 * bare + 30
            verdict = "met" if ms <= limit else "MISSED"
            print(
                f"ratio: {name} / (1.2 x python -c pass + 30 ms = {limit:.1f} ms) = "
                f"{ms / limit:.2f} (target <= 1: {verdict})"
            )
        elif name.startswith("rtconfig"):
            verdict = "met" if ms / base <= 1.5 else "MISSED"
            print(f"ratio: {name} / import pydantic = {ms / base:.2f} (target <= 1.5: {verdict})")
    print(f"imports: `rtconfig validate` loaded of the heavy modules: {_imports_of_validate()}")
    print("slowest top-level imports of `rtconfig validate` (cumulative, -X importtime):")
    for micros, name in _slowest_imports(8):
        print(f"  {micros / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
