"""The API's lifecycle (CONTRACT §8) and the v2 diagnostics a user can act on (issue 11 item 6)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._cli import main
from rtconfig._codes import DiagnosticCode
from rtconfig._endpoints import Endpoint
from rtconfig._lifecycle import LIFECYCLE, lifecycle_problems, today

REPO = Path(__file__).resolve().parents[1]
WriteToml = Callable[..., Path]
GA_MODEL = '[templates.a]\ntype = "realtime"\nmodel = "{model}"\n'


def validate(path: Path, *args: str, day: str = "2026-12-01") -> tuple[int, list[dict[str, str]]]:
    result = CliRunner().invoke(
        main, ["validate", str(path), "--json", *args], env={"RTCONFIG_TODAY": day}
    )
    return result.exit_code, json.loads(result.stdout)["diagnostics"]


def test_a_model_warns_before_its_shutdown_and_is_an_error_after(write_toml: WriteToml) -> None:
    """The contract's two messages, with the days counted from RTCONFIG_TODAY."""
    path = write_toml(GA_MODEL.format(model="gpt-realtime"))
    code, [warning] = validate(path)
    assert code == 0 and warning["severity"] == "warning" and warning["line"] == 3
    assert warning["message"] == (
        "model 'gpt-realtime' is scheduled for shutdown on 2027-01-20 (in 50 days); "
        "use 'gpt-realtime-2.1'"
    )
    code, [error] = validate(path, day="2027-01-20")
    assert code == 1 and error["severity"] == "error"
    assert (
        error["message"]
        == "model 'gpt-realtime' was shut down on 2027-01-20; use 'gpt-realtime-2.1'"
    )
    assert validate(path, "--strict")[0] == 1  # --strict fails CI before the date


def test_a_shut_down_model_is_refused_by_plan_and_apply(write_toml: WriteToml) -> None:
    """After the date nothing is minted with the model: plan and apply exit 1, nothing sent."""
    path = write_toml(GA_MODEL.format(model="gpt-4o-realtime-preview"))
    runner = CliRunner()
    plan = runner.invoke(main, ["plan", str(path)])
    assert plan.exit_code == 1 and "was shut down on 2026-05-07" in plan.stderr
    apply = runner.invoke(main, ["apply", str(path), "--emulate"])
    assert apply.exit_code == 1 and "use 'gpt-realtime-2.1'" in apply.stderr


def test_transcription_models_warn_and_name_no_invented_replacement(write_toml: WriteToml) -> None:
    """OpenAI names no replacement for whisper-1: the warning says so, and names current ones."""
    path = write_toml(
        '[templates.c]\ntype = "transcription"\n'
        'audio.input.transcription = { model = "whisper-1" }\n'
    )
    _, [warning] = validate(path)
    assert warning["path"] == "audio.input.transcription.model"
    assert "scheduled for shutdown on 2027-02-26" in warning["message"]
    assert "OpenAI names no replacement" in warning["message"]


def test_a_beta_template_warns_at_its_line_and_still_renders(write_toml: WriteToml) -> None:
    """A beta endpoint is a warning that names the shutdown and migrate; render still works."""
    path = write_toml(
        '[templates.a]\nmodel = "gpt-realtime-2.1"\n'
        '[templates.b]\nendpoint = "realtime/transcription_sessions"\n'
        'input_audio_format = "pcm16"\n'
    )
    code, diagnostics = validate(path)
    assert code == 1  # `a` has no type on the GA default...
    [beta] = [d for d in diagnostics if d["template"] == "b"]
    assert beta["severity"] == "warning" and beta["line"] == 4 and beta["path"] == "endpoint"
    assert "shut down on 2026-05-07" in beta["message"] and "rtconfig migrate" in beta["message"]
    resolved = rtconfig.load(path).resolve("b", environ={})  # ...but `b` renders
    assert resolved.body == {"input_audio_format": "pcm16"}


def test_prompt_objects_warn(write_toml: WriteToml) -> None:
    """A stored prompt object is a warning: v1/prompts is gone."""
    path = write_toml('[templates.a]\ntype = "realtime"\nprompt = { id = "pmpt_1" }\n')
    _, [warning] = validate(path)
    assert warning["line"] == 3 and "v1/prompts" in warning["message"]


