"""A hostile repository: files a pull request can commit (symlinks to devices, FIFOs,
dot-directories, enormous or endless inputs) are refused at once, in bounded memory and time.

Memory bounds are enforced by running the real CLI under ``RLIMIT_AS`` in a subprocess; time
bounds by the subprocess timeout and :func:`tests._robust.deadline`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rtconfig._files import (
    LOCK_FILE,
    FileProblem,
    FileRefused,
    atomic_write,
    read_file,
    read_in_tree,
)
from rtconfig._resolver import body_sha256
from tests._robust import GA_HEAD, STATS, cli, deadline, run_rtconfig

# Enough for the interpreter and rtconfig, far too little for /dev/zero read to its limit twice.
MEMORY = 1 << 30


def _project(tmp_path: Path, body: str = 'model = "gpt-realtime"\n') -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + body)
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["plan", "FILE"],
        ["lock", "FILE", "--check"],
        ["apply", "FILE", "--locked", "--dry-run"],
    ],
)
def test_a_lock_file_symlinked_to_dev_zero_is_refused_in_bounded_memory(
    tmp_path: Path, command: list[str]
) -> None:
    """A committed `sessions.lock.json -> /dev/zero` is refused (not a regular file) by plan,
    lock --check and apply --locked, within 30 s under a 1 GiB address-space limit."""
    path = _project(tmp_path)
    (tmp_path / "sessions.lock.json").symlink_to("/dev/zero")
    args = [str(path) if a == "FILE" else a for a in command]
    result = run_rtconfig(*args, memory_limit=MEMORY, timeout=30)
    STATS["hostile files tried"] += 1
    assert result.returncode == 1, result.stderr
    assert "lock file: it is not a regular file (a character device)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_saved_plan_that_is_a_device_or_a_fifo_is_refused(tmp_path: Path) -> None:
    """`apply PLAN` on a symlink to /dev/zero or on a FIFO ends at once with exit 1 (a FIFO
    would block the open for ever; /dev/zero never end)."""
    os.mkfifo(tmp_path / "plan.fifo")
    (tmp_path / "plan.json").symlink_to("/dev/zero")
    for name in ("plan.json", "plan.fifo"):
        result = run_rtconfig(
            "apply", str(tmp_path / name), "--dry-run", memory_limit=MEMORY, timeout=30
        )
        STATS["hostile files tried"] += 1
        assert result.returncode == 1, result.stderr
        assert "not a regular file" in result.stderr


def test_a_saved_plan_listing_a_device_as_its_prompt_is_stale_not_read(tmp_path: Path) -> None:
    """A saved plan edited to list `/dev/zero` (or a symlink to it) as an instructions file is
    refused as stale, in bounded memory: the listed files are read like instructions_file.
    (The edit is resealed, as a determined editor would: an unsealed edit is refused earlier.)"""
    (tmp_path / "p.md").write_text("Be brief.\n")
    path = _project(tmp_path, 'instructions_file = "p.md"\n')
    plan = tmp_path / "plan.json"
    cli(["plan", str(path), "--out", str(plan)])
    (tmp_path / "zero.md").symlink_to("/dev/zero")
    data = json.loads(plan.read_text())
    files = data["inputs"]["instructions_files"]
    files.append({"path": "zero.md", "sha256": "0" * 64})
    files.append({"path": "/dev/zero", "sha256": "0" * 64})
    del data["plan_sha256"]
    data["plan_sha256"] = body_sha256(data)
    plan.write_text(json.dumps(data))
    result = run_rtconfig("apply", str(plan), "--dry-run", memory_limit=MEMORY, timeout=30)
    assert result.returncode == 1, result.stderr
    assert "zero.md changed since the plan was made" in result.stderr


@pytest.mark.parametrize("source", ["dev-zero", "fifo", "stdin"])
def test_import_is_bounded_whatever_it_reads(tmp_path: Path, source: str) -> None:
    """`rtconfig import` refuses /dev/zero (via a symlink), a FIFO, and more than 16 MiB on stdin,
    within 30 s under a 1 GiB address-space limit."""
    if source == "dev-zero":
        (tmp_path / "s.json").symlink_to("/dev/zero")
        result = run_rtconfig("import", str(tmp_path / "s.json"), memory_limit=MEMORY, timeout=30)
        assert "not a regular file" in result.stderr
    elif source == "fifo":
        os.mkfifo(tmp_path / "s.json")
        result = run_rtconfig("import", str(tmp_path / "s.json"), memory_limit=MEMORY, timeout=30)
        assert "not a regular file (a FIFO)" in result.stderr
    else:
        with open("/dev/zero", "rb") as zero:  # an endless stdin
            result = run_rtconfig("import", "-", memory_limit=MEMORY, timeout=30, stdin=zero)
        assert "is more than 16777216 bytes; the limit is 16777216 bytes (16 MiB)" in result.stderr
    STATS["hostile files tried"] += 1
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_reader_judges_the_opened_file_not_a_prior_check(tmp_path: Path) -> None:
    """read_file refuses devices and FIFOs by fstat of the opened descriptor (a FIFO does not
    block the open), caps regular files by size, and O_NOFOLLOW refuses a symlink when asked."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "big").write_bytes(b"x" * (LOCK_FILE.max_bytes + 1))
    (tmp_path / "ok").write_bytes(b"fine")
    (tmp_path / "link").symlink_to("ok")
    with deadline(10):
        for name, problem in (
            ("fifo", FileProblem.NOT_REGULAR),
            ("zero", FileProblem.NOT_REGULAR),
            ("big", FileProblem.TOO_LARGE),
            ("missing", FileProblem.MISSING),
        ):
            with pytest.raises(FileRefused) as caught:
                read_file(tmp_path / name, LOCK_FILE)
            assert caught.value.problem is problem, name
        assert read_file(tmp_path / "link", LOCK_FILE) == b"fine"
        with pytest.raises(FileRefused) as caught:
            read_file(tmp_path / "link", LOCK_FILE, follow_symlinks=False)
        assert caught.value.problem is FileProblem.SYMLINK


