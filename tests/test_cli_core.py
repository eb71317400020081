"""CLI: validate, render, explain and schema, through click's CliRunner."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from rtconfig._cli import main

WriteToml = Callable[..., Path]
REPO = Path(__file__).resolve().parents[1]
BETA = '[api]\nendpoint = "realtime/sessions"\n'  # flat beta templates say so since v2

LAYERS = """\
[api]
endpoint = "realtime/client_secrets"

[templates.base]
abstract = true
type = "realtime"
instructions = "inline"
audio.output = { voice = "alloy", speed = 1.0 }

[templates.support]
extends = "base"
instructions_file = "prompt.md"
audio.output.voice = "marin"

[environments.prod.templates."*"]
tracing = "auto"

[environments.prod.templates.support]
audio.output.speed = 1.1
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


@pytest.fixture
def layered(write_toml: WriteToml) -> Path:
    return write_toml(LAYERS, files={"prompt.md": "From a file."})


def explain_json(path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = run("explain", str(path), "support", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def field(data: dict[str, Any], path: str) -> dict[str, Any]:
    (found,) = [f for f in data["fields"] if f["path"] == path]
    return found


def test_explain_json_origin_kinds(layered: Path) -> None:
    """explain --json reports each layer kind with its file, line, template, env and variable."""
    data = explain_json(
        layered,
        "--env",
        "prod",
        "--set",
        "support.audio.output.voice=cedar",
        env={"RTCONFIG__SUPPORT__MODEL": "gpt-realtime"},
    )
    assert (data["template"], data["env"]) == ("support", "prod")
    tracing = field(data, "tracing")["origin"]
    assert tracing["kind"] == "environment"
    # A value from the "*" overlay names template "*" (CONTRACT §13).
    assert (tracing["line"], tracing["env"], tracing["template"]) == (16, "prod", "*")
    typ = field(data, "type")["origin"]
    assert (typ["kind"], typ["template"], typ["line"]) == ("template", "base", 6)
    instructions = field(data, "instructions")
    assert instructions["origin"]["kind"] == "file"
    assert instructions["origin"]["line"] == 12
    assert instructions["overridden"][0]["value"] == "inline"
    model = field(data, "model")["origin"]
    assert (model["kind"], model["var"]) == ("env_var", "RTCONFIG__SUPPORT__MODEL")
    speed = field(data, "audio.output.speed")
    assert speed["origin"]["kind"] == "environment"
    assert speed["origin"]["line"] == 19
    assert [o["value"] for o in speed["overridden"]] == [1.0]


def test_explain_json_overridden_chain_newest_first(layered: Path) -> None:
    """The overridden list runs from the value just beneath the winner down to the oldest."""
    data = explain_json(
        layered,
        "--set",
        "support.audio.output.voice=cedar",
        env={"RTCONFIG__SUPPORT__AUDIO__OUTPUT__VOICE": "ash"},
    )
    voice = field(data, "audio.output.voice")
    assert voice["value"] == "cedar"
    assert voice["origin"]["kind"] == "set"
    chain = [(o["value"], o["origin"]["kind"]) for o in voice["overridden"]]
    assert chain == [("ash", "env_var"), ("marin", "template"), ("alloy", "template")]


def test_explain_text_shows_lines_and_overrides(layered: Path) -> None:
    """The text form names file:line for each origin and what the value overrode."""
    result = run("explain", str(layered), "support", "audio.output", "--env", "prod")
    assert result.exit_code == 0, result.output
    expected = f'audio.output.voice = "marin"\n    from template support ({layered}:13)'
    assert expected in result.stdout
    assert f'overrides "alloy" from template base ({layered}:8)' in result.stdout
    assert "instructions" not in result.stdout  # PATH narrows the output


def test_explain_unknown_path(layered: Path) -> None:
    """Explaining a path nothing sets says so and exits 1."""
    result = run("explain", str(layered), "support", "audio.input")
    assert result.exit_code == 1
    assert "not set by any layer" in result.stderr


def test_render_prints_exactly_the_body(layered: Path) -> None:
    """render prints the GA request body and nothing else on stdout."""
    result = run("render", str(layered), "support", "--env", "prod")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "session": {
            "tracing": "auto",
            "type": "realtime",
            "instructions": "From a file.",
            "audio": {"output": {"voice": "marin", "speed": 1.1}},
        }
    }


@pytest.mark.parametrize(
    ("endpoint", "extra", "expected"),
    [
        (
            "realtime/sessions",
            'model = "gpt-realtime"',
            {
                "model": "gpt-realtime",
                "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 60}},
            },
        ),
        (
            "realtime/client_secrets",
            'type = "realtime"',
            {
                "expires_after": {"anchor": "created_at", "seconds": 60},
                "session": {"type": "realtime"},
            },
        ),
        (
            "realtime/transcription_sessions",
            'input_audio_format = "pcm16"',
            {
                "input_audio_format": "pcm16",
                "client_secret": {"expires_at": {"anchor": "created_at", "seconds": 60}},
            },
        ),
    ],
)
def test_body_shape_per_endpoint(
    write_toml: WriteToml, endpoint: str, extra: str, expected: dict[str, Any]
) -> None:
    """``expires_after`` lands where each endpoint wants the token lifetime (contract §1)."""
    path = write_toml(
        f'[templates.t]\nendpoint = "{endpoint}"\n{extra}\n'
        'expires_after = { anchor = "created_at", seconds = 60 }\n'
    )
    result = run("render", str(path), "t")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected


def test_render_abstract_template_is_an_error(layered: Path) -> None:
    """An abstract template is never rendered; the message says why."""
    result = run("render", str(layered), "base")
    assert result.exit_code == 1
    assert "abstract" in result.stderr
    assert result.stdout == ""


def test_render_unknown_template_suggests(layered: Path) -> None:
    """An unknown template name gets a suggestion."""
    result = run("render", str(layered), "suport")
    assert result.exit_code == 1
    assert "did you mean 'support'?" in result.stderr


def test_validate_json_shape(write_toml: WriteToml) -> None:
    """validate --json has the contract's keys and exits 1 on errors."""
    path = write_toml(BETA + '[templates.t]\ntemperature = 5\nmodel = "gpt-realtim"\n')
    result = run("validate", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert {"severity", "file", "line", "template", "env", "path", "message"} <= set(
        data["diagnostics"][0]
    )
    by_path = {d["path"]: d for d in data["diagnostics"]}
    assert by_path["temperature"]["line"] == 4
    assert by_path["model"]["severity"] == "warning"


def test_validate_json_for_toml_syntax_error(write_toml: WriteToml) -> None:
    """Even unparseable TOML gets a JSON answer when --json is asked for."""
    path = write_toml("[templates.t\n")
    result = run("validate", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["diagnostics"][0]["line"] == 1


def test_validate_warnings_pass_unless_strict(write_toml: WriteToml) -> None:
    """Warnings keep exit 0; --strict turns them into a failure."""
    path = write_toml('[templates.t]\ntype = "realtime"\nmodel = "gpt-realtim"\n')
    assert run("validate", str(path)).exit_code == 0
    assert run("validate", str(path), "--strict").exit_code == 1


def test_validate_env_restricts_environments(write_toml: WriteToml) -> None:
    """--env E validates only E: a problem confined to another environment is not reported."""
    path = write_toml(
        BETA + '[templates.t]\nmodel = "gpt-realtime"\n'
        "[environments.a.templates.t]\ntemperature = 5\n"
        "[environments.b.templates.t]\ntemperature = 1\n"
    )
    assert run("validate", str(path)).exit_code == 1
    assert run("validate", str(path), "--env", "b").exit_code == 0
    assert run("validate", str(path), env={"RTCONFIG_ENV": "b"}).exit_code == 0


def test_root_sessions_toml_is_valid() -> None:
    """The repository's own sessions.toml validates in every environment."""
    result = run("validate", str(REPO / "sessions.toml"), "--strict")
    assert result.exit_code == 0, result.output
    assert "3 templates" in result.stdout


def test_schema_is_valid_and_matches_committed_copy() -> None:
    """rtconfig schema is a valid JSON Schema, and docs/sessions.schema.json is up to date."""
    result = run("schema")
    schema = json.loads(result.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    committed = json.loads((REPO / "docs" / "sessions.schema.json").read_text())
    assert committed == schema, "run: rtconfig schema > docs/sessions.schema.json"


def test_schema_accepts_root_file_and_catches_typos() -> None:
    """The editor schema accepts the example file and rejects a misspelt field."""
    schema = json.loads(run("schema").stdout)
    data = tomllib.loads((REPO / "sessions.toml").read_text())
    jsonschema.validate(data, schema)
    data["templates"]["support"]["vioce"] = "marin"
    with pytest.raises(jsonschema.ValidationError, match="vioce"):
        jsonschema.validate(data, schema)


def test_internal_error_is_reported_as_bug(monkeypatch: pytest.MonkeyPatch, layered: Path) -> None:
    """An unexpected exception is reported as a bug, without a traceback."""

    def boom(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("rtconfig._cli._core.load", boom)
    result = CliRunner().invoke(main, ["render", str(layered), "support"], env={})
    assert result.exit_code == 70
    assert "this is a bug in rtconfig" in result.stderr
    assert "Traceback" not in result.stderr
