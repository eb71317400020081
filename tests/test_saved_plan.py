"""Saved plans: exact bodies plus a fingerprint of every input; stale plans are refused by name."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import rtconfig._plan.saved as saved_plan_module
from rtconfig._config import load
from rtconfig._errors import ConfigError, StalePlanError
from rtconfig._plan.make import make_plan
from rtconfig._plan.saved import (
    check_fresh,
    is_saved_plan,
    read_saved_plan,
    stale_reasons,
    write_saved_plan,
)

CONFIG = """
[api]
endpoint = "realtime/client_secrets"
api_key_env = "OPENAI_API_KEY"
organization = "org-acme"
timeout_s = 12.5

[templates.support]
type = "realtime"
model = "gpt-realtime"
instructions_file = "prompts/support.md"

[templates.captions]
type = "transcription"

[environments.production.api]
api_key_env = "OPENAI_API_KEY_PROD"
"""
PROMPT = "You are Ava.\nBe brief.\n"
KEY = "sk-proj-RECOGNISABLE-0123456789abcdef"


def _make(
    path: Path,
    environ: dict[str, str],
    *,
    env: str | None = None,
    sets: tuple[str, ...] = (),
    env_from_variable: bool = False,
) -> Path:
    check = load(path).check(envs=[env], environ=environ, sets=sets)
    check.raise_for_errors()
    plan = make_plan(check.templates, envs=[env], config_file="sessions.toml")
    out = path.parent / "plan.json"
    write_saved_plan(
        out,
        plan,
        config_path=path,
        environ=environ,
        sets=sets,
        env_from_variable=env_from_variable,
    )
    return out


@pytest.fixture
def config(write_toml: Callable[..., Path]) -> Path:
    return write_toml(CONFIG, files={"prompts/support.md": PROMPT})


def test_saved_plan_round_trips_bodies_and_settings(config: Path) -> None:
    """read_saved_plan gives back each template's exact body, endpoint and settings."""
    environ = {"OPENAI_API_KEY": KEY}
    out = _make(config, environ)
    saved = read_saved_plan(out, environ)
    check = load(config).check(envs=[None], environ=environ)
    assert [(t.name, t.env, t.endpoint, dict(t.body)) for t in saved.templates] == [
        (t.name, t.env, t.endpoint, t.body) for t in check.templates
    ]
    settings = saved.templates[0].settings
    assert settings == check.templates[0].settings
    assert (settings.organization, settings.timeout_s) == ("org-acme", 12.5)
    assert saved.config_path == config.resolve()


def test_saved_plan_never_holds_the_api_key(config: Path) -> None:
    """Neither the key's value nor a hash of it is in the plan file; its NAME is."""
    import hashlib

    environ = {"OPENAI_API_KEY": KEY, "OPENAI_API_KEY_PROD": KEY + "prod"}
    out = _make(config, environ, env="production")
    text = out.read_text()
    assert "RECOGNISABLE" not in text
    assert hashlib.sha256(KEY.encode()).hexdigest() not in text
    assert hashlib.sha256((KEY + "prod").encode()).hexdigest() not in text
    assert '"api_key_env": "OPENAI_API_KEY_PROD"' in text


def test_saved_plan_file_is_owner_only(config: Path) -> None:
    """The plan file is created with mode 0600."""
    assert _make(config, {}).stat().st_mode & 0o777 == 0o600


def test_fresh_plan_has_no_stale_reasons(config: Path) -> None:
    """Right after planning, with the same environment, the plan is fresh."""
    environ = {"RTCONFIG__SUPPORT__MODEL": "gpt-realtime-mini"}
    out = _make(config, environ)
    saved = read_saved_plan(out, environ)
    assert stale_reasons(saved, environ) == []
    check_fresh(saved, environ)


def test_stale_when_the_toml_changed(config: Path) -> None:
    """Editing sessions.toml makes the plan stale, and the message says so."""
    out = _make(config, {})
    config.write_text(CONFIG.replace("gpt-realtime", "gpt-realtime-2"))
    with pytest.raises(StalePlanError, match=r"sessions\.toml changed since the plan was made"):
        read_saved_plan(out, {})


def test_stale_when_an_instructions_file_changed(config: Path) -> None:
    """Editing a prompt file that a planned body uses makes the plan stale."""
    out = _make(config, {})
    (config.parent / "prompts" / "support.md").write_text(PROMPT + "Be kind.\n")
    with pytest.raises(
        StalePlanError, match=r"prompts/support\.md changed since the plan was made"
    ):
        read_saved_plan(out, {})


def test_stale_when_an_instructions_file_vanished(config: Path) -> None:
    """A deleted prompt file is named."""
    out = _make(config, {})
    (config.parent / "prompts" / "support.md").unlink()
    with pytest.raises(StalePlanError, match=r"prompts/support\.md no longer exists"):
        read_saved_plan(out, {})


def test_stale_when_an_override_variable_changed(config: Path) -> None:
    """A changed RTCONFIG__ value is named exactly."""
    var = "RTCONFIG__SUPPORT__AUDIO__OUTPUT__VOICE"
    out = _make(config, {var: "marin"})
    saved = read_saved_plan(out, check=False)
    assert stale_reasons(saved, {var: "cedar"}) == [f"{var} changed"]
    assert stale_reasons(saved, {}) == [f"{var} is no longer set"]


