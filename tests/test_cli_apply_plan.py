"""apply PLAN.json and apply --locked: the reviewed bodies, and only those, are sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rtconfig._cli import main
from rtconfig.testing import Emulator

WriteToml = Callable[..., Path]

CONFIG = """\
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
audio.output.voice = "marin"

[templates.captions]
type = "transcription"
"""


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as server:
        yield server


def run(emulator: Emulator, *args: str, **extra: str) -> Result:
    env = {**emulator.environ(), "OPENAI_BASE_URL": emulator.base_url, **extra}
    return CliRunner().invoke(main, list(args), env=env)


def test_apply_saved_plan_sends_exactly_the_planned_bodies(
    write_toml: WriteToml, emulator: Emulator, tmp_path: Path
) -> None:
    """apply PLAN.json posts the bodies stored in the plan, byte for byte equal as JSON."""
    path = write_toml(CONFIG)
    plan_file = tmp_path / "plan.json"
    made = run(emulator, "plan", str(path), "--out", str(plan_file))
    assert made.exit_code == 0, made.output
    planned = {t["name"]: t["body"] for t in json.loads(plan_file.read_text())["templates"]}
    audit = str(tmp_path / "audit.jsonl")
    applied = run(emulator, "apply", str(plan_file), "--audit-log", audit)
    assert applied.exit_code == 0, applied.output
    assert all(r["ok"] for r in json.loads(applied.stdout)["results"])
    sent = {}
    for request in emulator.requests:
        body = request.json
        name = "support" if body["session"]["type"] == "realtime" else "captions"
        sent[name] = body
    assert sent == planned


def test_apply_stale_saved_plan_is_refused_before_sending(
    write_toml: WriteToml, emulator: Emulator, tmp_path: Path
) -> None:
    """A plan whose sessions.toml changed is refused, naming the change, and nothing is sent."""
    path = write_toml(CONFIG)
    plan_file = tmp_path / "plan.json"
    assert run(emulator, "plan", str(path), "--out", str(plan_file)).exit_code == 0
    path.write_text(CONFIG.replace("marin", "cedar"))
    result = run(emulator, "apply", str(plan_file), "--audit-log", str(tmp_path / "a.jsonl"))
    assert result.exit_code == 1
    assert "sessions.toml changed" in result.stderr
    assert emulator.requests == []


def test_apply_saved_plan_refuses_set_and_other_environment(
    write_toml: WriteToml, emulator: Emulator, tmp_path: Path
) -> None:
    """--set cannot alter a saved plan, and a plan made for one environment is not applied to
    another (usage errors, exit 2)."""
    path = write_toml(CONFIG + "[environments.prod.api]\nmax_retries = 1\n")
    plan_file = tmp_path / "plan.json"
    assert run(emulator, "plan", str(path), "--out", str(plan_file)).exit_code == 0
    with_set = run(emulator, "apply", str(plan_file), "--set", "support.model=x")
    assert with_set.exit_code == 2
    other_env = run(emulator, "apply", str(plan_file), "--env", "prod")
    assert other_env.exit_code == 2
    assert "planned for (default)" in other_env.stderr
    assert emulator.requests == []


def test_apply_saved_plan_selects_templates(
    write_toml: WriteToml, emulator: Emulator, tmp_path: Path
) -> None:
    """-t narrows a saved plan to some of its templates; a name it does not plan is refused."""
    path = write_toml(CONFIG)
    plan_file = tmp_path / "plan.json"
    assert run(emulator, "plan", str(path), "--out", str(plan_file)).exit_code == 0
    audit = str(tmp_path / "a.jsonl")
    one = run(emulator, "apply", str(plan_file), "-t", "captions", "--audit-log", audit)
    assert one.exit_code == 0, one.output
    assert [r["template"] for r in json.loads(one.stdout)["results"]] == ["captions"]
    assert run(emulator, "apply", str(plan_file), "-t", "nope").exit_code == 2


def test_apply_locked(write_toml: WriteToml, emulator: Emulator, tmp_path: Path) -> None:
    """--locked mints only when every body equals the lock file's; otherwise nothing is sent."""
    path = write_toml(CONFIG)
    audit = str(tmp_path / "a.jsonl")
    missing = run(emulator, "apply", str(path), "--locked", "--audit-log", audit)
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    assert run(emulator, "lock", str(path)).exit_code == 0
    ok = run(emulator, "apply", str(path), "--locked", "--audit-log", audit)
    assert ok.exit_code == 0, ok.output
    minted = len(emulator.requests)
    assert minted == 2
    drifted = run(
        emulator, "apply", str(path), "--locked", "--set", "support.model=gpt-realtime-mini"
    )
    assert drifted.exit_code == 1
    assert "support [default environment]: body differs" in drifted.stderr
    assert len(emulator.requests) == minted