def test_read_in_tree_is_not_fooled_by_a_symlink_swapped_in_after_the_check(
    tmp_path: Path,
) -> None:
    """A directory swapped for a symlink to outside the tree while read_in_tree runs is never
    followed: every read either returns the prompt or is refused; none returns the secret."""
    base = tmp_path / "repo"
    (base / "prompts").mkdir(parents=True)
    (base / "prompts" / "p.md").write_text("prompt\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.md").write_text("SECRET\n")
    stop = threading.Event()

    def swap() -> None:
        real, moved = base / "prompts", base / "prompts-real"
        while not stop.is_set():
            os.rename(real, moved)
            real.symlink_to(outside)
            real.unlink()
            os.rename(moved, real)

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[bytes] = set()
    try:
        for _ in range(3000):
            try:
                seen.add(read_in_tree(base, "prompts/p.md", LOCK_FILE))
            except FileRefused:
                seen.add(b"refused")
    finally:
        stop.set()
        swapper.join()
    STATS["hostile files tried"] += 3000
    assert b"SECRET\n" not in seen
    assert b"prompt\n" in seen


@pytest.mark.parametrize(
    "relative",
    [".git/config", ".env", ".rtconfig/audit.jsonl", "prompts/.hidden/p.md", "via-link.md"],
)
def test_instructions_file_through_a_dot_directory_is_refused_unless_allowed(
    tmp_path: Path, relative: str
) -> None:
    """`instructions_file` naming `.git/config`, `.env`, `.rtconfig/…`, any dot-directory, or a
    symlink resolving into one, is refused by validate (exit 1, the secret never printed); with
    `instructions_file_allow_hidden = true` beside it the file is read."""
    for name in (".git/config", ".env", ".rtconfig/audit.jsonl", "prompts/.hidden/p.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("extraheader = AUTHORIZATION: basic SECRETVALUE\n")
    (tmp_path / "via-link.md").symlink_to(tmp_path / ".git" / "config")
    path = _project(tmp_path, f'instructions_file = "{relative}"\n')
    for command in (["validate", str(path)], ["render", str(path), "t"]):
        result = cli(command)
        assert result.exit_code == 1
        assert "hidden (dot) file or directory" in result.stderr
        assert "SECRETVALUE" not in result.stdout + result.stderr
    STATS["hostile files tried"] += 1
    path.write_text(
        GA_HEAD + f'instructions_file = "{relative}"\ninstructions_file_allow_hidden = true\n'
    )
    result = cli(["render", str(path), "t"])
    assert result.exit_code == 0, result.stderr
    assert "SECRETVALUE" in result.stdout


def test_allow_hidden_must_be_a_boolean_beside_an_instructions_file(tmp_path: Path) -> None:
    """`instructions_file_allow_hidden` that is not a boolean, or has no instructions_file beside
    it, is a diagnostic at its line."""
    path = _project(tmp_path, 'instructions_file_allow_hidden = "yes"\n')
    result = cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "sessions.toml:6" in result.stderr and "must be true or false" in result.stderr
    path.write_text(GA_HEAD + "instructions_file_allow_hidden = true\n")
    result = cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "there is none" in result.stderr


def test_an_instructions_file_path_holding_a_nul_is_invalid_not_missing(tmp_path: Path) -> None:
    """A prompt path with a NUL in it is refused as an invalid path (FileProblem.INVALID_PATH),
    not reported as a file that does not exist; a missing file still reads as missing."""
    with pytest.raises(FileRefused) as refused:
        read_in_tree(tmp_path, "p\0.md", LOCK_FILE)
    assert refused.value.problem is FileProblem.INVALID_PATH
    path = _project(tmp_path, 'instructions_file = "p\\u0000.md"\n')
    result = cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "is not a valid path (it holds a NUL)" in result.stderr
    assert "does not exist" not in result.stderr
    path.write_text(GA_HEAD + 'instructions_file = "gone.md"\n')
    result = cli(["validate", str(path)])
    assert result.exit_code == 1 and "file 'gone.md' does not exist" in result.stderr


def test_a_prompt_file_holding_a_minted_token_is_refused(tmp_path: Path) -> None:
    """A prompt file holding an `ek_…` token (an earlier --output, say) is refused without
    echoing it."""
    token = "ek_" + "a1b2c3d4" * 6
    (tmp_path / "p.md").write_text(f'{{"client_secret": "{token}"}}\n')
    path = _project(tmp_path, 'instructions_file = "p.md"\n')
    result = cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "minted token (ek_…)" in result.stderr
    assert token not in result.stdout + result.stderr


def test_atomic_write_refuses_devices_and_guarded_files_and_replaces_symlinks(
    tmp_path: Path,
) -> None:
    """atomic_write refuses a device node, a FIFO, a directory, and a path that is (or links to)
    a guarded file; a symlink at the path is replaced, its target untouched; the mode is set."""
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "link").symlink_to(victim)
    atomic_write(tmp_path / "link", "new", mode=0o600)
    assert victim.read_text() == "keep"
    assert not (tmp_path / "link").is_symlink() and (tmp_path / "link").read_text() == "new"
    assert (tmp_path / "link").stat().st_mode & 0o777 == 0o600
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "to-victim").symlink_to(victim)
    for target, guarded in (
        (Path("/dev/null"), ()),
        (tmp_path / "fifo", ()),
        (tmp_path / "dir", ()),
        (victim, (victim,)),
        (tmp_path / "to-victim", (victim,)),
    ):
        with pytest.raises(FileRefused):
            atomic_write(target, "x", not_onto=guarded)
    assert victim.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_output_cannot_replace_a_device_or_the_audit_log(tmp_path: Path) -> None:
    """`apply --output` naming a FIFO or the audit log is a usage error before anything is sent
    (exit 2), and the audit log is left as it was."""
    path = _project(tmp_path)
    audit = tmp_path / "audit.jsonl"
    audit.write_text("")
    env = {"OPENAI_API_KEY": "sk-test-" + "x" * 30}
    os.mkfifo(tmp_path / "out.fifo")
    for output in (str(audit), str(tmp_path / "out.fifo")):
        args = ["apply", str(path), "--emulate", "--audit-log", str(audit), "--output", output]
        result = subprocess.run(
            [sys.executable, "-m", "rtconfig", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        assert result.returncode == 2, result.stderr
        assert f"--output {output}: it is" in result.stderr
    assert audit.read_text() == ""


def test_import_prints_no_toml_that_validate_would_refuse(tmp_path: Path) -> None:
    """`rtconfig import` of a session whose instructions hold a key-like string (it printed
    the key as TOML, which validate then refused) exits 1, prints no TOML and no key."""
    key = "sk-" + "a1" * 16
    source = tmp_path / "s.json"
    source.write_text(
        json.dumps({"type": "realtime", "model": "gpt-realtime", "instructions": key})
    )
    result = cli(["import", str(source)])
    assert result.exit_code == 1
    assert "would not pass `rtconfig validate`" in result.stderr
    assert result.stdout == "" and key not in result.stderr