def test_rtconfig_today_must_be_a_date(write_toml: WriteToml) -> None:
    """A malformed RTCONFIG_TODAY is one clear error naming the variable, not a traceback."""
    path = write_toml(GA_MODEL.format(model="gpt-realtime-2.1"))
    code, [error] = validate(path, day="tomorrow")
    assert code == 1 and error["file"] == "RTCONFIG_TODAY" and "YYYY-MM-DD" in error["message"]
    assert today({}) == dt.datetime.now(dt.UTC).date()
    assert today({"RTCONFIG_TODAY": "2027-02-30"}) is None


def test_every_row_has_a_source_and_is_in_the_docs() -> None:
    """One table, a source per row, and docs/lifecycle.md lists every row with its date."""
    docs = (REPO / "docs" / "lifecycle.md").read_text()
    for row in LIFECYCLE:
        assert row.source, row
        assert re.search(rf"\| `{re.escape(row.name)}` \| {row.shutdown} \|", docs), row.name
    assert {r.kind for r in LIFECYCLE} == {"endpoint", "model", "transcription_model", "field"}


def test_lifecycle_codes_are_stable_names() -> None:
    """The codes validate --json will carry (CONTRACT §8)."""
    found = lifecycle_problems(
        Endpoint.SESSIONS, {"model": "gpt-realtime", "prompt": {"id": "p"}}, dt.date(2026, 12, 1)
    )
    assert [p.code for p in found] == [
        DiagnosticCode.BETA_ENDPOINT,
        DiagnosticCode.DEPRECATED_MODEL,
        DiagnosticCode.PROMPT_OBJECT,
    ]
    assert DiagnosticCode.SHUT_DOWN_MODEL == "shut_down_model"


# --- v1 files and diagnostics a user can act on ------------------------------------------------

V1_FILE = """\
[templates.support]
model = "gpt-realtime-2.1"
voice = "alloy"
modalities = ["audio", "text"]
temperature = 0.8
input_audio_format = "pcm16"

[environments.prod.templates.support]
speed = 1.1
"""


def test_a_v1_file_gets_one_diagnostic_per_template(write_toml: WriteToml) -> None:
    """Beta fields and no endpoint: one error that says what happened and to run migrate,
    not a cascade of unknown fields (and not one per environment)."""
    path = write_toml(V1_FILE)
    code, diagnostics = validate(path)
    assert code == 1
    [only] = diagnostics
    assert only["line"] == 1 and only["template"] == "support"
    assert "v1's default" in only["message"] and "rtconfig migrate" in only["message"]
    assert 'endpoint = "realtime/sessions"' in only["message"]


@pytest.mark.parametrize(
    ("key", "suggested"),
    [("extend", "extends"), ("instrucions_file", "instructions_file"), ("unsett", "unset")],
)
def test_meta_keys_are_in_the_did_you_mean_pool(
    write_toml: WriteToml, key: str, suggested: str
) -> None:
    """A misspelt meta-key suggests the meta-key, not an API field."""
    path = write_toml(f'[templates.a]\ntype = "realtime"\n{key} = "x"\n')
    _, diagnostics = validate(path)
    [unknown] = [d for d in diagnostics if d["path"] == key]
    assert unknown["message"] == f"unknown field {key!r} (did you mean {suggested!r}?)"


def test_a_missing_type_never_hides_other_errors(write_toml: WriteToml) -> None:
    """No `type`: the template's other errors are still reported, each at its line."""
    path = write_toml(
        '[templates.a]\nmodel = "gpt-realtime-2.1"\naudio.output.speed = 9.0\n'
        'reasoning = { effort = "max" }\n'
    )
    _, diagnostics = validate(path)
    assert [(d["path"], d["line"]) for d in diagnostics] == [
        ("type", 1),
        ("audio.output.speed", 3),
        ("reasoning.effort", 4),
    ]


@pytest.mark.parametrize("api", ['endpont = "realtime/sessions"', 'endpoint = "realtime/session"'])
def test_an_api_typo_is_one_diagnostic(write_toml: WriteToml, api: str) -> None:
    """A misspelt [api] endpoint (key or value) is one diagnostic, not a cascade per field."""
    path = write_toml(f'[api]\n{api}\n[templates.a]\nvoice = "alloy"\nspeed = 1.0\n')
    code, diagnostics = validate(path)
    assert code == 1 and len(diagnostics) == 1 and diagnostics[0]["line"] == 2
    assert "did you mean" in diagnostics[0]["message"]
