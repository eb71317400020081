"""The planner: resolved templates and lock data in, a plain-data Plan out (no I/O)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rtconfig._config import load
from rtconfig._plan.lock import Lock, build_lock
from rtconfig._plan.make import diff_fields, make_plan
from rtconfig._plan.records import Plan, PlanRecord
from rtconfig._plan.render import locked_mismatches
from rtconfig._resolver import ResolvedTemplate
from rtconfig._values import same_value

GA = """
[api]
endpoint = "realtime/client_secrets"

[templates.agent]
type = "realtime"
model = "gpt-realtime"
output_modalities = ["audio"]
audio.output = { voice = "alloy", speed = 1.0 }
audio.input.turn_detection = { type = "server_vad", create_response = true }
tools = [{ type = "function", name = "f" }]
expires_after = { seconds = 600 }
"""


def _resolve(path: Path, envs: list[str | None] | None = None) -> tuple[ResolvedTemplate, ...]:
    check = load(path).check(envs=envs or [None], environ={})
    check.raise_for_errors()
    return check.templates


def _records(path: Path) -> list[PlanRecord]:
    return [PlanRecord.from_resolved(t) for t in _resolve(path)]


def _one(plan: Plan) -> PlanRecord:
    [template] = plan.templates
    return template


def test_redundant_fields_equal_the_documented_default(write_toml: Callable[..., Path]) -> None:
    """Leaves set to exactly the spec default are redundant; 1.0 counts as the default 1."""
    t = _one(make_plan(_resolve(write_toml(GA))))
    redundant = {f.dotted for f in t.redundant}
    assert redundant == {
        "output_modalities",
        "audio.output.voice",
        "audio.output.speed",
        "audio.input.turn_detection.create_response",
        "expires_after.seconds",
    }


def test_overrides_include_fields_without_a_documented_default(
    write_toml: Callable[..., Path],
) -> None:
    """A leaf with no documented default is an override with default None and has_default False."""
    t = _one(make_plan(_resolve(write_toml(GA))))
    overrides = {f.dotted: f for f in t.overrides}
    assert set(overrides) == {"type", "model", "audio.input.turn_detection.type", "tools"}
    assert overrides["model"].default is None and not overrides["model"].has_default
    assert all(f.action == "override" for f in t.overrides)


def test_arrays_are_leaves(write_toml: Callable[..., Path]) -> None:
    """An array is one leaf, however many items it holds; no path reaches inside it."""
    t = _one(make_plan(_resolve(write_toml(GA))))
    tools = [f for f in t.fields if f.path[0] == "tools"]
    assert [f.path for f in tools] == [("tools",)]
    assert tools[0].value == [{"type": "function", "name": "f"}]


def test_paths_are_template_paths(write_toml: Callable[..., Path]) -> None:
    """GA fields are never prefixed with session.; the lifetime is expires_after.*."""
    t = _one(make_plan(_resolve(write_toml(GA))))
    assert all(f.path[0] != "session" for f in t.fields)
    assert ("expires_after", "seconds") in {f.path for f in t.fields}


def test_beta_lifetime_is_an_expires_after_path(write_toml: Callable[..., Path]) -> None:
    """A beta template's token lifetime is planned at expires_after, not client_secret."""
    path = write_toml(
        '[api]\nendpoint = "realtime/sessions"\n'
        '[templates.x]\nmodel = "gpt-realtime"\nexpires_after = { anchor = "created_at" }\n'
    )
    t = _one(make_plan(_resolve(path)))
    assert [f.dotted for f in t.fields] == ["model", "expires_after.anchor"]


def test_null_is_a_leaf_compared_with_its_default(write_toml: Callable[..., Path]) -> None:
    """An explicit null differs from a non-null default and equals a null default."""
    path = write_toml(GA + 'null = ["audio.input.noise_reduction", "audio.input.transcription"]\n')
    fields = {f.dotted: f for f in _one(make_plan(_resolve(path))).fields}
    assert fields["audio.input.noise_reduction"].redundant  # documented default: null
    assert fields["audio.input.noise_reduction"].has_default


def test_origins_come_from_the_resolver(write_toml: Callable[..., Path]) -> None:
    """Each planned leaf carries the origin of the layer that set it."""
    path = write_toml(GA)
    fields = {f.dotted: f for f in _one(make_plan(_resolve(path))).fields}
    assert fields["model"].origin.template == "agent"
    assert fields["model"].origin.line == 7


def test_same_value_follows_json_types() -> None:
    """1 equals 1.0 but true is not 1; arrays compare in order; tables by keys."""
    assert same_value(1, 1.0)
    assert not same_value(True, 1)
    assert not same_value(["a", "b"], ["b", "a"])
    assert same_value({"a": [1]}, {"a": [1.0]})
    assert not same_value(None, "null")


def test_sha256_is_the_resolved_templates(write_toml: Callable[..., Path]) -> None:
    """The plan's sha256 is ResolvedTemplate.sha256 (the contract's body hash)."""
    [resolved] = _resolve(write_toml(GA))
    assert _one(make_plan([resolved])).sha256 == resolved.sha256


# --- against the lock ------------------------------------------------------------------------

TWO = """
[api]
endpoint = "realtime/sessions"

[templates.support]
model = "gpt-realtime"
voice = "sage"

[templates.sales]
model = "gpt-realtime"
voice = "echo"

[environments.production.templates.support]
speed = 1.1
"""


def _lock_of(write_toml: Callable[..., Path], text: str) -> Lock:
    path = write_toml(text, name="before.toml")
    return build_lock(load(path).check(environ={}).templates)


