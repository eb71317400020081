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
    """A user's repository with three projects: `good` (valid, lock fresh), `stale` (valid,
    lock out of date) and `typo` (a misspelled key). Returns it and the typo's line."""
    repo = tmp / "consumer"
    repo.mkdir()
    for name, example in (
        ("good", "push-to-talk"),
        ("stale", "voice-agent"),
        ("typo", "beta-endpoint"),
    ):
        shutil.copytree(EXAMPLES / example, repo / name, ignore=shutil.ignore_patterns(".rtconfig"))
    stale = repo / "stale" / "sessions.toml"
    stale.write_text(stale.read_text().replace("speed = 1.05", "speed = 1.1"))
    typo = repo / "typo" / "sessions.toml"
    lines = typo.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("temperature = "))
    lines[line - 1] = lines[line - 1].replace("temperature", "temprature")
    typo.write_text("\n".join(lines) + "\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    return repo, {"typo": line}


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
    pass, the typo fails at its file:line, the stale lock file fails naming its template."""
    hooks_repo = _hook_repo(tmp_path)
    consumer, lines = _consumer(tmp_path)
    env = {
        k: v for k, v in os.environ.items() if not k.upper().startswith(("RTCONFIG", "PRE_COMMIT"))
    }
    env.update(PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1", PRE_COMMIT_COLOR="never")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hooks_repo),
            "--all-files",
            "--color",
            "never",
        ],
        cwd=consumer,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    hooks = _hook_outputs(output)
    status, validate = hooks["rtconfig validate"]
    assert status == "Failed", output
    assert "good/sessions.toml is valid" in validate
    assert "stale/sessions.toml is valid" in validate
    assert f"typo/sessions.toml:{lines['typo']}:1: error:" in validate
    assert "temprature" in validate
    status, lock = hooks["rtconfig lock --check"]
    assert status == "Failed", output
    assert "good/sessions.lock.json is up to date" in lock
    assert "stale/sessions.lock.json" in lock and lock.count("concierge") == 1  # once, serially
    assert f"typo/sessions.toml:{lines['typo']}:1: error:" in lock
