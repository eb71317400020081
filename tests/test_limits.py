"""Resource limits: inputs that would blow up are handled in linear time or refused with a
message naming the limit.

Inheritance graphs are proven in test_resolver.py and not repeated here: a 100-level chain
(``test_hundred_level_chain_resolves``), a chain past ``MAX_INHERITANCE_DEPTH``
(``test_too_deep_chain_is_refused_with_the_limit``) and a ladder of diamonds with 2**40 paths
(``test_exponential_diamond_graph_is_linear``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

import rtconfig
from rtconfig._apply.engine import Applier
from rtconfig._checks import MAX_SCHEMA_DEPTH
from rtconfig._errors import ConfigError
from rtconfig._loader import MAX_FILE_BYTES, MAX_NESTING_DEPTH, parse_document, read_document
from rtconfig._sources import MAX_INSTRUCTIONS_BYTES
from rtconfig.audit import read_audit_log
from tests._apply_helpers import API_KEY, Script, make_job
from tests._robust import GA_HEAD, cli, deadline, run_rtconfig

T = TypeVar("T")

COMMANDS: list[list[str]] = [
    ["validate", "FILE"],
    ["render", "FILE", "t"],
    ["explain", "FILE", "t", "--json"],
    ["plan", "FILE", "--json"],
]


def every_command(path: Path, env: dict[str, str] | None = None, *extra: str) -> list[Any]:
    """validate, render, explain and plan on ``path``; each must end cleanly."""
    return [
        cli([str(path) if a == "FILE" else a for a in command] + list(extra), env=env)
        for command in COMMANDS
    ]


def in_deep_stack(frames_left: int, func: Callable[[], T]) -> T:
    """Call ``func`` with only about ``frames_left`` frames of Python's recursion limit left."""

    def descend() -> T:
        if sys.getrecursionlimit() - _depth() > frames_left:
            return descend()
        return func()

    return descend()


def _depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def nested_arrays(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


# -- file sizes --------------------------------------------------------------------------------


def test_fifty_megabyte_instructions_file_is_refused_naming_the_limit(tmp_path: Path) -> None:
    """A 50 MB prompt file is refused by its size (1 MiB limit), without being read."""
    prompt = tmp_path / "huge.md"
    with prompt.open("wb") as handle:
        handle.truncate(50 * 1000 * 1000)  # sparse: instant, and costs no disk
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + 'instructions_file = "huge.md"\n')
    started = time.perf_counter()
    for result in every_command(path):
        assert result.exit_code == 1
        assert f"is 50000000 bytes; the limit is {MAX_INSTRUCTIONS_BYTES} bytes (1 MiB)" in (
            result.stderr
        )
    assert time.perf_counter() - started < 10


def test_instructions_file_that_never_ends_or_blocks_is_refused(tmp_path: Path) -> None:
    """A FIFO (open would block for ever) or a device as a prompt file is refused at once."""
    os.mkfifo(tmp_path / "prompt.fifo")
    for target, why in (
        ("prompt.fifo", "is not a regular file"),
        ("/dev/zero", "is outside the directory of the TOML file"),
    ):
        path = tmp_path / "sessions.toml"
        path.write_text(GA_HEAD + f'instructions_file = "{target}"\n')
        with deadline(20):
            result = cli(["validate", str(path)])
        assert result.exit_code == 1
        assert f"instructions_file {target!r} {why}" in result.stderr


