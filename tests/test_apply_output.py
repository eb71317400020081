"""What `rtconfig apply` and `plan` tell people (issue 15, items 2–4; CONTRACT §13): tokens are
sensitive values, the plan counts what apply will do and shows each override's default,
`rtconfig show PLAN` prints a saved plan, every --json has format_version, and long applies
report progress on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._cli import main
from rtconfig.testing import Emulator, Fault

KEY = "sk-APPLYOUTPUT-apikey-0123456789abcdef0123456789"

THREE = """\
[api]
endpoint = "realtime/client_secrets"
max_retries = 3

[templates.support]
type = "realtime"
model = "gpt-realtime"
audio.output = { voice = "marin" }

[templates.sales]
type = "realtime"
model = "gpt-realtime"

[templates.survey]
type = "realtime"
model = "gpt-realtime"
instructions = "Ask three questions."

[environments.production.templates.support]
audio.output.speed = 1.1
"""


def _write(tmp_path: Path, text: str = THREE) -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(text)
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RTCONFIG", "OPENAI"))}
    env.update(extra)
    return env


# --- sensitive values -------------------------------------------------------------------------


def test_with_output_the_tokens_are_in_the_file_only(tmp_path: Path) -> None:
    """`apply --output tokens.json`: the file holds each token; stdout's JSON (a CI log) has
    "(sensitive)" for every client_secret and token value, and no token appears anywhere on
    stdout or stderr — not once, let alone twice."""
    path = _write(tmp_path)
    out = tmp_path / "tokens.json"
    with Emulator() as api:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "rtconfig",
                "apply",
                str(path),
                "--base-url",
                api.base_url,
                "--output",
                str(out),
            ],
            env=_env(OPENAI_API_KEY=KEY),
            capture_output=True,
            text=True,
            timeout=120,
        )
        tokens = api.tokens
    assert done.returncode == 0, done.stderr
    assert len(tokens) == 3
    stdout = json.loads(done.stdout)
    assert stdout["format_version"] == 1
    assert [r["client_secret"] for r in stdout["results"]] == ["(sensitive)"] * 3
    for token in tokens:
        assert token not in done.stdout and token not in done.stderr
    saved = json.loads(out.read_text())
    assert sorted(r["client_secret"] for r in saved["results"]) == sorted(tokens)
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_without_output_stdout_carries_the_tokens(tmp_path: Path) -> None:
    """Without --output, stdout is where the tokens go: each result's client_secret."""
    path = _write(tmp_path)
    with Emulator() as api:
        result = CliRunner().invoke(
            main, ["apply", str(path), "--base-url", api.base_url], env=api.environ()
        )
        tokens = api.tokens
    assert result.exit_code == 0, result.output
    secrets = [r["client_secret"] for r in json.loads(result.stdout)["results"]]
    assert sorted(secrets) == sorted(tokens)


# --- the plan's count and defaults ------------------------------------------------------------


def test_plan_counts_every_template_apply_will_mint(tmp_path: Path) -> None:
    """`Plan: 3 to mint (1 new, 1 changed, 1 unchanged since the lock)`: apply mints every
    template, so the count is all of them; the parenthesis compares with the lock."""
    path = _write(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["lock", str(path)]).exit_code == 0
    text = path.read_text().replace(
        'instructions = "Ask three questions."', 'instructions = "Ask two."'
    )
    path.write_text(text + '\n[templates.greeter]\ntype = "realtime"\nmodel = "gpt-realtime"\n')
    lines = runner.invoke(main, ["plan", str(path)]).stdout.splitlines()
    assert lines[-1] == "Plan: 4 to mint (1 new, 1 changed, 2 unchanged since the lock)."
    data = json.loads(runner.invoke(main, ["plan", str(path), "--json"]).stdout)
    assert data["format_version"] == 1
    assert data["summary"]["to_mint"] == 4 and data["summary"]["unchanged"] == 2
    (tmp_path / "sessions.lock.json").unlink()
    fresh = runner.invoke(main, ["plan", str(path)]).stdout.splitlines()[-1]
    assert fresh.startswith("Plan: 4 to mint (no lock file to compare with")


def test_plan_shows_the_spec_default_beside_each_override(tmp_path: Path) -> None:
    """Each field set away from its documented default shows that default beside it, as
    `audio.output.voice = "marin"   # default "alloy"`."""
    path = _write(tmp_path)
    text = CliRunner().invoke(main, ["plan", str(path), "--env", "production"]).stdout
    voice = next(line for line in text.splitlines() if "audio.output.voice" in line)
    assert voice.split("=", 1)[1].strip() == '"marin"  # default "alloy"'
    speed = next(line for line in text.splitlines() if "audio.output.speed" in line)
    assert speed.split("=", 1)[1].strip() in ("1.1  # default 1.0", "1.1  # default 1")


# --- show -------------------------------------------------------------------------------------


