"""The pre-commit hooks in .pre-commit-hooks.yaml install and run with `pre-commit try-repo`.

`try-repo` builds a fresh hook environment (a virtualenv with rtconfig pip-installed from the
hook repository, its dependencies from the package index), exactly as a user's first
`pre-commit run` would. That takes tens of seconds, so one consumer repository exercises both
hooks on passing and failing projects in a single run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
# What pip needs to install rtconfig from the hook repository.
HOOK_REPO_FILES = ("rtconfig", "pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _hook_repo(tmp: Path) -> Path:
    """A git repository holding this working tree's package and hook manifest, committed (so
    the test sees uncommitted edits too, which try-repo alone would miss for new files)."""
    repo = tmp / "rtconfig-hooks"
    repo.mkdir()
    for name in HOOK_REPO_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "hooks")
    return repo


def _consumer(tmp: Path) -> tuple[Path, dict[str, int]]:
    """A user's repository with five projects: `good` (valid, lock fresh), `stale` (valid,
    lock out of date), `typo` (a misspelled key), `warn` (valid but for a warning: the voice
    "ceder") and `prompted` (prompts in files, lock fresh). Returns it and the typo's and the
    warning's lines."""
    repo = tmp / "consumer"
    repo.mkdir()
    for name, example in (
        ("good", "push-to-talk"),
        ("stale", "voice-agent"),
        ("typo", "beta-endpoint"),
        ("warn", "push-to-talk"),
        ("prompted", "prompts-in-files"),
    ):
        shutil.copytree(EXAMPLES / example, repo / name, ignore=shutil.ignore_patterns(".rtconfig"))
    stale = repo / "stale" / "sessions.toml"
    stale.write_text(stale.read_text().replace("speed = 1.05", "speed = 1.1"))
    typo = repo / "typo" / "sessions.toml"
    lines = typo.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("temperature = "))
    lines[line - 1] = lines[line - 1].replace("temperature", "temprature")
    typo.write_text("\n".join(lines) + "\n")
    warn = repo / "warn" / "sessions.toml"
    lines = warn.read_text().splitlines()
    voice = next(i for i, text in enumerate(lines, 1) if 'voice = "' in text)
    lines[voice - 1] = re.sub(r'voice = "[^"]*"', 'voice = "ceder"', lines[voice - 1])
    warn.write_text("\n".join(lines) + "\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    return repo, {"typo": line, "warn": voice}


def _hook_outputs(output: str) -> dict[str, tuple[str, str]]:
    """pre-commit's report split per hook: name -> (Passed/Failed/Skipped, its output)."""
    parts = re.split(
        r"^(rtconfig [^\n]*?)\.{3,}(Passed|Failed|\(no files to check\)Skipped)$",
        output,
        flags=re.M,
    )
    hooks = {}
    for index in range(1, len(parts) - 2, 3):
        hooks[parts[index]] = (parts[index + 1], parts[index + 2])
    return hooks


def test_manifest_declares_both_hooks_for_python() -> None:
    """.pre-commit-hooks.yaml declares rtconfig-validate and rtconfig-lock-check as python
    hooks that run on sessions.toml (and the lock file), and pre-commit accepts the manifest."""
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    }
    assert set(hooks) == {"rtconfig-validate", "rtconfig-lock-check"}
    assert all(hook["language"] == "python" for hook in hooks.values())
    assert re.search(hooks["rtconfig-validate"]["files"], "services/voice/sessions.toml")
    assert re.search(hooks["rtconfig-lock-check"]["files"], "sessions.lock.json")
    assert re.search(hooks["rtconfig-lock-check"]["files"], "voice/prompts/support.md")
    assert "--strict" in hooks["rtconfig-validate"]["entry"]
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(
    shutil.which("git") is None, reason="pre-commit needs git, which is not installed"
)
def test_try_repo_runs_both_hooks_and_catches_typos_and_stale_locks(tmp_path: Path) -> None:
    """`pre-commit try-repo` installs the hooks from a repository and runs them: valid files
    pass, the typo fails at its file:line, a warning fails (visible, since the hook is strict),
    the stale lock file fails naming its template; then a commit of only a prompt file runs the
    lock check on the TOML beside it, which fails."""
    hooks_repo = _hook_repo(tmp_path)
    consumer, lines = _consumer(tmp_path)
    done = _try_repo(tmp_path, hooks_repo, consumer, "--all-files")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    hooks = _hook_outputs(output)
    status, validate = hooks["rtconfig validate"]
    assert status == "Failed", output
    assert "good/sessions.toml is valid" in validate
    assert "stale/sessions.toml is valid" in validate
    assert f"typo/sessions.toml:{lines['typo']}:1: error:" in validate
    assert "temprature" in validate
    # Warnings fail the validate hook (it is strict), so pre-commit shows them.
    assert f"warn/sessions.toml:{lines['warn']}:" in validate and "ceder" in validate
    status, lock = hooks["rtconfig lock --check"]
    assert status == "Failed", output
    assert "good/sessions.lock.json is up to date" in lock
    assert "stale/sessions.lock.json" in lock and lock.count("concierge") == 1  # once, serially
    assert f"typo/sessions.toml:{lines['typo']}:1: error:" in lock
    assert lock.count("prompted/sessions.lock.json is up to date") == 1  # its prompts: once

    # A commit that changes only a prompt file: the lock check runs (on the TOML beside it)
    # and fails; validate has nothing to do.
    prompt = consumer / "prompted" / "prompts" / "billing.md"
    prompt.write_text(prompt.read_text() + "\n- Always thank the caller.\n")
    changed = str(prompt.relative_to(consumer))
    done = _try_repo(tmp_path, hooks_repo, consumer, "--files", changed)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    hooks = _hook_outputs(output)
    assert hooks["rtconfig validate"][0] == "(no files to check)Skipped", output
    status, lock = hooks["rtconfig lock --check"]
    assert status == "Failed", output
    assert "stale:" in lock and "prompted/sessions.lock.json is stale" in lock


def _try_repo(
    tmp_path: Path, hooks_repo: Path, consumer: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOKS_REPO ARGS…` in the consumer, with a cache of its own (the
    hook environment is built on the first call and reused by the next)."""
    env = {
        k: v for k, v in os.environ.items() if not k.upper().startswith(("RTCONFIG", "PRE_COMMIT"))
    }
    env.update(PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1", PRE_COMMIT_COLOR="never")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hooks_repo),
            *args,
            "--color",
            "never",
        ],
        cwd=consumer,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