def test_no_lock_leaves_status_none(write_toml: Callable[..., Path]) -> None:
    """Without lock data every lock_status is None and the plan differs from the lock."""
    plan = make_plan(_resolve(write_toml(TWO)))
    assert [t.lock_status for t in plan.templates] == [None, None]
    assert not plan.locked and plan.differs_from_lock


def test_unchanged_against_its_own_lock(write_toml: Callable[..., Path]) -> None:
    """A plan against the lock of the same file is all unchanged and does not differ."""
    lock = _lock_of(write_toml, TWO)
    plan = make_plan(_resolve(write_toml(TWO)), lock)
    assert {t.lock_status for t in plan.templates} == {"unchanged"}
    assert not plan.differs_from_lock and plan.removed == ()


def test_new_changed_and_removed(write_toml: Callable[..., Path]) -> None:
    """New templates, changed bodies (with the field diff) and vanished pairs are all reported."""
    lock = _lock_of(write_toml, TWO)
    now = TWO.replace('voice = "sage"', 'voice = "ash"').replace(
        "[templates.sales]", "[templates.x]"
    )
    plan = make_plan(_resolve(write_toml(now)), lock)
    status = {t.name: t.lock_status for t in plan.templates}
    assert status == {"support": "changed", "x": "new"}
    [change] = plan.templates[0].changes
    assert (change.dotted, change.action, change.before, change.after) == (
        "voice",
        "update",
        "sage",
        "ash",
    )
    assert change.origin is not None and change.origin.template == "support"
    assert [(r.name, r.env) for r in plan.removed] == [("sales", None)]


def test_removed_is_limited_to_the_planned_environments(write_toml: Callable[..., Path]) -> None:
    """Locked pairs of environments that are not planned are never reported as removed."""
    lock = _lock_of(write_toml, TWO)
    now = TWO.replace("[templates.sales]", "[templates.sales]\nabstract = true")
    path = write_toml(now)
    default = make_plan(_resolve(path), lock, envs=[None])
    assert [(r.name, r.env) for r in default.removed] == [("sales", None)]
    production = make_plan(_resolve(path, ["production"]), lock, envs=["production"])
    assert [(r.name, r.env) for r in production.removed] == [("sales", "production")]


def test_selection_limits_removed(write_toml: Callable[..., Path]) -> None:
    """With -t, only locked pairs of the selected templates can be removed."""
    lock = _lock_of(write_toml, TWO)
    resolved = [t for t in _resolve(write_toml(TWO)) if t.name == "support"]
    assert make_plan(resolved, lock, selected=["support"]).removed == ()
    assert [r.name for r in make_plan(resolved, lock).removed] == ["sales"]


def test_endpoint_change_is_a_change(write_toml: Callable[..., Path]) -> None:
    """A body moved to another endpoint is changed even when its bytes are the same."""
    text = '[templates.t]\ninclude = ["item.input_audio_transcription.logprobs"]\n'
    lock = _lock_of(write_toml, text + 'endpoint = "realtime/transcription_sessions"\n')
    now = text + 'endpoint = "realtime/client_secrets"\ntype = "transcription"\n'
    t = _one(make_plan(_resolve(write_toml(now)), lock))
    assert t.lock_status == "changed"
    assert t.changes[0].dotted == "endpoint"
    assert (t.changes[0].before, t.changes[0].after) == (
        "realtime/transcription_sessions",
        "realtime/client_secrets",
    )


def test_diff_fields_puts_replaced_leaves_before_their_replacement() -> None:
    """A table replaced by null shows its old leaves, then the null, in one place."""
    before = {"a": 1, "td": {"type": "server_vad", "threshold": 0.5}, "z": 2}
    after = {"a": 1, "td": None, "z": 3}
    assert diff_fields(before, after) == (
        (("td", "type"), "remove", "server_vad", None),
        (("td", "threshold"), "remove", 0.5, None),
        (("td",), "add", None, None),
        (("z",), "update", 2, 3),
    )


def test_diff_fields_sees_int_and_float_as_different() -> None:
    """1 and 1.0 hash differently on the wire, so the lock diff reports them."""
    assert diff_fields({"speed": 1}, {"speed": 1.0}) == ((("speed",), "update", 1, 1.0),)


def test_locked_mismatches(write_toml: Callable[..., Path]) -> None:
    """apply --locked: each template not locked with exactly its body is named."""
    lock = _lock_of(write_toml, TWO)
    assert locked_mismatches(_records(write_toml(TWO)), lock) == []
    now = TWO.replace('voice = "echo"', 'voice = "ash"') + '[templates.extra]\nmodel = "x"\n'
    problems = locked_mismatches(_records(write_toml(now)), lock, "sessions.lock.json")
    assert problems == [
        "sales [default environment]: body differs from sessions.lock.json (`rtconfig plan` "
        "shows how; `rtconfig lock` accepts it)",
        "extra [default environment] is not in sessions.lock.json",
    ]
    assert locked_mismatches([], None, "sessions.lock.json") == [
        "sessions.lock.json does not exist: run `rtconfig lock` first"
    ]


@pytest.mark.parametrize(
    "module",
    [
        "rtconfig._plan.make",
        "rtconfig._plan.render",
        "rtconfig._plan.lock",
        "rtconfig._plan.saved",
        "rtconfig._plan.saved_parse",
        "rtconfig._apply.results",
        "rtconfig._apply.retry",
        "rtconfig._apply.preflight",
        "rtconfig._apply.request",
        "rtconfig._apply.responses",
    ],
)
def test_planning_imports_no_http_or_logging_stack(module: str) -> None:
    """The plan package and the pure apply modules import neither httpx nor structlog nor
    click (only rtconfig._apply.transport imports httpx)."""
    code = (
        f"import sys, {module}\n"
        "bad = [m for m in ('httpx', 'structlog', 'click') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
