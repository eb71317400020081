"""The ``plan``, ``lock`` and ``import`` commands through click's CliRunner, and the golden plan
cases: each ``tests/cases/plan/<case>/`` holds a sessions.toml, optionally the lock's state as
``before.toml`` (the lock is written from it) or as a literal ``sessions.lock.json``, extra
arguments (``args``, one per line), and the exact ``expected.json`` and ``expected.txt``.

Set ``RTCONFIG_UPDATE_GOLDEN=1`` to rewrite the expected files after a deliberate change.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtconfig._cli import main
from rtconfig._cli._plan import use_color
from rtconfig._config import load
from rtconfig._plan.lock import build_lock, write_lock

CASES = Path(__file__).parent / "cases" / "plan"
UPDATE = bool(os.environ.get("RTCONFIG_UPDATE_GOLDEN"))


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray RTCONFIG_*/OPENAI_BASE_URL/NO_COLOR from the developer's shell."""
    for name in list(os.environ):
        if name.upper().startswith("RTCONFIG") or name in ("OPENAI_BASE_URL", "NO_COLOR"):
            monkeypatch.delenv(name)


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "sessions.toml").is_file())


def _prepare(case: Path, tmp_path: Path) -> Path:
    """Copy a case into tmp_path and write its lock from before.toml, if it has one."""
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected.*"))
    before = work / "before.toml"
    if before.exists():
        check = load(before).check()
        check.raise_for_errors()
        write_lock(work / "sessions.lock.json", build_lock(check.templates))
    return work


