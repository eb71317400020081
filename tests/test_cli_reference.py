"""docs/cli.md is generated from the click commands by scripts/gen_cli_docs.py and kept current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from rtconfig._cli import main

REPO = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_cli_docs", REPO / "scripts" / "gen_cli_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_cli_reference_is_up_to_date() -> None:
    """docs/cli.md equals what the generator writes now (run scripts/gen_cli_docs.py if not)."""
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), "run: .venv/bin/python scripts/gen_cli_docs.py"


def test_reference_covers_every_command_and_option() -> None:
    """Every command has a section, and every option of every command appears in it."""
    text = _generator().render()
    for name, command in main.commands.items():
        section = text.split(f"## rtconfig {name}\n", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert opt in section, (name, opt)


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    """`gen_cli_docs.py --check` exits 1 when the file differs, 0 when it matches."""
    generator = _generator()
    generator.TARGET = tmp_path / "cli.md"
    generator.TARGET.write_text("stale\n")
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
