"""Run the ```console blocks of a Markdown file as a user would type them.

A ```console block holds commands after ``$ `` and, below each, what it prints. Commands run in
bash, in order, in a scratch copy of the repository, with this environment's ``rtconfig`` first
on the PATH; ``cd`` carries over to the next command. Each command must exit 0 (or N when the
command line ends with ``# exits N``), and the lines shown below it must appear in its output
(stdout then stderr), in order; ``*`` matches anything within a line and a line ``...`` stands
for lines left out. ```bash blocks are instructions (installs, editor setup), never run.

A fenced block right after a ``<!-- file: PATH -->`` comment is written to PATH (relative to
where the commands run) before the document's first command, so a tutorial's files are the
ones its commands use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")
FILE_BLOCK = re.compile(r"^<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)

# What a scratch copy of the repository needs for the documented commands.
COPIED = ("sessions.toml", "prompts", "docs", "examples")


@dataclass
class Command:
    """One ``$ …`` line of a console block and the output shown below it."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        match = EXITS.search(self.text)
        return int(match.group(1)) if match else 0


def console_blocks(path: Path) -> list[tuple[int, list[Command]]]:
    """Every console block of ``path``: (line of the fence, its commands)."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        first = text[: match.start()].count("\n") + 2
        commands: list[Command] = []
        for offset, raw in enumerate(match.group(1).splitlines()):
            if raw.startswith("$ "):
                commands.append(Command(first + offset, raw[2:]))
            elif commands:
                commands[-1].expected.append(raw)
        if commands:
            blocks.append((first - 1, commands))
    return blocks


def document_files(path: Path) -> dict[str, str]:
    """The files a document declares with ``<!-- file: PATH -->`` before a fenced block."""
    text = path.read_text(encoding="utf-8")
    return {match.group(1): match.group(2) for match in FILE_BLOCK.finditer(text)}


def run_document(path: Path, root: Path, where: str) -> int:
    """Write the document's files under ``root``, then run all its console blocks in order from
    ``root`` (files they write persist from block to block); return how many commands ran."""
    for name, content in document_files(path).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    count = 0
    for _, commands in console_blocks(path):
        run_block(commands, root, where)
        count += len(commands)
    return count


def scratch_repo(tmp: Path) -> Path:
    """A copy of the files the documented commands use, so they can write lock files and logs."""
    root = tmp / "repo"
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, root / name, ignore=shutil.ignore_patterns(".rtconfig", "__pycache__")
            )
        elif source.exists():
            shutil.copy2(source, root / name)
    return root


def shell_env() -> dict[str, str]:
    """The user's environment, minus overrides that would change bodies, plus our rtconfig."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("RTCONFIG")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["NO_COLOR"] = "1"
    # Let each `rtconfig` process reuse compiled bytecode instead of recompiling every import.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["COLUMNS"] = "100"
    return env


def run_block(commands: list[Command], cwd: Path, where: str) -> None:
    """Run a block's commands in order from ``cwd``; raise AssertionError on the first mismatch."""
    env = shell_env()
    for command in commands:
        text = command.text.strip()
        if text.startswith("cd "):
            cwd = (cwd / text[3:].split("#")[0].strip()).resolve()
            assert cwd.is_dir(), f"{where}:{command.line}: no such directory {cwd}"
            continue
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", text],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        output = done.stdout + done.stderr
        assert done.returncode == command.exit_code, (
            f"{where}:{command.line}: `{text}` exited {done.returncode}, "
            f"expected {command.exit_code}\n{output}"
        )
        missing = unmatched(command.expected, output.splitlines())
        assert missing is None, (
            f"{where}:{command.line}: `{text}` did not print {missing!r}; it printed:\n{output}"
        )


def unmatched(expected: list[str], actual: list[str]) -> str | None:
    """The first expected line not found in ``actual`` (in order), or None when all are."""
    position = 0
    for want in expected:
        pattern = want.rstrip()
        if not pattern.strip() or pattern.strip() in ("...", "…"):
            continue
        regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
        while position < len(actual) and not regex.fullmatch(actual[position].rstrip()):
            position += 1
        if position == len(actual):
            return want
        position += 1
    return None
