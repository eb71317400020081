"""The conventions users bring from other tools (issue 15, item 9 and 11): the openai SDK's
OPENAI_ORG_ID / OPENAI_PROJECT_ID, NO_COLOR / FORCE_COLOR / TERM=dumb / --no-color, GitHub
annotations like ruff's, a self-ignoring `.rtconfig/`, RTCONFIG_ENV named in its error, one
`--env`, "no such field" in explain, and the library's missing-file and `envs=None` edges."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import rtconfig
from rtconfig._cli import main
from rtconfig.testing import Emulator

KEY = "sk-CONVENTIONS-apikey-0123456789abcdef0123456789"

FILE = """\
[api]
endpoint = "realtime/client_secrets"
{api}

[templates.support]
type = "realtime"
model = "gpt-realtime"
audio.output = {{ voice = "marin", speed = 1.0 }}

[environments.staging.templates.support]
audio.output.speed = 1.1

[environments.production.templates."*"]
tracing = "auto"
"""


def write(tmp_path: Path, api: str = "") -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(FILE.format(api=api))
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


# --- OPENAI_ORG_ID / OPENAI_PROJECT_ID ------------------------------------------------------


def test_org_and_project_variables_are_sent_as_the_sdk_sends_them(tmp_path: Path) -> None:
    """With OPENAI_ORG_ID and OPENAI_PROJECT_ID set and nothing in the file, the mint carries
    OpenAI-Organization and OpenAI-Project, as the openai SDK's requests do."""
    path = write(tmp_path)
    with Emulator() as api:
        env = {**api.environ(), "OPENAI_ORG_ID": "org-from-env", "OPENAI_PROJECT_ID": "proj_env"}
        result = cli("apply", str(path), "--base-url", api.base_url, env=env)
        assert result.exit_code == 0, result.output
        headers = api.requests[0].headers
    assert headers["openai-organization"] == "org-from-env"
    assert headers["openai-project"] == "proj_env"


def test_the_files_organization_wins_over_the_variable(tmp_path: Path) -> None:
    """`[api] organization` is the explicit setting: it wins over OPENAI_ORG_ID (the SDK's
    variables are defaults), while OPENAI_PROJECT_ID still fills the unset project."""
    path = write(tmp_path, api='organization = "org-in-file"')
    config = rtconfig.load(path)
    environ = {"OPENAI_ORG_ID": "org-from-env", "OPENAI_PROJECT_ID": "proj_env"}
    settings = config.resolve("support", environ=environ).settings
    assert (settings.organization, settings.project) == ("org-in-file", "proj_env")
    assert config.resolve("support", environ={}).settings.project is None


# --- colour -------------------------------------------------------------------------------------

ESC = "\x1b["


