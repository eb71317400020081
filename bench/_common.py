"""Helpers shared by the benchmarks: timing subprocesses, medians, and generated configs."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def time_command(argv: Sequence[str], runs: int, cwd: Path = REPO) -> list[float]:
    """Wall time of ``argv`` in seconds, ``runs`` times (after one warm-up run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTCONFIG")}
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def median_ms(times: Sequence[float]) -> float:
    return statistics.median(times) * 1000


def generate_config(templates: int, depth: int = 8, environments: int = 3) -> str:
    """A sessions.toml of ``templates`` GA templates in inheritance chains of ``depth``, with
    ``environments`` environments each overlaying every chain's root and one field everywhere."""
    lines = ['[api]\nendpoint = "realtime/client_secrets"\n']
    voices = ["alloy", "marin", "cedar", "ash", "coral", "sage", "verse", "shimmer"]
    for i in range(templates):
        chain, level = divmod(i, depth)
        name = f"t{chain}-{level}"
        lines.append(f"[templates.{name}]")
        if level == 0:
            lines.append('type = "realtime"\nmodel = "gpt-realtime-2.1"')
            lines.append(f'instructions = "You are agent number {chain}."')
            lines.append('expires_after = { anchor = "created_at", seconds = 600 }')
            lines.append('audio.input.turn_detection = { type = "server_vad", threshold = 0.5 }')
        else:
            lines.append(f'extends = "t{chain}-{level - 1}"')
            lines.append(f'audio.output.voice = "{voices[level % len(voices)]}"')
            lines.append(f"audio.output.speed = {0.9 + level / 100:.2f}")
            if level % 3 == 0:
                lines.append(
                    f'tools = [{{ type = "function", name = "tool_{level}", '
                    'parameters = { type = "object", properties = { id = { type = "string" } } } }]'
                )
        lines.append("")
    for e in range(environments):
        env = f"env{e}"
        lines.append(f'[environments.{env}.templates."*"]')
        lines.append(f"expires_after = {{ seconds = {300 + e} }}")
        lines.append("")
        for chain in range(0, (templates + depth - 1) // depth, 7):
            lines.append(f"[environments.{env}.templates.t{chain}-0]")
            lines.append(f'tracing = {{ workflow_name = "wf-{env}" }}')
            lines.append("")
    return "\n".join(lines)


def machine_description() -> str:
    """CPU count and model, Python version and the load average now (the machine is shared)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, load average {load}"
    )
