"""Shell completion of names from the file on the command line: templates, environments.

click calls these while completing (``_RTCONFIG_COMPLETE=…``); by then it has parsed the words
before the cursor, so ``ctx.params["file"]`` is the FILE argument when one was typed. They read
the file with the standard library only and never fail: a missing or broken file completes
nothing, and the shell falls back to its defaults.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem, split_arg_string

from rtconfig._environ import process_environ

__all__ = ["complete_environments", "complete_templates"]

# Completion reads at most this much of the file: a Tab press must stay instant.
MAX_COMPLETION_BYTES = 8 * 1024 * 1024


def _file_argument(ctx: click.Context) -> str | None:
    """The FILE argument typed before the cursor. click parses the words before the cursor
    into ``ctx.params``, but a dangling option (``plan sessions.toml -t <Tab>``) makes that
    parse give up; then the words of the command line (``COMP_WORDS``, which every shell's
    script sets) are parsed again without the dangling tail."""
    file = ctx.params.get("file")
    if isinstance(file, str) and file:
        return file
    words = split_arg_string(process_environ().get("COMP_WORDS", ""))
    if ctx.info_name not in words:
        return None
    after = words[words.index(ctx.info_name) + 1 :]
    for end in range(len(after), -1, -1):
        try:
            parsed = ctx.command.make_context(
                ctx.info_name, after[:end], parent=ctx.parent, resilient_parsing=True
            )
        except click.exceptions.ClickException:
            continue
        file = parsed.params.get("file")
        if isinstance(file, str) and file:
            return file
    return None


def _document(ctx: click.Context) -> dict[str, Any]:
    file = _file_argument(ctx)
    if file is None:
        return {}
    try:
        path = Path(file)
        if path.stat().st_size > MAX_COMPLETION_BYTES:
            return {}
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError):
        return {}


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def complete_templates(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The file's mintable (non-abstract) templates starting with ``incomplete``, each with its
    description as help."""
    items = []
    for name, template in _table(_document(ctx), "templates").items():
        if not name.startswith(incomplete) or not isinstance(template, dict):
            continue
        if template.get("abstract") is True:
            continue
        description = template.get("description")
        items.append(
            CompletionItem(name, help=description if isinstance(description, str) else None)
        )
    return items


def complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The file's declared environments starting with ``incomplete``."""
    return [
        CompletionItem(name)
        for name in _table(_document(ctx), "environments")
        if name.startswith(incomplete)
    ]
