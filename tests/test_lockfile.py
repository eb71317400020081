"""The lock file: every (template, environment) body, written deterministically, read strictly."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtconfig._cli import main
from rtconfig._config import load
from rtconfig._errors import ConfigError
from rtconfig._plan.lock import (
    LOCK_FORMAT_VERSION,
    Lock,
    build_lock,
    dumps_lock,
    lock_path_for,
    parse_lock,
    read_lock,
    write_lock,
)
from rtconfig._plan.render import lock_staleness
from rtconfig._version import __version__

CONFIG = """
[api]
endpoint = "realtime/sessions"
api_key_env = "OPENAI_API_KEY"
organization = "org-acme"

[templates.zeta]
model = "gpt-realtime"
instructions = "Grüße — non-ASCII stays readable"

[templates.alpha]
model = "gpt-realtime"
voice = "sage"

[environments.staging.api]
api_key_env = "OPENAI_API_KEY_STAGING"

[environments.production.templates.alpha]
speed = 1.1
"""


def _lock(path: Path) -> Lock:
    check = load(path).check(environ={})
    check.raise_for_errors()
    return build_lock(check.templates)


def test_lock_path_is_beside_the_toml() -> None:
    """sessions.toml locks to sessions.lock.json in the same directory."""
    assert lock_path_for("conf/sessions.toml") == Path("conf/sessions.lock.json")
    assert lock_path_for("agents.toml") == Path("agents.lock.json")


def test_lock_has_every_pair_in_a_stable_order(write_toml: Callable[..., Path]) -> None:
    """Every template in the default and each declared environment, sorted by name then env."""
    keys = [(e.name, e.env) for e in _lock(write_toml(CONFIG)).entries]
    assert keys == [
        ("alpha", None),
        ("alpha", "production"),
        ("alpha", "staging"),
        ("zeta", None),
        ("zeta", "production"),
        ("zeta", "staging"),
    ]


def test_lock_text_is_deterministic(write_toml: Callable[..., Path], tmp_path: Path) -> None:
    """Writing the lock twice gives byte-identical files; the second write changes nothing."""
    path = write_toml(CONFIG)
    target = tmp_path / "sessions.lock.json"
    assert write_lock(target, _lock(path)) is True
    first = target.read_bytes()
    assert write_lock(target, _lock(path)) is False
    assert target.read_bytes() == first
    assert dumps_lock(_lock(path)).encode("utf-8") == first


def test_lock_format(write_toml: Callable[..., Path]) -> None:
    """Format 1 (written for a Lock whose format_version is 1, read always): sorted keys,
    2-space indent, trailing newline, format and rtconfig versions, UTF-8 text."""
    text = dumps_lock(dataclasses.replace(_lock(write_toml(CONFIG)), format_version=1))
    data = json.loads(text)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "format_version": 1,\n  "rtconfig_version": ')
    assert data["format_version"] == 1 == LOCK_FORMAT_VERSION - 1
    assert data["rtconfig_version"] == __version__
    assert "Grüße" in text
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    entry = data["templates"][1]
    assert set(entry) == {"name", "env", "endpoint", "body", "sha256"}
    assert entry["body"] == {"model": "gpt-realtime", "voice": "sage", "speed": 1.1}


def test_lock_holds_bodies_only(
    write_toml: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No setting (key variable name, organization) and no key value ever reaches the lock."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-RECOGNISABLE-secret-0123456789")
    path = write_toml(CONFIG)
    result = CliRunner().invoke(main, ["lock", str(path)])
    assert result.exit_code == 0, result.output
    text = (path.parent / "sessions.lock.json").read_text()
    for needle in ("RECOGNISABLE", "OPENAI_API_KEY", "org-acme", "api.openai.com"):
        assert needle not in text


def test_read_lock_round_trips(write_toml: Callable[..., Path], tmp_path: Path) -> None:
    """What write_lock writes, read_lock reads back unchanged; a missing file reads as None."""
    lock = _lock(write_toml(CONFIG))
    target = tmp_path / "x.lock.json"
    assert read_lock(target) is None
    write_lock(target, lock)
    assert read_lock(target) == lock


def test_parse_lock_refuses_a_hand_edited_body(write_toml: Callable[..., Path]) -> None:
    """A body whose sha256 no longer matches is refused, naming the pair."""
    data = json.loads(dumps_lock(_lock(write_toml(CONFIG))))
    data["templates"][0]["body"]["voice"] = "ash"
    with pytest.raises(ConfigError, match=r"alpha \[default environment\]: sha256 does not match"):
        parse_lock(json.dumps(data), "sessions.lock.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "not an rtconfig lock file"),
        ('{"format_version": 99, "templates": []}', "format_version 99 is not supported"),
        (
            '{"format_version": 1, "templates": [{"name": "a", "env": null, "endpoint": "x",'
            ' "body": {}, "sha256": ""}]}',
            "unknown endpoint 'x'",
        ),
    ],
)
def test_parse_lock_errors(text: str, message: str) -> None:
    """Malformed lock files are ConfigErrors that say what is wrong and how to fix it."""
    with pytest.raises(ConfigError, match=message) as info:
        parse_lock(text, "sessions.lock.json")
    assert "rtconfig lock" in str(info.value)


def test_staleness_lists_stale_missing_and_removed(write_toml: Callable[..., Path]) -> None:
    """lock_staleness names each changed, new and vanished pair; nothing when fresh."""
    old = _lock(write_toml(CONFIG))
    assert lock_staleness(old, old, "L") == []
    now = CONFIG.replace('voice = "sage"', 'voice = "ash"').replace("zeta", "omega")
    problems = lock_staleness(_lock(write_toml(now)), old, "L")
    assert "stale: alpha [default environment]: body differs from L" in problems
    assert "missing: omega [staging] is not in L" in problems
    assert "removed: zeta [production] is in L but no longer in the config" in problems
    assert len(problems) == 3 + 3 + 3
    assert lock_staleness(old, None, "L") == ["L does not exist: run `rtconfig lock` to write it"]


def test_staleness_ignores_the_rtconfig_version(write_toml: Callable[..., Path]) -> None:
    """A lock written by another rtconfig version is fresh when the bodies match."""
    lock = _lock(write_toml(CONFIG))
    older = Lock(lock.entries, rtconfig_version="0.0.1")
    assert lock_staleness(lock, older, "L") == []


def test_lock_write_is_atomic(write_toml: Callable[..., Path]) -> None:
    """Writing leaves no temporary file behind and keeps the lock's permissions."""
    path = write_toml(CONFIG)
    target = path.parent / "sessions.lock.json"
    write_lock(target, _lock(path))
    os.chmod(target, 0o640)
    write_lock(target, Lock(_lock(path).entries[:1]))
    assert sorted(p.name for p in path.parent.iterdir()) == ["sessions.lock.json", "sessions.toml"]
    assert target.stat().st_mode & 0o777 == 0o640