def _plan_on_a_terminal(path: Path, **env: str) -> str:
    """`rtconfig plan` with stdout on a pseudo-terminal, as a user's shell runs it."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "rtconfig", "plan", str(path)],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=environ,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower closed: EIO on Linux
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode()


def test_plan_is_coloured_on_a_terminal_but_not_with_term_dumb(tmp_path: Path) -> None:
    """On a terminal the plan is coloured; TERM=dumb (a terminal that cannot show colour)
    and NO_COLOR turn it off there."""
    path = write(tmp_path)
    assert ESC in _plan_on_a_terminal(path, TERM="xterm-256color")
    plain = _plan_on_a_terminal(path, TERM="dumb")
    assert "Plan:" in plain and ESC not in plain
    assert ESC not in _plan_on_a_terminal(path, TERM="xterm", NO_COLOR="1")


def test_force_color_colours_a_pipe_and_no_color_flag_wins(tmp_path: Path) -> None:
    """FORCE_COLOR colours even when piped (CI logs render ANSI); `--no-color`, on the group
    or on the command, turns it off again."""
    path = str(write(tmp_path))
    assert ESC not in cli("plan", path).output
    assert ESC in cli("plan", path, env={"FORCE_COLOR": "1"}).output
    assert ESC not in cli("plan", path, "--no-color", env={"FORCE_COLOR": "1"}).output
    assert ESC not in cli("--no-color", "plan", path, env={"FORCE_COLOR": "1"}).output


# --- validate --format github -----------------------------------------------------------------


def test_validate_format_github_writes_one_annotation_per_problem(tmp_path: Path) -> None:
    """`validate --format github` prints ruff-style workflow commands: one `::error` per
    problem at file, line and column, a warning as `::warning` (an error under --strict)."""
    path = write(tmp_path)
    text = path.read_text().replace('voice = "marin"', 'voise = "marin"')
    path.write_text(text.replace('model = "gpt-realtime"', 'model = "gpt-realtime-9000"'))
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "github"])
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 2, annotations
    assert annotations[0] == (
        f"::error file={path},line=8,col=18,title=rtconfig::{path}:8:18: error: support: "
        "audio.output.voise: unknown field 'voise' (did you mean 'voice'?)"
    )
    assert annotations[1].startswith(
        f"::warning file={path},line=7,col=1,title=rtconfig::{path}:7:1: warning: support: model:"
    )
    assert "gpt-realtime-9000" in annotations[1]
    strict = CliRunner().invoke(main, ["validate", str(path), "--format", "github", "--strict"])
    assert not any(line.startswith("::warning") for line in strict.stdout.splitlines())


def test_github_annotations_escape_newlines_and_name_no_file_for_variables(
    tmp_path: Path,
) -> None:
    """A problem from an environment variable carries no `file=` (there is no such file) and
    the message's special characters are escaped as GitHub requires."""
    path = write(tmp_path)
    result = cli(
        "validate", str(path), "--format", "github", env={"RTCONFIG__SUPORT__MODEL": "x%y"}
    )
    assert result.exit_code == 1
    (line,) = [text for text in result.stdout.splitlines() if text.startswith("::error")]
    assert line.startswith("::error title=rtconfig::RTCONFIG__SUPORT__MODEL: error:")


def test_validate_json_has_a_format_version(tmp_path: Path) -> None:
    """`validate --json` (and `--format json`) carry "format_version" (CONTRACT §13)."""
    import json

    path = str(write(tmp_path))
    for flags in (["--json"], ["--format", "json"]):
        data = json.loads(cli("validate", path, *flags).stdout)
        assert data["format_version"] == 1 and data["valid"] is True


# --- .rtconfig/.gitignore ---------------------------------------------------------------------


def test_the_audit_directory_ignores_itself(tmp_path: Path) -> None:
    """The first apply creates `.rtconfig/.gitignore` holding `*` (as pytest's and ruff's
    caches do), so `git status` never shows the audit log; a user's own file is kept."""
    path = write(tmp_path)
    result = cli("apply", str(path), "--emulate")
    assert result.exit_code == 0, result.output
    gitignore = tmp_path / ".rtconfig" / ".gitignore"
    assert "*" in gitignore.read_text().splitlines()
    done = subprocess.run(["git", "init", "-q", str(tmp_path)], capture_output=True)
    if done.returncode == 0:
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        ).stdout
        assert ".rtconfig" not in status and "sessions.toml" in status
    gitignore.write_text("audit.jsonl\n")
    assert cli("apply", str(path), "--emulate").exit_code == 0
    assert gitignore.read_text() == "audit.jsonl\n"


# --- environments: RTCONFIG_ENV, --env twice --------------------------------------------------


