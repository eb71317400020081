"""Shell completion through click's mechanism: `_RTCONFIG_COMPLETE={bash,zsh,fish}_source
rtconfig` prints each shell's script, and the scripts complete commands and options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
RTCONFIG = shutil.which("rtconfig", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_RTCONFIG_COMPLETE")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _run(**extra: str) -> str:
    assert RTCONFIG is not None, "the rtconfig console script is not installed"
    done = subprocess.run(
        [RTCONFIG], env=_env(**extra), capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _rtconfig_completion rtconfig"),
        ("zsh", "#compdef rtconfig"),
        ("fish", "complete --no-files --command rtconfig"),
    ],
)
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    """`_RTCONFIG_COMPLETE=<shell>_source rtconfig` prints that shell's completion script."""
    script = _run(_RTCONFIG_COMPLETE=f"{shell}_source")
    assert marker in script
    assert "_RTCONFIG_COMPLETE" in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_commands_and_options() -> None:
    """Sourced in bash, the script completes `rtconfig va` to validate and `plan FILE --d` to
    --detailed-exitcode, as pressing Tab would."""
    probe = (
        "source <(_RTCONFIG_COMPLETE=bash_source rtconfig)\n"
        "COMP_WORDS=(rtconfig va); COMP_CWORD=1; _rtconfig_completion rtconfig\n"
        'echo "${COMPREPLY[@]}"; COMPREPLY=()\n'
        "COMP_WORDS=(rtconfig plan sessions.toml --d); COMP_CWORD=3\n"
        "_rtconfig_completion rtconfig\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", probe],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.splitlines() == ["validate", "--detailed-exitcode"], done.stderr


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_protocols_answer_with_commands(shell: str) -> None:
    """The zsh and fish scripts ask rtconfig for candidates; it answers `rtconfig a` with the
    apply command and its help text (what the scripts then show)."""
    cword = "1" if shell == "zsh" else "a"
    answer = _run(_RTCONFIG_COMPLETE=f"{shell}_complete", COMP_WORDS="rtconfig a", COMP_CWORD=cword)
    assert "apply" in answer
    assert "Mint one session" in answer
