"""Shared fixtures: write a sessions.toml into a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO.parent / "shared" / "spec"


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
