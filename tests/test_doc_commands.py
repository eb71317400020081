"""The console sessions in README.md and docs/*.md run as shown (see tests/_console.py): every
`$ rtconfig …` a reader copies works, exits as documented and prints what the page says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._console import console_blocks, run_document, scratch_repo

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    path
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    if console_blocks(path)
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_console_sessions_run_as_shown(document: Path, tmp_path: Path) -> None:
    """Every command of the page's console blocks exits as shown and prints the lines shown."""
    root = scratch_repo(tmp_path)
    assert run_document(document, root, str(document.relative_to(REPO))) > 0


def test_the_readme_and_the_guides_have_console_sessions() -> None:
    """The collector finds the README's and the guides' sessions (it cannot silently find none)."""
    names = {path.name for path in DOCUMENTS}
    assert {"README.md", "getting-started.md", "plan-and-lock.md"} <= names
