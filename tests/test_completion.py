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


# --- names from the file on the command line --------------------------------------------------

NAMES = """\
[api]
endpoint = "realtime/client_secrets"

[templates.base]
abstract = true
type = "realtime"
model = "gpt-realtime"

[templates.support]
extends = "base"
description = "Support line"

[templates.sales]
extends = "base"

[templates.survey]
extends = "base"

[environments.staging.templates.support]
instructions = "Staging."

[environments.production.templates."*"]
tracing = "auto"
"""


def _complete(cwd: Path, shell: str, words: str, cword: int | None = None) -> list[str]:
    """Ask rtconfig for candidates through click's completion protocol, as the shell's
    script does (COMP_WORDS/COMP_CWORD); return the candidate values."""
    assert RTCONFIG is not None
    extra = {"_RTCONFIG_COMPLETE": f"{shell}_complete", "COMP_WORDS": words}
    if shell == "fish":
        extra["COMP_CWORD"] = words.split(" ")[-1]
    else:
        extra["COMP_CWORD"] = str(cword if cword is not None else len(words.split(" ")) - 1)
    done = subprocess.run(
        [RTCONFIG], cwd=cwd, env=_env(**extra), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    if shell == "bash":  # "type,value" per line
        return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]
    if shell == "zsh":  # type, value, help: three lines per item
        lines = done.stdout.splitlines()
        return [lines[i + 1] for i in range(0, len(lines), 3)]
    return [line.split(",", 1)[1].split("\t")[0] for line in done.stdout.splitlines() if line]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "sessions.toml").write_text(NAMES)
    return tmp_path


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_template_option_completes_the_files_templates(project: Path, shell: str) -> None:
    """`plan sessions.toml -t s<Tab>` offers the file's mintable templates starting with s
    (never the abstract base), in every shell's protocol."""
    got = _complete(project, shell, "rtconfig plan sessions.toml -t s")
    assert sorted(got) == ["sales", "support", "survey"]
    everything = _complete(project, shell, "rtconfig apply sessions.toml --template ")
    assert sorted(everything) == ["sales", "support", "survey"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_env_option_completes_the_files_environments(project: Path, shell: str) -> None:
    """`--env <Tab>` and `-e p<Tab>` offer the environments the file declares."""
    assert _complete(project, shell, "rtconfig plan sessions.toml --env ") == [
        "staging",
        "production",
    ]
    assert _complete(project, shell, "rtconfig validate sessions.toml -e p") == ["production"]


def test_template_argument_completes_with_descriptions(project: Path) -> None:
    """`render sessions.toml <Tab>` and `explain sessions.toml su<Tab>` offer template names;
    zsh shows each one's description beside it."""
    assert sorted(_complete(project, "bash", "rtconfig render sessions.toml ")) == [
        "sales",
        "support",
        "survey",
    ]
    done = subprocess.run(
        [RTCONFIG or "rtconfig"],
        cwd=project,
        env=_env(
            _RTCONFIG_COMPLETE="zsh_complete",
            COMP_WORDS="rtconfig explain sessions.toml su",
            COMP_CWORD="3",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # zsh's protocol: type, value, help ("_" for none), three lines per candidate.
    assert done.stdout.splitlines() == ["plain", "support", "Support line", "plain", "survey", "_"]


def test_no_file_or_a_broken_one_completes_nothing(project: Path) -> None:
    """Before FILE is typed, or when it is missing or not TOML, there is nothing to offer and
    nothing fails (the shell stays quiet)."""
    assert _complete(project, "bash", "rtconfig plan --env ") == []
    assert _complete(project, "bash", "rtconfig plan missing.toml --env ") == []
    (project / "broken.toml").write_text("[templates.x\n")
    assert _complete(project, "bash", "rtconfig plan broken.toml -t ") == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_environment_names(project: Path) -> None:
    """Sourced in bash, the script turns `rtconfig plan sessions.toml --env st<Tab>` into
    staging, as pressing Tab would."""
    probe = (
        "source <(_RTCONFIG_COMPLETE=bash_source rtconfig)\n"
        "COMP_WORDS=(rtconfig plan sessions.toml --env st); COMP_CWORD=4\n"
        "_rtconfig_completion rtconfig\n"
        'echo "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", probe],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.splitlines() == ["staging"], done.stderr
