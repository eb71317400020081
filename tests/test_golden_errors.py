"""Golden error cases: each ``tests/cases/errors/<case>/`` holds a sessions.toml and the exact
diagnostic lines ``rtconfig validate`` must print (``expected``), optionally the extra command
line arguments (``args``, one per line) and environment variables (``environ.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtconfig._cli import main

CASES = Path(__file__).parent / "cases" / "errors"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "expected").is_file())


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_error(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate prints exactly the expected diagnostics, at the expected lines, and exits 1."""
    monkeypatch.chdir(case)
    args_file = case / "args"
    args = args_file.read_text().split("\n") if args_file.exists() else []
    environ_file = case / "environ.json"
    environ = json.loads(environ_file.read_text()) if environ_file.exists() else {}
    environ = {"RTCONFIG_TODAY": "2026-12-01", **environ}  # days to a shutdown are in the output
    for name in list(__import__("os").environ):
        if name.upper().startswith("RTCONFIG"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(
        main, ["validate", "sessions.toml", *[a for a in args if a]], env=environ
    )
    expected = (case / "expected").read_text().splitlines()
    lines = [
        line for line in result.stderr.splitlines() if not line.startswith("sessions.toml is ")
    ]
    assert lines == expected
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output


def test_every_case_has_a_single_purpose() -> None:
    """The golden corpus covers each error the contract names (guards against silent deletion)."""
    names = {p.name for p in _cases()}
    required = {
        "api-key-in-file",
        "key-like-string",
        "instructions-and-file",
        "overlay-extends",
        "overlay-unknown-template",
        "extends-cycle",
        "extends-unknown",
        "env-var-unknown-template",
        "toml-syntax",
        "unknown-environment",
        "invalid-template-name",
        "instructions-file-missing",
        "set-unknown-template",
        "bad-setting",
    }
    assert required <= names, sorted(required - names)
