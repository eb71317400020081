"""Shared fixtures: a clean environment for every test; write a sessions.toml into tmp_path."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO.parent / "shared" / "spec"


# Variables a developer's shell (or a CI runner) may export that change what rtconfig does:
# RTCONFIG_ENV picks the default environment, RTCONFIG__… overrides settings, RTCONFIG_TODAY pins
# the lifecycle date, OPENAI_API_KEY / OPENAI_BASE_URL … are read by apply. Tests set their own.
_CLEARED_PREFIXES = ("RTCONFIG", "OPENAI")
PINNED_TODAY = "2026-12-01"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without RTCONFIG* / OPENAI* variables (subprocesses inherit the same)."""
    for name in list(os.environ):
        if name.upper().startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    # The lifecycle checks count days to a shutdown: pin "today" to the day the facts were
    # checked (NOTES §8), so that outputs do not change with the calendar. Tests about dates set
    # their own.
    monkeypatch.setenv("RTCONFIG_TODAY", PINNED_TODAY)


@pytest.fixture
def write_toml(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented TOML (and optional extra files) into tmp_path; return the TOML's path."""

    def write(text: str, name: str = "sessions.toml", files: dict[str, str] | None = None) -> Path:
        for relative, content in (files or {}).items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability figures (tests/_robust.STATS) when the robustness tests ran."""
    from tests._robust import STATS

    if STATS:
        terminalreporter.section("rtconfig robustness figures")
        for name, count in sorted(STATS.items()):
            terminalreporter.write_line(f"{name}: {count}")


# Hypothesis profiles (tests/test_fuzz.py). "ci" is the default: bounded so that the fuzz suite
# stays well under a minute on a small shared machine. "soak" is for long runs by hand:
#     HYPOTHESIS_PROFILE=soak .venv/bin/pytest tests/test_fuzz.py -p no:cacheprovider
# Our own per-input time bounds replace hypothesis's deadline (inputs vary a lot in size).
_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    max_examples=120,
    deadline=None,
    suppress_health_check=_FUZZ_HEALTH,
    print_blob=True,  # a failure prints the @reproduce_failure line to replay it
    database=None,  # CI starts from a clean checkout: nothing to replay, nothing to write
)
settings.register_profile(
    "soak", max_examples=5000, deadline=None, suppress_health_check=_FUZZ_HEALTH, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