def test_show_prints_a_saved_plan_as_plan_did(tmp_path: Path) -> None:
    """`rtconfig show PLAN` prints the saved plan's templates and summary as `plan` printed
    them (nothing resolved again), `--json` with format_version; a stale plan gets a note."""
    path = _write(tmp_path)
    saved = tmp_path / "plan.json"
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", str(path), "--env", "production", "--out", str(saved)])
    assert planned.exit_code == 0, planned.output
    shown = runner.invoke(main, ["show", str(saved)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0].startswith(f"rtconfig show: {saved}, planned ")
    # The same lines (a saved plan stores bodies with sorted keys: fields come in key order).
    assert sorted(shown.stdout.splitlines()[1:]) == sorted(planned.stdout.splitlines()[1:])
    data = json.loads(runner.invoke(main, ["show", str(saved), "--json"]).stdout)
    assert data["format_version"] == 1 and len(data["templates"]) == 3
    path.write_text(path.read_text().replace("1.1", "1.2"))
    stale = runner.invoke(main, ["show", str(saved)])
    assert stale.exit_code == 0
    assert "this plan is stale" in stale.stderr and "would refuse it" in stale.stderr


def test_show_of_something_else_is_a_clear_error(tmp_path: Path) -> None:
    """`show` of a file that is not a saved plan says so (exit 1), no traceback."""
    other = tmp_path / "x.json"
    other.write_text("{}")
    result = CliRunner().invoke(main, ["show", str(other)])
    assert result.exit_code == 1 and "not a saved plan" in result.stderr


# --- progress ---------------------------------------------------------------------------------


def _apply_with_faults(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    path = _write(tmp_path)
    with Emulator() as api:
        api.inject(Fault.rate_limited(retry_after_ms=200), Fault.server_error(503))
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "rtconfig",
                "apply",
                str(path),
                "--base-url",
                api.base_url,
                "--concurrency",
                "1",
                *flags,
            ],
            env=_env(OPENAI_API_KEY=KEY),
            capture_output=True,
            text=True,
            timeout=120,
        )


def test_retries_are_reported_as_they_happen(tmp_path: Path) -> None:
    """While a mint waits to retry, stderr says so as Terraform would — `support: still minting
    (attempt 2 after 429, waiting 0.2 s)` — then one line per template as it finishes."""
    done = _apply_with_faults(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "support: still minting (attempt 2 after 429, waiting 0.2 s)" in lines
    assert any(
        line.startswith("support: still minting (attempt 3 after HTTP 503, waiting ")
        for line in lines
    )
    finished = [line for line in lines if line.startswith("minted ")]
    assert len(finished) == 3
    assert lines.index("support: still minting (attempt 2 after 429, waiting 0.2 s)") < next(
        i for i, line in enumerate(lines) if line.startswith("minted  support")
    )


def test_quiet_silences_progress(tmp_path: Path) -> None:
    """`--quiet` prints no progress (retries, successes) and no summary when all went well;
    the results are still on stdout."""
    done = _apply_with_faults(tmp_path, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "still minting" not in done.stderr and "minted" not in done.stderr
    assert len(json.loads(done.stdout)["results"]) == 3


def test_the_library_reports_progress_as_typed_values(tmp_path: Path) -> None:
    """`rtconfig.apply(plan, on_progress=…)` hands the caller MintRetrying values (template,
    attempt, reason, delay) — what the CLI renders — never text to parse."""
    from rtconfig._apply.progress import MintRetrying

    path = _write(tmp_path)
    events: list[MintRetrying] = []
    with Emulator() as api:
        api.inject(Fault.rate_limited(retry_after_ms=50))
        plan = rtconfig.load(path).plan(environ=api.environ(), base_url=api.base_url)
        report = rtconfig.apply(
            plan, audit_log=tmp_path / "audit.jsonl", concurrency=1, on_progress=events.append
        )
    assert report.ok
    (event,) = events
    assert (event.template, event.env, event.attempt, event.reason) == ("support", None, 2, "429")
    assert event.http_status == 429 and event.delay_s == pytest.approx(0.05)


# --- the library's success type ---------------------------------------------------------------


def test_a_successful_result_is_a_mint_success(tmp_path: Path) -> None:
    """Every minted result is a `rtconfig.MintSuccess` (client_secret a str), and
    `raise_for_error()` returns one; a failure raises MintError instead."""
    path = _write(tmp_path)
    with Emulator() as api:
        plan = rtconfig.load(path).plan(environ=api.environ(), base_url=api.base_url)
        with rtconfig.Applier(environ=api.environ()) as applier:
            result = applier.mint(plan.templates[0])
    assert isinstance(result, rtconfig.MintSuccess) and isinstance(result.client_secret, str)
    assert result.raise_for_error() is result
    failed = rtconfig.MintResult("t", None, rtconfig.Endpoint.CLIENT_SECRETS, ok=False)
    with pytest.raises(rtconfig.MintError):
        failed.raise_for_error()


def test_the_type_checker_sees_a_str_token(tmp_path: Path) -> None:
    """mypy --strict accepts `token: str = result.raise_for_error().client_secret` and
    narrowing with isinstance(result, MintSuccess) — no `assert token is not None` needed."""
    code = (
        "import rtconfig\n"
        "def f(result: rtconfig.MintResult) -> str:\n"
        "    token: str = result.raise_for_error().client_secret\n"
        "    if isinstance(result, rtconfig.MintSuccess):\n"
        "        other: str = result.client_secret\n"
        "        return other + token\n"
        "    return token\n"
    )
    snippet = tmp_path / "snippet.py"
    snippet.write_text(code)
    # The project's mypy configuration (pydantic plugin, strict), on this file only.
    config = Path(__file__).resolve().parents[1] / "pyproject.toml"
    # In a subprocess: mypy raises the recursion limit of the process it runs in, which would
    # change what other tests see (tomllib's depth).
    done = subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--config-file", str(config)),
            *("--cache-dir", str(tmp_path / "cache"), str(snippet)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
