"""Planning vs validating: 1,000 generated templates (depth-8 chains, 3 environments).

    python bench/plan_scale.py [--templates 1000] [--runs 9]

Everything runs in this one process, so both sides pay the same import costs once (a warm-up
round runs first). Each round times, on a freshly loaded file:

- validate: ``load(path).check(envs=[None])``, what ``rtconfig validate --env`` does;
- plan: the same, then reading the lock file, ``make_plan`` and rendering the text plan, what
  ``rtconfig plan`` does;
- plan --json: the same with the JSON document serialised as ``rtconfig plan --json`` prints it
  into a pipe (one line; on a terminal it is indented, which the standard library does in pure
  Python, at about the cost of validating again).

A lock file written from a slightly different config (another voice in one template in twenty,
one extra template) makes the plan compute field diffs and a removed entry. Reported: medians of
``--runs`` rounds and their ratio. Target (issue 3): plan / validate < 2.

Also the lock file of every environment (what ``rtconfig lock`` writes) in format 2 beside
format 1 (the format earlier releases wrote), its size and the time to read it back, medians of
the same rounds (issue 16 target 5: a lock a person can read in a diff, and proportionate).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dataclasses

from _common import generate_config, machine_description

from rtconfig._config import load
from rtconfig._plan.lock import (
    Lock,
    build_lock,
    dumps_lock,
    lock_path_for,
    parse_lock,
    read_lock,
    write_lock,
)
from rtconfig._plan.make import make_plan
from rtconfig._plan.records import Plan
from rtconfig._plan.render import plan_json, render_text


def _validate(path: Path) -> int:
    check = load(path).check(envs=[None], environ={})
    check.raise_for_errors()
    return len(check.templates)


def _planned(path: Path) -> Plan:
    check = load(path).check(envs=[None], environ={})
    check.raise_for_errors()
    lock_path = lock_path_for(path)
    return make_plan(
        check.templates,
        read_lock(lock_path),
        envs=[None],
        config_file=str(path),
        lock_file=str(lock_path),
    )


def _plan_text(path: Path) -> int:
    return len(render_text(_planned(path)))


def _plan_json(path: Path) -> int:
    return len(json.dumps(plan_json(_planned(path)), ensure_ascii=False, separators=(",", ":")))


def _time_read(text: str) -> float:
    gc.collect()
    start = time.perf_counter()
    parsed: Lock = parse_lock(text, "sessions.lock.json")
    elapsed = time.perf_counter() - start
    assert parsed.entries
    return elapsed


def _time(func: Callable[[Path], int], path: Path) -> float:
    gc.collect()  # each run starts from a clean heap, not with the previous run's garbage
    start = time.perf_counter()
    func(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sessions.toml"
        text = generate_config(args.templates)
        # The lock's state: another voice in one template in twenty, one template more.
        before = Path(tmp) / "before.toml"
        before.write_text(
            text.replace('audio.output.voice = "marin"', 'audio.output.voice = "echo"', 50)
            + '\n[templates.retired]\ntype = "realtime"\n'
        )
        check = load(before).check(envs=[None], environ={})
        check.raise_for_errors()
        write_lock(lock_path_for(path), build_lock(check.templates))
        path.write_text(text)

        for func in (_validate, _plan_text, _plan_json):  # warm-up: imports, model validators
            func(path)
        times: dict[str, list[float]] = {"validate": [], "plan": [], "plan --json": []}
        for _ in range(args.runs):  # interleaved, so that load on the machine hits all alike
            times["validate"].append(_time(_validate, path))
            times["plan"].append(_time(_plan_text, path))
            times["plan --json"].append(_time(_plan_json, path))
        plan = _planned(path)
        every = load(path).check(environ={})
        lock = build_lock(every.templates)
        texts = {
            "format 2": dumps_lock(lock),
            "format 1": dumps_lock(dataclasses.replace(lock, format_version=1)),
        }
        reads: dict[str, list[float]] = {name: [] for name in texts}
        for _ in range(args.runs):
            for name, text in texts.items():
                reads[name].append(_time_read(text))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"# {machine_description()}")
    print(
        f"{len(plan.templates)} templates planned "
        f"({plan.count('changed')} changed, {plan.count('unchanged')} unchanged, "
        f"{len(plan.removed)} removed), medians of {args.runs} runs in one process:"
    )
    for name, seconds in medians.items():
        print(f"  {name:<12} {seconds * 1000:8.1f} ms")
    base = medians["validate"]
    ratio = medians["plan"] / base
    print(f"ratio: plan / validate = {ratio:.2f} (target < 2: {'met' if ratio < 2 else 'MISSED'})")
    print(f"ratio: plan --json / validate = {medians['plan --json'] / base:.2f}")
    for name, text in texts.items():
        print(
            f"lock {name}: {len(text.encode()) / 1e6:7.2f} MB, {len(text.splitlines())} lines, "
            f"read in {statistics.median(reads[name]) * 1000:.1f} ms "
            f"({len(every.templates)} template-environments)"
        )
    size = len(texts["format 2"]) / len(texts["format 1"])
    print(f"ratio: lock format 2 / format 1 size = {size:.2f}")


if __name__ == "__main__":
    main()