def test_unknown_environment_from_rtconfig_env_names_the_variable(tmp_path: Path) -> None:
    """An unknown environment that came from RTCONFIG_ENV is reported at RTCONFIG_ENV (so the
    user looks at their shell, not the command line); from --env, at the file."""
    path = str(write(tmp_path))
    result = CliRunner().invoke(main, ["validate", path], env={"RTCONFIG_ENV": "prod"})
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "RTCONFIG_ENV: error: unknown environment 'prod' (from RTCONFIG_ENV); "
        f"{path} declares: staging, production (set RTCONFIG_ENV to one of them, or unset it)"
    )
    for command in (["plan", path], ["render", path, "support"], ["explain", path, "support"]):
        done = CliRunner().invoke(main, command, env={"RTCONFIG_ENV": "prod"})
        assert done.exit_code == 1 and done.stderr.startswith("RTCONFIG_ENV: error:"), command
    flag = CliRunner().invoke(main, ["validate", path, "--env", "prod"])
    assert flag.stderr.startswith(f"{path}: error: unknown environment 'prod'")
    assert "RTCONFIG_ENV" not in flag.stderr


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_env_given_twice_is_refused(tmp_path: Path, command: str) -> None:
    """`--env staging --env production` is a usage error (exit 2) naming both, not silently
    the last one."""
    path = str(write(tmp_path))
    result = CliRunner().invoke(main, [command, path, "--env", "staging", "-e", "production"])
    assert result.exit_code == 2
    assert "given 2 times ('staging', 'production')" in result.stderr


def test_one_env_still_works_from_flag_and_variable(tmp_path: Path) -> None:
    """One --env, or RTCONFIG_ENV alone, selects the environment as before."""
    path = str(write(tmp_path))
    flag = cli("render", path, "support", "--env", "staging")
    variable = cli("render", path, "support", env={"RTCONFIG_ENV": "staging"})
    assert '"speed": 1.1' in flag.stdout and flag.stdout == variable.stdout


# --- explain ----------------------------------------------------------------------------------


def test_explain_of_a_misspelled_field_says_it_does_not_exist(tmp_path: Path) -> None:
    """`explain T audio.outptu` says there is no such field (with a suggestion); a real field
    no layer sets still says the API default applies."""
    path = str(write(tmp_path))
    typo = CliRunner().invoke(main, ["explain", path, "support", "audio.outptu"])
    assert typo.exit_code == 1
    assert "no such field: audio has no field 'outptu' (did you mean 'output'?)" in typo.stderr
    assert "not set by any layer" not in typo.stderr
    unset = CliRunner().invoke(main, ["explain", path, "support", "audio.input.noise_reduction"])
    assert unset.exit_code == 1
    assert "not set by any layer (the API default applies)" in unset.stderr


def test_explain_names_template_star_for_a_star_overlay_value(tmp_path: Path) -> None:
    """A value from `[environments.E.templates."*"]` is from template "*" in explain's text
    and JSON (CONTRACT §13)."""
    import json

    path = str(write(tmp_path))
    text = cli("explain", path, "support", "tracing", "--env", "production").stdout
    assert 'from environment production overlay "*" (' in text
    data = json.loads(cli("explain", path, "support", "--env", "production", "--json").stdout)
    (tracing,) = [f for f in data["fields"] if f["path"] == "tracing"]
    assert tracing["origin"]["template"] == "*"
    assert data["format_version"] == 1


# --- library edges ----------------------------------------------------------------------------


def test_check_with_envs_none_means_the_default(tmp_path: Path) -> None:
    """`config.check(envs=None)` checks what the default does (the default environment and
    every declared one) instead of raising TypeError."""
    config = rtconfig.load(write(tmp_path))
    default = config.check(environ={})
    explicit = config.check(envs=None, environ={})
    assert [(t.name, t.env) for t in explicit.templates] == [
        (t.name, t.env) for t in default.templates
    ]
    assert {t.env for t in explicit.templates} == {None, "staging", "production"}


def test_loading_a_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    """`rtconfig.load()` of a missing file says so plainly and is catchable both as the
    standard FileNotFoundError and as rtconfig's ConfigError / RtconfigError."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(FileNotFoundError) as caught:
        rtconfig.load(missing)
    error = caught.value
    assert isinstance(error, rtconfig.ConfigError) and isinstance(error, rtconfig.RtconfigError)
    assert isinstance(error, rtconfig.ConfigFileNotFoundError)
    assert str(error) == f"{missing}: error: no such file"
    assert error.filename == str(missing) and error.errno == 2
    assert [d.message for d in error.diagnostics] == ["no such file"]
    result = CliRunner().invoke(main, ["validate", str(missing)])
    assert result.exit_code == 1 and f"{missing}: error: no such file" in result.stderr