def test_twenty_megabyte_sessions_toml_is_refused_naming_the_limit(tmp_path: Path) -> None:
    """A 20 MB sessions.toml is refused naming the 16 MiB limit, reading no more than that."""
    path = tmp_path / "sessions.toml"
    with path.open("wb") as handle:
        handle.truncate(20 * 1000 * 1000)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as raised:
            read_document(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"file is 20000000 bytes; rtconfig reads at most {MAX_FILE_BYTES} bytes" in str(
        raised.value
    )
    assert peak < MAX_FILE_BYTES + 2 * 1024 * 1024  # the limit plus a margin, not the file
    for result in every_command(path):
        assert result.exit_code == 1 and "16 MiB" in result.stderr


def test_a_sessions_toml_that_never_ends_is_refused_in_bounded_memory() -> None:
    """`rtconfig validate /dev/zero` is refused at once (not a regular file), never read."""
    result = run_rtconfig("validate", "/dev/zero", memory_limit=1 << 30, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "is not a regular file (a character device)" in result.stderr


# -- nesting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        nested_arrays(MAX_NESTING_DEPTH),
        "{ a = " * MAX_NESTING_DEPTH + "1" + " }" * MAX_NESTING_DEPTH,
        "[{ a = " * (MAX_NESTING_DEPTH // 2) + "1" + " }]" * (MAX_NESTING_DEPTH // 2),
    ],
    ids=["arrays", "inline-tables", "mixed"],
)
def test_toml_nested_past_the_limit_is_refused_at_its_line(tmp_path: Path, value: str) -> None:
    """Tables and arrays nested past MAX_NESTING_DEPTH are refused at their line, naming it."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + "\n\ntracing = { metadata = { x = " + value + " } }\n")
    for result in every_command(path):
        assert result.exit_code == 1
        assert f"nest more than {MAX_NESTING_DEPTH} levels deep (the limit)" in result.stderr
        assert "sessions.toml:8:" in result.stderr


def test_toml_nested_beyond_what_the_parser_follows_is_a_diagnostic(tmp_path: Path) -> None:
    """Nesting tomllib itself cannot follow (RecursionError) is a diagnostic naming the limit."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + "x = " + nested_arrays(5000) + "\n")
    for result in every_command(path):
        assert result.exit_code == 1
        assert f"nest too deeply (the limit is {MAX_NESTING_DEPTH} levels" in result.stderr


def test_deep_but_allowed_nesting_works_everywhere(tmp_path: Path) -> None:
    """A body nested just under the limit validates, renders, explains, plans and locks."""
    depth = MAX_NESTING_DEPTH - 8  # the template's own tables count as levels too
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + "tracing = { metadata = { x = " + nested_arrays(depth) + " } }\n")
    for result in every_command(path):
        assert result.exit_code == 0, result.stderr
    assert cli(["lock", str(path)]).exit_code == 0
    resolved = rtconfig.load(path).resolve("t")
    assert resolved.origin_of(("tracing", "metadata", "x")).line == 6


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 100_000])
def test_override_values_nested_past_the_limit_are_refused(tmp_path: Path, depth: int) -> None:
    """Deep JSON in --set or an RTCONFIG__ variable is a diagnostic naming the limit."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD)
    deep = "[" * depth + "]" * depth
    by_set = every_command(path, None, "--set", f"t.tracing.metadata.x={deep}")
    by_variable = every_command(path, {"RTCONFIG__T__TRACING__METADATA__X": deep})
    for result in by_set + by_variable:
        assert result.exit_code == 1
        assert f"value nests more than {MAX_NESTING_DEPTH} levels deep (the limit)" in (
            result.stderr
        )


def test_deep_values_are_checked_from_a_deep_stack(tmp_path: Path) -> None:
    """A library caller already deep in its stack gets diagnostics, never a RecursionError."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + "tracing = { metadata = { x = " + nested_arrays(90) + " } }\n")
    deep = "[" * 95 + "]" * 95
    sets = [f"t.tracing.metadata.y={deep}"]

    def check() -> list[str]:
        try:
            config = rtconfig.load(path)
        except ConfigError as exc:
            return [d.message for d in exc.diagnostics]
        return [str(d) for d in config.check(sets=sets, environ={}).diagnostics]

    for frames_left in (150, 300, 600):
        in_deep_stack(frames_left, check)  # diagnostics or none, but no RecursionError
    assert in_deep_stack(900, check) == []


def test_scanner_asked_from_a_deep_stack_degrades_to_unknown_lines() -> None:
    """Positions asked for with little stack left lose lines past the deep value, never fail."""
    depth = 95
    text = "a = 1\nx = " + "{a = " * depth + "1" + "}" * depth + "\nz = 2\n"
    document = parse_document(text, "f.toml")
    positions = in_deep_stack(40, lambda: document.positions)
    assert positions[("a",)] == (1, 1) and ("z",) not in positions
    assert document.line(("z",)) is None  # asked again: the same partial index, no error


def test_nested_arrays_are_located_element_by_element() -> None:
    """`x = [[1, 2], [3]]` is two arrays, not an array-of-tables header: every element is found."""
    document = parse_document("x = [[1, 2], [3]]\n[[t]]\ny = [[4]]\n", "f.toml")
    with deadline(20):
        positions = document.positions
    assert positions[("x", 0)] == (1, 6) and positions[("x", 0, 1)] == (1, 10)
    assert positions[("x", 1, 0)] == (1, 15)
    assert positions[("t", 0, "y", 0, 0)] == (3, 7)


def test_nested_arrays_inside_an_inline_table_do_not_hang_explain(tmp_path: Path) -> None:
    """A nested array inside an inline table once sent the scanner into an endless loop."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + "tracing = { metadata = { x = [[1]], y = [[[2]], 3] } }\n")
    with deadline(20):
        explained = cli(["explain", str(path), "t", "--json"])
    assert explained.exit_code == 0, explained.stderr
    assert '"line": 6' in explained.stdout


# -- deep JSON from files and servers ----------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def test_deep_json_in_a_lock_file_a_plan_or_an_import_is_a_diagnostic(tmp_path: Path) -> None:
    """A lock file, saved plan or session JSON nested absurdly deep is refused cleanly."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD)
    (tmp_path / "sessions.lock.json").write_text(
        '{"format_version": 1, "templates": [{"body": ' + DEEP_JSON + "}]}"
    )
    plan = tmp_path / "plan.json"
    plan.write_text('{"kind": "rtconfig-plan", "x": ' + DEEP_JSON + "}")
    session = tmp_path / "session.json"
    session.write_text(DEEP_JSON)
    env = {"OPENAI_API_KEY": API_KEY}
    for args in (
        ["plan", str(path)],
        ["lock", str(path), "--check"],
        ["apply", str(path), "--locked", "--dry-run"],
        ["apply", str(plan), "--dry-run"],
        ["import", str(session)],
    ):
        result = cli(args, env=env)
        assert result.exit_code == 1
        assert f"{MAX_NESTING_DEPTH} levels deep" in result.stderr


