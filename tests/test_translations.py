"""The translations endpoint (CONTRACT §1, NOTES §9): validated, rendered, planned, locked and
minted like the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._cli import main
from rtconfig._endpoints import Endpoint
from rtconfig.testing import Emulator

TOML = """
[templates.interpreter]
endpoint = "realtime/translations/client_secrets"
model = "gpt-realtime-translate"
expires_after = { anchor = "created_at", seconds = 120 }
audio.input.noise_reduction = { type = "near_field" }
audio.input.transcription.model = "gpt-4o-transcribe"
audio.output.language = "es"
"""
BODY = {
    "expires_after": {"anchor": "created_at", "seconds": 120},
    "session": {
        "model": "gpt-realtime-translate",
        "audio": {
            "input": {
                "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-transcribe"},
            },
            "output": {"language": "es"},
        },
    },
}
KEY = "sk-test-translations-0123456789"


@pytest.fixture
def sessions(write_toml: Callable[..., Path]) -> Path:
    return write_toml(TOML)


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_a_translation_template_renders_the_wrapped_body(sessions: Path) -> None:
    """The body is {expires_after, session}, like client_secrets."""
    resolved = rtconfig.load(sessions).resolve("interpreter", environ={})
    assert resolved.endpoint is Endpoint.TRANSLATIONS and resolved.body == BODY
    assert json.loads(cli("render", str(sessions), "interpreter").stdout) == BODY


def test_model_is_required(write_toml: Callable[..., Path]) -> None:
    """A translation session without model: an error at the template's header."""
    path = write_toml(
        '[templates.t]\nendpoint = "realtime/translations/client_secrets"\n'
        'audio.output.language = "es"\n'
    )
    result = cli("validate", str(path))
    assert result.exit_code == 1
    assert f"{path}:1:1: error: t: model: is required" in result.stderr


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('voice = "marin"', "unknown field 'voice'"),
        ('audio.output.languag = "es"', "did you mean 'language'"),
        ('audio.input.noise_reduction = { type = "loud" }', "must be one of"),
        ("audio.output.language = 5", "must be a string"),
        ("expires_after = { seconds = 5 }", "at least 10"),
    ],
)
def test_translation_fields_are_checked(
    write_toml: Callable[..., Path], line: str, message: str
) -> None:
    """Unknown keys, enums, types and the token lifetime are checked at their line."""
    path = write_toml(
        '[templates.t]\nendpoint = "realtime/translations/client_secrets"\nmodel = "m"\n'
        + line
        + "\n"
    )
    result = cli("validate", str(path))
    assert result.exit_code == 1 and f"{path}:4:" in result.stderr and message in result.stderr


def test_null_turns_input_features_off(write_toml: Callable[..., Path]) -> None:
    """noise_reduction and transcription may be sent as explicit nulls."""
    path = write_toml(
        '[templates.t]\nendpoint = "realtime/translations/client_secrets"\nmodel = "m"\n'
        'null = ["audio.input.noise_reduction", "audio.input.transcription"]\n'
    )
    resolved = rtconfig.load(path).resolve("t", environ={})
    assert resolved.body["session"]["audio"]["input"] == {
        "noise_reduction": None,
        "transcription": None,
    }


def test_plan_and_lock_list_the_translation_template(sessions: Path) -> None:
    """plan --json shows the endpoint and body; lock writes its entry with the body's sha256."""
    plan = json.loads(cli("plan", str(sessions), "--json").stdout)
    (entry,) = plan["templates"]
    assert entry["endpoint"] == "realtime/translations/client_secrets" and entry["body"] == BODY
    assert cli("lock", str(sessions)).exit_code == 0
    lock = json.loads(sessions.with_suffix(".lock.json").read_text())
    (locked,) = lock["templates"]
    assert locked["endpoint"] == Endpoint.TRANSLATIONS.value
    assert locked["sha256"] == rtconfig.body_sha256(BODY)


def test_the_editor_schema_accepts_the_endpoint() -> None:
    """The sessions.toml schema lists the endpoint value and the translation fields."""
    schema = json.loads(cli("schema").stdout)
    assert "realtime/translations/client_secrets" in json.dumps(schema)
    assert '"language"' in json.dumps(schema)


def test_mints_against_the_emulator(sessions: Path) -> None:
    """apply mints a translation session: POST to the endpoint, token and session id back."""
    with Emulator() as api:
        result = cli(
            "apply",
            str(sessions),
            "--base-url",
            api.base_url,
            "--audit-log",
            str(sessions.parent / "audit.jsonl"),
            env={"OPENAI_API_KEY": KEY},
        )
        (request,) = api.requests
    assert result.exit_code == 0, result.stderr
    (minted,) = json.loads(result.stdout)["results"]
    assert minted["ok"] and minted["client_secret"].startswith("ek_")
    assert minted["session_id"].startswith("sess_")
    assert request.path == "/v1/realtime/translations/client_secrets" and request.json == BODY


def test_mints_through_a_mock_transport(sessions: Path) -> None:
    """The wire request (URL, headers, body) and the GA response parsing, via MockTransport."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"value": "ek_translate", "expires_at": 1900000000, "session": {"id": "s1"}}
        )

    (record,) = rtconfig.load(sessions).plan(environ={}, compare_lock=False).templates
    transport = httpx.MockTransport(answer)
    with rtconfig.Applier(environ={"OPENAI_API_KEY": KEY}, transport=transport) as applier:
        result = applier.mint(record)
    assert result.ok and result.client_secret == "ek_translate" and result.session_id == "s1"
    (request,) = seen
    assert str(request.url) == "https://api.openai.com/v1/realtime/translations/client_secrets"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == BODY


def test_a_translation_template_cannot_take_calls(sessions: Path) -> None:
    """render --as call refuses it with the reason (only GA realtime sessions take calls)."""
    result = cli("render", str(sessions), "interpreter", "--as", "call")
    assert result.exit_code == 1
    assert 'only GA type = "realtime" sessions can take calls' in result.stderr