GA_CONFIG = """
[templates.support]
type = "realtime"
model = "gpt-realtime-2.1"
instructions = "Help."
audio.output.voice = "marin"
audio.input.turn_detection = { type = "server_vad" }

[templates.sales]
type = "realtime"
model = "gpt-realtime-2.1"

[environments.production.templates.support]
audio.output.voice = "cedar"
null = ["audio.input.turn_detection"]

[environments.staging.templates.sales]
instructions = "Staging."
"""


def test_lock_format_2_is_one_line_per_entry_naming_its_pair(
    write_toml: Callable[..., Path],
) -> None:
    """Format 2: one JSON document, one line per (template, environment) starting with its name
    and environment; default-environment entries carry the body, the others a patch against it
    (an environment that changes nothing: an empty patch); it reads back as the same lock."""
    lock = _lock(write_toml(GA_CONFIG))
    text = dumps_lock(lock)
    lines = text.splitlines()
    assert lines[:4] == [
        "{",
        '  "format_version": 2,',
        f'  "rtconfig_version": "{__version__}",',
        '  "templates": [',
    ]
    assert lines[-2:] == ["  ]", "}"] and len(lines) == 4 + 6 + 2
    entries = [json.loads(line.strip().rstrip(",")) for line in lines[4:-2]]
    assert [(e["name"], e["env"]) for e in entries] == [(e.name, e.env) for e in lock.entries]
    assert all(line.startswith('    {"name":') for line in lines[4:-2])
    by_pair = {(e["name"], e["env"]): e for e in entries}
    assert "body" in by_pair["support", None] and "patch" not in by_pair["support", None]
    assert by_pair["support", "production"]["patch"] == [
        {"op": "replace", "path": "/session/audio/input/turn_detection", "value": None},
        {"op": "replace", "path": "/session/audio/output/voice", "value": "cedar"},
    ]
    assert by_pair["support", "staging"]["patch"] == []
    assert by_pair["sales", "staging"]["patch"] == [
        {"op": "add", "path": "/session/instructions", "value": "Staging."}
    ]
    assert all(e["sha256"] == lock.get(e["name"], e["env"]).body_sha256 for e in entries)
    assert json.loads(text)["format_version"] == LOCK_FORMAT_VERSION == 2
    assert parse_lock(text, "L") == dataclasses.replace(lock, format_version=2)
    production = parse_lock(text, "L").get("support", "production")
    assert production is not None
    assert production.body["session"]["audio"]["input"]["turn_detection"] is None


