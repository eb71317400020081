"""Run the ```console blocks of a Markdown file as a user would type them.

A ```console block holds commands after ``$ `` and, below each, what it prints. A document's
commands run in ONE bash process, in order, top to bottom across its blocks, as a reader typing
them into one terminal would: ``cd``, ``export`` and shell variables carry over from command to
command and from block to block. They start in a scratch copy of the repository, with this
environment's ``rtconfig`` first on the PATH. Each command must exit 0 (or N when the
command line ends with ``# exits N``), and the lines shown below it must appear in its output
(stdout then stderr), in order; ``*`` matches anything within a line and a line ``...`` stands
for lines left out. ```bash blocks are instructions (installs, editor setup), never run.

A fenced block right after a ``<!-- file: PATH -->`` comment is written to PATH (relative to
where the commands run) before the document's first command, so a tutorial's files are the
ones its commands use.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
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
    """Write the document's files under ``root``, then run all its console blocks in order in
    one shell that starts in ``root``; return how many commands ran."""
    for name, content in document_files(path).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    count = 0
    with Shell(root) as shell:
        for _, commands in console_blocks(path):
            for command in commands:
                shell.check(command, where)
            count += len(commands)
    return count


class Shell:
    """One interactive-like bash process: each command runs in it (not in a subshell), so its
    working directory and variables persist; output and exit status come back through files."""

    def __init__(self, cwd: Path, timeout: float = 120) -> None:
        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="console-"))
        self.count = 0
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=shell_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def __enter__(self) -> Shell:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, text: str) -> tuple[int, str]:
        """Run ``text`` in the shell; its exit status and output (stdout, then stderr)."""
        self.count += 1
        out, err, rc = (self.dir / f"{self.count}.{part}" for part in ("out", "err", "rc"))
        assert self.process.stdin is not None
        # Braces run the command in this shell; the newline ends a trailing `# comment`.
        self.process.stdin.write(
            f"{{\n{text}\n}} >{out} 2>{err} </dev/null\necho $? >{rc}.tmp && mv {rc}.tmp {rc}\n"
        )
        self.process.stdin.flush()
        deadline = time.monotonic() + self.timeout
        while not rc.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"the shell exited ({self.process.returncode}) at `{text}`")
            if time.monotonic() > deadline:
                raise AssertionError(f"`{text}` did not finish in {self.timeout} s")
            time.sleep(0.01)
        return int(rc.read_text()), out.read_text() + err.read_text()

    def check(self, command: Command, where: str) -> None:
        """Run ``command``; raise AssertionError unless it exits and prints as shown."""
        text = command.text.strip()
        code, output = self.run(text)
        assert code == command.exit_code, (
            f"{where}:{command.line}: `{text}` exited {code}, "
            f"expected {command.exit_code}\n{output}"
        )
        missing = unmatched(command.expected, output.splitlines())
        assert missing is None, (
            f"{where}:{command.line}: `{text}` did not print {missing!r}; it printed:\n{output}"
        )


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
    """Run a block's commands in order in one shell started in ``cwd``; raise AssertionError on
    the first mismatch."""
    with Shell(cwd) as shell:
        for command in commands:
            shell.check(command, where)


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
