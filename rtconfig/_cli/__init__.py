"""The command-line interface: the only code that prints or exits.

Each command module registers its commands on :data:`main`. Heavy stacks (httpx, structlog) are
imported inside the commands that need them, so ``rtconfig validate`` never pays for them.
"""

from __future__ import annotations

from rtconfig._cli._common import main

# Importing the command modules registers their commands on `main`.
from rtconfig._cli import _core  # noqa: F401  isort: skip
from rtconfig._cli import _plan  # noqa: F401  isort: skip
from rtconfig._cli import _apply  # noqa: F401  isort: skip

__all__ = ["main"]
