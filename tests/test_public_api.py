"""The public surface is small, sorted, and does not drag in the HTTP stack."""

from __future__ import annotations

import subprocess
import sys

import rtconfig


def test_all_is_sorted_and_resolvable() -> None:
    """``__all__`` is sorted and every name in it exists (a drift guard, as in httpx)."""
    assert rtconfig.__all__ == sorted(rtconfig.__all__)
    for name in rtconfig.__all__:
        assert getattr(rtconfig, name) is not None, name


def test_validate_imports_no_http_stack(tmp_path: object) -> None:
    """``rtconfig validate`` runs without importing httpx, structlog or the applier."""
    code = (
        "import sys; from rtconfig._cli import main\n"
        "try:\n    main(['validate', 'sessions.toml'])\n"
        "except SystemExit as e:\n    code = e.code\n"
        "bad = [m for m in ('httpx', 'structlog', 'rtconfig._apply.engine', "
        "'rtconfig._apply.transport', 'anyio', 'h11') "
        "if m in sys.modules]\n"
        "print('LOADED:' + ','.join(bad)); print('EXIT:' + str(code))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    ).stdout
    assert "LOADED:\n" in out
    assert "EXIT:0" in out