def test_lock_check_detects_one_changed_field_in_one_environment(
    write_toml: Callable[..., Path],
) -> None:
    """`lock --check` against a format-2 lock: fresh exits 0; one field changed in one
    environment's overlay exits 1 naming exactly that pair; `lock` then refreshes it."""
    path = write_toml(GA_CONFIG)
    assert CliRunner().invoke(main, ["lock", str(path)]).exit_code == 0
    fresh = CliRunner().invoke(main, ["lock", str(path), "--check"])
    assert fresh.exit_code == 0, fresh.output
    path.write_text(GA_CONFIG.replace('voice = "cedar"', 'voice = "ash"'))
    stale = CliRunner().invoke(main, ["lock", str(path), "--check"])
    assert stale.exit_code == 1
    assert "stale: support [production]: body differs" in stale.output
    assert stale.output.count("stale:") == 1
    assert CliRunner().invoke(main, ["lock", str(path)]).exit_code == 0
    assert CliRunner().invoke(main, ["lock", str(path), "--check"]).exit_code == 0


def test_a_format_1_lock_file_is_still_read_and_checked(
    write_toml: Callable[..., Path],
) -> None:
    """A lock written by an earlier rtconfig (format 1) reads as the same bodies: `lock --check`
    passes on it, `plan` compares against it, and `lock` rewrites it in format 2."""
    path = write_toml(GA_CONFIG)
    lock_file = lock_path_for(path)
    old = dumps_lock(dataclasses.replace(_lock(path), format_version=1))
    lock_file.write_text(old)
    assert read_lock(lock_file) == dataclasses.replace(_lock(path), format_version=1)
    assert CliRunner().invoke(main, ["lock", str(path), "--check"]).exit_code == 0
    plan = CliRunner().invoke(main, ["plan", str(path), "--env", "production", "--json"])
    assert plan.exit_code == 0, plan.output
    assert {t["lock_status"] for t in json.loads(plan.output)["templates"]} == {"unchanged"}
    assert CliRunner().invoke(main, ["lock", str(path)]).exit_code == 0
    assert json.loads(lock_file.read_text())["format_version"] == 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e["patch"][0].update(value="ash"), r"support \[production\]: sha256 does not"),
        (lambda e: e["patch"].append({"op": "move"}), r"patch\[2\] is not an add, replace or"),
        (lambda e: e["patch"][0].update(path="/nope/x"), "runs through no table"),
        (lambda e: e.update(name="ghost"), "'ghost' has no default-environment body"),
    ],
)
def test_a_hand_edited_patch_is_refused(
    write_toml: Callable[..., Path], edit: Callable[[dict[str, object]], object], message: str
) -> None:
    """An edited patch (a value, an operation, a path, the pair it belongs to) is refused with
    the entry and what is wrong, never applied silently."""
    text = dumps_lock(_lock(write_toml(GA_CONFIG)))
    data = json.loads(text)
    entry = next(e for e in data["templates"] if (e["name"], e["env"]) == ("support", "production"))
    edit(entry)
    with pytest.raises(ConfigError, match=message) as info:
        parse_lock(json.dumps(data), "sessions.lock.json")
    assert "rtconfig lock" in str(info.value)


def test_the_10k_shape_lock_is_a_third_of_format_1(write_toml: Callable[..., Path]) -> None:
    """On a generated file of inheritance chains and three environments (the bench's shape),
    format 2 is less than 40 % of format 1's size and reads back to the same bodies."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from _common import generate_config

    lock = _lock(write_toml(generate_config(64)))
    new, old = dumps_lock(lock), dumps_lock(dataclasses.replace(lock, format_version=1))
    assert len(new) < 0.4 * len(old)
    assert parse_lock(new, "L").entries == parse_lock(old, "L").entries


@pytest.mark.parametrize(
    "body",
    [
        {"expires_after": {"seconds": 60}, "session": {"type": "realtime", "voice": "é ü 中"}},
        {"session": {}, "a": [1, 1.5, None, True, {"z": 1, "b": "\u2028"}]},
        {"session": "not a table", "model": "x"},
        {"model": "gpt-realtime", "voice": "ash"},
        {},
    ],
)
def test_body_hashes_are_the_contract_hashes(body: dict[str, object]) -> None:
    """body_hashes encodes the session once and still gives exactly body_sha256 of the body and
    of its session (CONTRACT §5, §10), or None when the session is not a table."""
    from rtconfig._resolver import body_hashes, body_sha256

    session = body.get("session")
    expected = body_sha256(session) if isinstance(session, dict) else None
    assert body_hashes(body) == (body_sha256(body), expected)