def test_stale_when_a_new_override_variable_appears(config: Path) -> None:
    """An RTCONFIG__ variable set after planning makes the plan stale."""
    out = _make(config, {})
    saved = read_saved_plan(out, check=False)
    assert stale_reasons(saved, {"RTCONFIG__SUPPORT__MODEL": "x"}) == [
        "RTCONFIG__SUPPORT__MODEL is now set (it was not when the plan was made)"
    ]


def test_stale_when_the_base_url_variable_changed(config: Path) -> None:
    """OPENAI_BASE_URL decides where bodies go: setting it after planning is named."""
    out = _make(config, {})
    saved = read_saved_plan(out, check=False)
    assert stale_reasons(saved, {"OPENAI_BASE_URL": "https://example.test/v1"}) == [
        "OPENAI_BASE_URL is now set (it was not when the plan was made)"
    ]


def test_stale_when_rtconfig_env_changed(config: Path) -> None:
    """When RTCONFIG_ENV chose the environment, changing it makes the plan stale."""
    environ = {"RTCONFIG_ENV": "production"}
    out = _make(config, environ, env="production", env_from_variable=True)
    saved = read_saved_plan(out, environ)
    assert saved.envs == ("production",)
    assert stale_reasons(saved, {"RTCONFIG_ENV": "staging"}) == ["RTCONFIG_ENV changed"]


def test_stale_when_set_arguments_differ(config: Path) -> None:
    """The --set arguments are recorded; different ones are reported when given."""
    out = _make(config, {}, sets=("support.model=gpt-realtime-2",))
    saved = read_saved_plan(out, {})
    assert saved.fingerprint.sets == ("support.model=gpt-realtime-2",)
    assert stale_reasons(saved, {}, sets=()) == ["the --set arguments differ from the plan's"]
    assert stale_reasons(saved, {}, sets=("support.model=gpt-realtime-2",)) == []


def test_stale_when_rtconfig_version_changed(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan made by another rtconfig version is refused."""
    out = _make(config, {})
    monkeypatch.setattr(saved_plan_module, "__version__", "9.9.9")
    with pytest.raises(StalePlanError, match="rtconfig's version changed"):
        read_saved_plan(out, {})


def test_all_reasons_are_named_at_once(config: Path) -> None:
    """Several changes are reported together in one StalePlanError."""
    out = _make(config, {})
    config.write_text(CONFIG + "\n")
    (config.parent / "prompts" / "support.md").write_text("new\n")
    with pytest.raises(StalePlanError) as info:
        read_saved_plan(out, {"RTCONFIG__CAPTIONS__INCLUDE": "[]"})
    message = str(info.value)
    assert "sessions.toml changed" in message
    assert "prompts/support.md changed" in message
    assert "RTCONFIG__CAPTIONS__INCLUDE is now set" in message


def test_edited_body_is_refused(config: Path) -> None:
    """A body edited inside the plan file no longer matches its sha256 and is refused."""
    out = _make(config, {})
    data = json.loads(out.read_text())
    data["templates"][0]["body"]["session"]["model"] = "other"
    out.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="was edited after the plan was made"):
        read_saved_plan(out, {})


def test_not_a_saved_plan(config: Path, tmp_path: Path) -> None:
    """A TOML file or unrelated JSON is not a saved plan."""
    other = tmp_path / "other.json"
    other.write_text('{"templates": []}')
    assert not is_saved_plan(config)
    assert not is_saved_plan(other)
    assert not is_saved_plan(tmp_path / "missing.json")
    assert is_saved_plan(_make(config, {}))
    with pytest.raises(ConfigError, match="not a saved plan"):
        read_saved_plan(other, {})


def test_plan_found_from_another_directory(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The TOML is found relative to the plan file, whatever the working directory."""
    out = _make(config, {})
    monkeypatch.chdir("/")
    saved = read_saved_plan(os.path.relpath(out, "/"), {})
    assert saved.config_path == config.resolve()


def test_saved_plan_carries_provenance_without_resolving_again(config: Path) -> None:
    """A saved plan's records carry every leaf's origin (file, line, template), equal to what
    resolution gives, so apply PLAN points API errors at TOML lines without resolving again."""
    out = _make(config, {})
    saved = read_saved_plan(out, {})
    resolved = load(config).check(envs=[None], environ={}).templates
    assert [r.sha256 for r in resolved] == [t.sha256 for t in saved.templates]
    origin = saved.templates[0].origin_of(("model",))
    assert origin is not None and origin.template == "support"
    expected = resolved[0].origin_of(("model",))
    assert (origin.file, origin.line, origin.kind) == (expected.file, expected.line, expected.kind)


def test_locked_mismatches_accepts_saved_templates(config: Path) -> None:
    """apply PLAN --locked can check a saved plan's templates against the lock file."""
    from rtconfig._plan.lock import build_lock
    from rtconfig._plan.render import locked_mismatches

    saved = read_saved_plan(_make(config, {}), {})
    lock = build_lock(load(config).check(environ={}).templates)
    assert locked_mismatches(saved.templates, lock) == []
    assert locked_mismatches(saved.templates[:1], build_lock([]), "L") == [
        "support [default environment] is not in L"
    ]