@pytest.mark.parametrize("status", [200, 400, 500])
def test_deep_json_from_the_server_is_a_failed_mint_not_a_crash(status: int) -> None:
    """A response nested absurdly deep fails that mint; the batch still returns every result."""
    deep = httpx.Response(status, content=DEEP_JSON.encode(), headers={"x-request-id": "r"})
    script = Script([deep])
    # One mint at a time, so that the deep answer (the script's first) goes to the first job.
    environ = {"OPENAI_API_KEY": API_KEY}
    with Applier(transport=script.transport(), environ=environ, concurrency=1) as applier:
        first, second = applier.mint_all(
            [make_job(template="deep", max_retries=0), make_job(template="next")]
        )
    assert not first.ok and first.error is not None
    assert first.error.type == ("invalid_response" if status == 200 else "http_error")
    assert second.ok


def test_audit_reader_skips_a_line_nested_too_deeply(tmp_path: Path) -> None:
    """A damaged audit log line nested absurdly deep is skipped like any other damaged line."""
    log = tmp_path / "audit.jsonl"
    log.write_text('{"event": "apply.started"}\n' + DEEP_JSON + '\n{"event": "apply.finished"}\n')
    assert [r["event"] for r in read_audit_log(log)] == ["apply.started", "apply.finished"]


# -- tool parameter schemas and many templates -------------------------------------------------


def test_schema_nested_past_its_limit_is_refused_naming_it(tmp_path: Path) -> None:
    """A tool parameters schema deeper than MAX_SCHEMA_DEPTH is one diagnostic naming it."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_SCHEMA_DEPTH + 2):
        schema = {"type": "object", "properties": {"x": schema}}
    tool = {"type": "function", "name": "f", "parameters": schema}
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + f"tools = [{_inline(tool)}]\n")
    for result in every_command(path):
        assert result.exit_code == 1
        assert f"is nested too deeply (more than {MAX_SCHEMA_DEPTH} levels)" in result.stderr


def test_enormous_flat_schema_is_checked_in_linear_time(tmp_path: Path) -> None:
    """A schema with 20,000 properties (a 1.2 MB file) validates and plans in seconds."""
    properties = {f"p{i}": {"type": "string", "description": "x" * 20} for i in range(20_000)}
    path = tmp_path / "sessions.toml"
    text = GA_HEAD + "[[templates.t.tools]]\ntype = 'function'\nname = 'f'\n"
    text += "[templates.t.tools.parameters]\ntype = 'object'\n"
    text += "[templates.t.tools.parameters.properties]\n"
    text += "".join(f"{k} = {_inline(v)}\n" for k, v in properties.items())
    path.write_text(text)
    started = time.perf_counter()
    results = every_command(path)
    assert all(r.exit_code == 0 for r in results), results[0].stderr
    assert time.perf_counter() - started < 45


def test_thousands_of_templates_validate_in_time_proportional_to_size(tmp_path: Path) -> None:
    """3,000 templates cost about three times 1,000: no quadratic step in load/check/plan."""

    def timed(count: int) -> float:
        path = tmp_path / f"s{count}.toml"
        path.write_text(
            GA_HEAD.replace("[templates.t]", "[templates.base]\nabstract = true")
            + "".join(
                f'[templates.t{i}]\nextends = "base"\naudio.output.voice = "ash"\n'
                for i in range(count)
            )
        )
        started = time.perf_counter()
        config = rtconfig.load(path)
        check = config.check(environ={})
        assert len(check.templates) == count and not check.errors
        from rtconfig._plan.make import make_plan

        make_plan(check.templates)
        return time.perf_counter() - started

    timed(200)  # warm up imports and caches
    small, large = timed(1000), timed(3000)
    assert large < small * 3 * 2.5 + 0.5, (small, large)


def _inline(value: Any) -> str:
    """A TOML inline value for JSON-like data."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return json.dumps(value)


def test_an_enormous_response_is_refused_not_held() -> None:
    """An answer larger than MAX_RESPONSE_BYTES fails that mint instead of filling memory."""
    from rtconfig._apply.transport import MAX_RESPONSE_BYTES

    huge = b'{"value": "ek_' + b"x" * (MAX_RESPONSE_BYTES + 1) + b'"}'
    script = Script([httpx.Response(200, content=huge)])
    with Applier(transport=script.transport(), environ={"OPENAI_API_KEY": API_KEY}) as applier:
        result = applier.mint(make_job(max_retries=0))
    assert not result.ok and result.error is not None
    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in result.error.message
