"""The command-line interface: the only code that prints or exits.

:func:`run` is the console script. It answers ``--version`` without importing click, imports
only the module of the command that runs (each command module registers its commands on the
group, :data:`main`), and ends a finished read-only command without the interpreter's teardown.
Heavy stacks (httpx, structlog) are imported inside the commands that need them, so
``rtconfig validate`` never pays for them. ``from rtconfig._cli import main`` gives the group
with every command registered (for tests, completion and the generated reference).
"""

from __future__ import annotations

import os
import sys

# typing.TYPE_CHECKING without importing typing: `rtconfig --version` imports only os and sys.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    import click

    main: click.Group

__all__ = ["main", "run"]

# Commands whose work is over when they return: nothing left in threads or atexit hooks, every
# file they write already closed. Only these skip the interpreter's teardown.
_FAST_EXIT = frozenset({"validate", "render", "explain", "schema", "plan", "lock", "import"})
_SIGNALLED = 128  # exit codes above it: the command was stopped by signal (code - 128)


def run() -> NoReturn:
    """``rtconfig …``: the console script."""
    args = sys.argv[1:]
    if args in (["--version"], ["-V"]):
        from rtconfig._version import __version__

        sys.stdout.write(f"rtconfig, version {__version__}\n")  # as click's version_option
        _exit(0)
    from rtconfig._cli._common import main as group

    try:
        group.main(args=args)
    except SystemExit as exc:
        command = next((a for a in args if not a.startswith("-")), None)
        if not isinstance(exc.code, int):
            raise
        # A run a signal stopped (128 + N) has closed its files too; and in the teardown Python
        # resets signal handlers to the default, so a further Ctrl-C there killed the process
        # (-2) where the contract says it exits at once with 130.
        if command not in _FAST_EXIT and exc.code <= _SIGNALLED:
            raise
        _exit(exc.code)
    raise SystemExit(0)  # pragma: no cover - click's standalone mode always exits


def _exit(code: int) -> NoReturn:
    """Exit once the output is flushed, skipping the teardown that frees every object."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the interpreter report it as it always did
        raise SystemExit(code) from None
    threading = sys.modules.get("threading")  # not imported: no other thread can be running
    if threading is not None and threading.active_count() > 1:
        raise SystemExit(code)  # someone still works: let them finish
    os._exit(code)


def __getattr__(name: str) -> Any:
    if name == "main":
        from rtconfig._cli._common import load_commands, main

        load_commands()
        return main
    raise AttributeError(f"module 'rtconfig._cli' has no attribute {name!r}")