def _args(case: Path) -> list[str]:
    file = case / "args"
    return [a for a in file.read_text().split("\n") if a] if file.exists() else []


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_plan(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """plan --json and the text plan match the case's expected files, and the detailed exit code
    says whether anything differs from the lock."""
    work = _prepare(case, tmp_path)
    monkeypatch.chdir(work)
    runner = CliRunner()
    args = _args(case)
    as_json = runner.invoke(main, ["plan", "sessions.toml", "--json", *args])
    assert as_json.exit_code == 0, as_json.output
    text = runner.invoke(main, ["plan", "sessions.toml", *args], env={"NO_COLOR": "1"})
    assert text.exit_code == 0, text.output
    data = json.loads(as_json.stdout)
    if UPDATE:
        (case / "expected.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        (case / "expected.txt").write_text(text.stdout)
    assert data == json.loads((case / "expected.json").read_text())
    assert text.stdout == (case / "expected.txt").read_text()
    detailed = runner.invoke(main, ["plan", "sessions.toml", "--detailed-exitcode", *args])
    assert detailed.exit_code == (2 if data["differs_from_lock"] else 0)


def test_golden_corpus_covers_each_lock_status() -> None:
    """The golden plans include new, changed, unchanged, removed, redundant and no-lock cases."""
    statuses: set[str | None] = set()
    redundant = removed = False
    for case in _cases():
        data = json.loads((case / "expected.json").read_text())
        statuses |= {t["lock_status"] for t in data["templates"]}
        redundant |= any(t["redundant"] for t in data["templates"])
        removed |= bool(data["removed"])
    assert statuses == {None, "new", "changed", "unchanged"}
    assert redundant and removed


# --- plan ------------------------------------------------------------------------------------

BETA = '[api]\nendpoint = "realtime/sessions"\n'  # these templates are flat beta sessions
SIMPLE = (
    BETA
    + """
[templates.support]
model = "gpt-realtime"
voice = "sage"

[templates.sales]
model = "gpt-realtime"
voice = "echo"
"""
)


def test_plan_detailed_exitcode_two_without_lock(write_toml: Callable[..., Path]) -> None:
    """--detailed-exitcode exits 2 when there is no lock file at all."""
    path = write_toml(SIMPLE)
    result = CliRunner().invoke(main, ["plan", str(path), "--detailed-exitcode"])
    assert result.exit_code == 2, result.output
    assert "no lock file" in result.stdout


def test_plan_detailed_exitcode_zero_when_locked(write_toml: Callable[..., Path]) -> None:
    """--detailed-exitcode exits 0 right after `rtconfig lock`, 2 after an edit."""
    path = write_toml(SIMPLE)
    runner = CliRunner()
    assert runner.invoke(main, ["lock", str(path)]).exit_code == 0
    fresh = runner.invoke(main, ["plan", str(path), "--detailed-exitcode"])
    assert fresh.exit_code == 0, fresh.output
    assert "Plan: 2 to mint (0 new, 0 changed, 2 unchanged since the lock)." in fresh.stdout
    path.write_text(SIMPLE.replace('"echo"', '"ash"'))
    stale = runner.invoke(main, ["plan", str(path), "--detailed-exitcode"])
    assert stale.exit_code == 2
    assert '~ voice = "echo" -> "ash"' in stale.stdout


def test_plan_detailed_exitcode_one_on_error(write_toml: Callable[..., Path]) -> None:
    """--detailed-exitcode exits 1 (not 2) when the configuration is invalid."""
    path = write_toml(BETA + "[templates.support]\nspeed = 9.0\n")
    result = CliRunner().invoke(main, ["plan", str(path), "--detailed-exitcode"])
    assert result.exit_code == 1
    assert "speed" in result.stderr
    assert "Traceback" not in result.output


def test_plan_without_detailed_exitcode_exits_zero(write_toml: Callable[..., Path]) -> None:
    """A plan that differs from the lock still exits 0 without --detailed-exitcode."""
    path = write_toml(SIMPLE)
    assert CliRunner().invoke(main, ["plan", str(path)]).exit_code == 0


def test_plan_unknown_template_suggests(write_toml: Callable[..., Path]) -> None:
    """-t with an unknown name is an error naming the closest template."""
    path = write_toml(SIMPLE)
    result = CliRunner().invoke(main, ["plan", str(path), "-t", "suport"])
    assert result.exit_code == 1
    assert "unknown template 'suport' (did you mean 'support'?)" in result.stderr


def test_plan_template_selection_is_repeatable(write_toml: Callable[..., Path]) -> None:
    """-t twice plans exactly those two templates, in the order given."""
    path = write_toml(SIMPLE + '\n[templates.third]\nmodel = "gpt-realtime"\n')
    result = CliRunner().invoke(main, ["plan", str(path), "--json", "-t", "third", "-t", "support"])
    assert [t["name"] for t in json.loads(result.stdout)["templates"]] == ["third", "support"]


def test_plan_json_keys_follow_the_contract(write_toml: Callable[..., Path]) -> None:
    """plan --json has the contract's keys, template paths, and the contract's sha256."""
    path = write_toml(
        """
        [api]
        endpoint = "realtime/client_secrets"

        [templates.agent]
        type = "realtime"
        model = "gpt-realtime"
        audio.output.voice = "alloy"
        expires_after = { seconds = 300 }
        """
    )
    data = json.loads(CliRunner().invoke(main, ["plan", str(path), "--json"]).stdout)
    assert data["format_version"] == 1
    [t] = data["templates"]
    assert {"name", "env", "endpoint", "body", "sha256", "overrides", "redundant"} <= t.keys()
    assert t["lock_status"] is None
    paths = {o["path"] for o in t["overrides"]} | {r["path"] for r in t["redundant"]}
    assert paths == {"type", "model", "audio.output.voice", "expires_after.seconds"}
    assert {k: v for k, v in t["redundant"][0].items() if k in ("path", "value")} == {
        "path": "audio.output.voice",
        "value": "alloy",
    }
    overrides = {o["path"]: o for o in t["overrides"]}
    assert overrides["model"]["default"] is None and not overrides["model"]["has_default"]
    assert overrides["expires_after.seconds"]["default"] == 600
    import hashlib

    canonical = json.dumps(t["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert t["sha256"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_plan_text_shows_instructions_as_a_line_diff(write_toml: Callable[..., Path]) -> None:
    """A changed multi-line instruction is shown as a unified diff, not as two whole texts."""
    lines = [f"Rule {i}: be helpful in way number {i}." for i in range(30)]
    path = write_toml(
        BETA + '[templates.agent]\nmodel = "gpt-realtime"\ninstructions_file = "p.md"\n',
        files={"p.md": "\n".join(lines) + "\n"},
    )
    runner = CliRunner()
    runner.invoke(main, ["lock", str(path)])
    lines[14] = "Rule 14: be kind."
    (path.parent / "p.md").write_text("\n".join(lines) + "\n")
    out = runner.invoke(main, ["plan", str(path)]).stdout
    assert "~ instructions" in out
    assert "-Rule 14: be helpful in way number 14." in out
    assert "+Rule 14: be kind." in out
    assert "@@ -14,3 +14,3 @@" in out
    assert "Rule 2:" not in out  # far from the change: not repeated


def test_plan_text_has_no_colour_when_not_a_tty(write_toml: Callable[..., Path]) -> None:
    """CliRunner's stdout is not a terminal: the plan carries no ANSI escape."""
    path = write_toml(SIMPLE)
    assert "\x1b[" not in CliRunner().invoke(main, ["plan", str(path)]).stdout


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty_and_never_with_no_color() -> None:
    """Colour is used on a terminal, not on a pipe, and never when NO_COLOR is set."""
    assert use_color(_Tty(), {}) is True
    assert use_color(io.StringIO(), {}) is False
    assert use_color(_Tty(), {"NO_COLOR": "1"}) is False


def test_plan_explain_names_origins(write_toml: Callable[..., Path]) -> None:
    """--explain (or -v) says where each value came from, fields at their default included."""
    path = write_toml(
        """
        [api]
        endpoint = "realtime/sessions"

        [templates.base]
        abstract = true
        model = "gpt-realtime"
        speed = 1

        [templates.support]
        extends = "base"
        voice = "sage"
        """
    )
    runner = CliRunner()
    out = runner.invoke(main, ["plan", str(path), "--explain"]).stdout
    assert f"# from template base ({path}:7)" in out
    assert f"# from template support ({path}:12)" in out
    assert "speed" in out and "the spec default: redundant" in out
    assert runner.invoke(main, ["plan", str(path), "-v"]).stdout == out
    assert "# (1 field at their default hidden)" in runner.invoke(main, ["plan", str(path)]).stdout


def test_plan_explain_names_environment_variables(
    write_toml: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value set by RTCONFIG__ is attributed to the variable."""
    path = write_toml(SIMPLE)
    monkeypatch.setenv("RTCONFIG__SUPPORT__VOICE", "ash")
    out = CliRunner().invoke(main, ["plan", str(path), "-v", "-t", "support"]).stdout
    assert '"ash"  # from environment variable RTCONFIG__SUPPORT__VOICE' in out


def test_plan_out_writes_a_saved_plan_without_the_key(
    write_toml: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan --out writes a readable saved plan that holds no API key."""
    from rtconfig._plan.saved import read_saved_plan

    path = write_toml(SIMPLE)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-RECOGNISABLE0123456789")
    out = path.parent / "plan.json"
    result = CliRunner().invoke(main, ["plan", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "RECOGNISABLE" not in out.read_text()
    saved = read_saved_plan(out, os.environ)
    assert [t.name for t in saved.templates] == ["support", "sales"]


# --- lock ------------------------------------------------------------------------------------


def test_lock_writes_and_check_is_fresh(write_toml: Callable[..., Path]) -> None:
    """lock writes <stem>.lock.json beside FILE; lock --check then exits 0."""
    path = write_toml(SIMPLE, name="agents.toml")
    runner = CliRunner()
    result = runner.invoke(main, ["lock", str(path)])
    assert result.exit_code == 0, result.output
    assert (path.parent / "agents.lock.json").is_file()
    check = runner.invoke(main, ["lock", str(path), "--check"])
    assert check.exit_code == 0, check.output
    assert "up to date" in check.stdout


def test_lock_check_names_stale_missing_and_removed(write_toml: Callable[..., Path]) -> None:
    """lock --check exits 1 and names each stale, missing and removed pair."""
    path = write_toml(SIMPLE + "\n[environments.production]\n")
    runner = CliRunner()
    runner.invoke(main, ["lock", str(path)])
    path.write_text(
        BETA + '[templates.support]\nmodel = "gpt-realtime"\nvoice = "ash"\n'
        '[templates.new-one]\nmodel = "gpt-realtime"\n[environments.production]\n'
    )
    result = runner.invoke(main, ["lock", str(path), "--check"])
    assert result.exit_code == 1
    err = result.stderr
    assert "stale: support [default environment]: body differs" in err
    assert "stale: support [production]: body differs" in err
    assert "missing: new-one [default environment] is not in" in err
    assert "removed: sales [production] is in" in err
    assert "is stale (6 problems)" in err


def test_lock_check_without_lock_file_fails(write_toml: Callable[..., Path]) -> None:
    """lock --check exits 1 when there is no lock file, and writes none."""
    path = write_toml(SIMPLE)
    result = CliRunner().invoke(main, ["lock", str(path), "--check"])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert not (path.parent / "sessions.lock.json").exists()


def test_lock_refuses_an_invalid_config(write_toml: Callable[..., Path]) -> None:
    """lock writes nothing when any template is invalid in any environment."""
    path = write_toml(SIMPLE + "\n[environments.production.templates.support]\nspeed = 3.0\n")
    result = CliRunner().invoke(main, ["lock", str(path)])
    assert result.exit_code == 1
    assert "support [production]: speed" in result.stderr
    assert not (path.parent / "sessions.lock.json").exists()


# --- import ----------------------------------------------------------------------------------


def test_import_never_prints_the_token(tmp_path: Path) -> None:
    """import of a GA response prints a template without the token's value."""
    session = tmp_path / "minted.json"
    session.write_text(
        json.dumps(
            {
                "value": "ek_TOKEN_VALUE_SHOULD_NOT_APPEAR",
                "expires_at": 1756310470,
                "session": {
                    "type": "realtime",
                    "id": "sess_1",
                    "object": "realtime.session",
                    "model": "gpt-realtime",
                    "audio": {"output": {"voice": "marin"}},
                },
            }
        )
    )
    result = CliRunner().invoke(main, ["import", str(session)])
    assert result.exit_code == 0, result.output
    assert "TOKEN_VALUE" not in result.output
    assert "[templates.minted]" in result.stdout
    assert 'voice = "marin"' in result.stdout


def test_import_reads_stdin_and_takes_a_name() -> None:
    """import - reads the session from stdin; --name names the template."""
    result = CliRunner().invoke(
        main, ["import", "-", "--name", "kiosk"], input='{"model": "gpt-realtime", "voice": "ash"}'
    )
    assert result.exit_code == 0, result.output
    assert "[templates.kiosk]" in result.stdout
    assert 'endpoint = "realtime/sessions"' in result.stdout


def test_import_endpoint_flag_overrides_inference() -> None:
    """--endpoint wins over the shape: a flat GA session becomes a client_secrets template."""
    result = CliRunner().invoke(
        main,
        ["import", "-", "--endpoint", "realtime/client_secrets"],
        input='{"type": "transcription"}',
    )
    assert result.exit_code == 0, result.output
    assert 'endpoint = "realtime/client_secrets"' in result.stdout


def test_import_invalid_session_exits_one() -> None:
    """A session the endpoint would reject is an error (exit 1), not a broken template."""
    result = CliRunner().invoke(main, ["import", "-"], input='{"speed": 7}')
    assert result.exit_code == 1
    assert "speed" in result.stderr and "at most 1.5" in result.stderr


def test_import_not_json_exits_one(tmp_path: Path) -> None:
    """A file that is not JSON is reported without a traceback."""
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    result = CliRunner().invoke(main, ["import", str(bad)])
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr and "Traceback" not in result.output


def test_render_text_colours_only_when_asked(write_toml: Callable[..., Path]) -> None:
    """render_text adds ANSI colours only with color=True: + green, ~ yellow, - red."""
    from rtconfig._plan.make import make_plan
    from rtconfig._plan.render import render_text

    path = write_toml(SIMPLE)
    before = load(path).check(environ={}).templates
    path.write_text(SIMPLE.replace('"echo"', '"ash"').replace("[templates.sales]", "[templates.x]"))
    plan = make_plan(load(path).check(environ={}).templates, build_lock(before))
    coloured = render_text(plan, color=True)
    assert "\x1b[32m+\x1b[0m" in coloured and "\x1b[31m-\x1b[0m" in coloured
    plain = render_text(plan, color=False)
    assert "\x1b[" not in plain
    assert (
        "Plan: 2 to mint (1 new, 0 changed, 1 unchanged since the lock; 1 removed from the file)."
        in plain
    )
