"""Hostile and broken input never crashes: property-based tests (hypothesis) that generate
sessions.toml documents — valid, mutated and random — and run validate, render, plan and explain
on them through the library and the CLI. Every run must end in success or a clean diagnostic
(exit 0 or 1, no traceback, never "internal error … this is a bug"), within a time bound
proportional to the input's size.

Profiles (tests/conftest.py): ``ci`` (the default, bounded for CI) and ``soak`` for long runs by
hand: ``HYPOTHESIS_PROFILE=soak .venv/bin/pytest tests/test_fuzz.py -p no:cacheprovider``.
The number of inputs tried is printed at the end of the run ("rtconfig robustness figures").
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rtconfig
from rtconfig import DiagnosticCode
from rtconfig._errors import ConfigError
from rtconfig._plan.lock import build_lock, dumps_lock, parse_lock
from rtconfig._plan.make import make_plan
from rtconfig._plan.render import plan_json, render_text
from tests._robust import STATS, assert_clean, cli, rtconfig_command, subprocess_env

REPO = Path(__file__).resolve().parents[1]
SEEDS = [REPO / "sessions.toml", *sorted((REPO / "examples").glob("*/sessions.toml"))]
SEED_TEXTS = [path.read_text(encoding="utf-8") for path in SEEDS]

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- building blocks -----------------------------------------------------------------------------

# Characters that have broken tools before: bidi overrides, NUL, BOM, line and paragraph
# separators, combining marks, emoji, and quotes and brackets that matter to the TOML scanner.
NASTY = "\u202e\u2066\u2069\u200f\x00\ufeff\u2028\u2029\u0301😀\"'[]{}=.#\\\n\r\t"
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(NASTY), max_size=40
)
names = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True) | text
huge = st.sampled_from([10_000, 300_000]).map(lambda n: "x" * n)
scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | text
    | st.sampled_from(["auto", "inf", "none", "gpt-realtime", "alloy", "pcm16", "server_vad"])
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=24,
)


def nest(depth: int, leaf: Any) -> Any:
    """``leaf`` inside ``depth`` alternating tables and arrays."""
    for level in range(depth):
        leaf = {"a": leaf} if level % 2 else [leaf]
    return leaf


deep = st.integers(min_value=1, max_value=130).map(lambda d: nest(d, 1))

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["realtime", "transcription"]) | scalars,
    "model": st.sampled_from(["gpt-realtime", "gpt-4o-transcribe", "whisper-1"]) | scalars,
    "instructions": text | huge | scalars,
    "output_modalities": st.lists(st.sampled_from(["audio", "text"]) | scalars, max_size=3),
    "modalities": st.lists(st.sampled_from(["audio", "text"]), max_size=3),
    "voice": st.sampled_from(["alloy", "marin", "ash"]) | text,
    "temperature": st.floats() | scalars,
    "speed": st.floats(min_value=0, max_value=3) | scalars,
    "audio": st.fixed_dictionaries(
        {},
        optional={
            "output": st.fixed_dictionaries(
                {}, optional={"voice": text | scalars, "speed": st.floats() | scalars}
            ),
            "input": st.fixed_dictionaries(
                {},
                optional={
                    "format": json_like,
                    "turn_detection": json_like,
                    "transcription": st.fixed_dictionaries({}, optional={"model": scalars}),
                    "noise_reduction": json_like,
                },
            ),
        },
    )
    | json_like,
    "tools": st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["function", "mcp"]) | scalars},
            optional={
                "name": names,
                "description": text,
                "parameters": json_like | deep,
                "server_label": names,
                "server_url": text,
            },
        )
        | json_like,
        max_size=4,
    ),
    "tool_choice": st.sampled_from(["auto", "none", "required"]) | names | json_like,
    "tracing": st.just("auto") | st.fixed_dictionaries({}, optional={"metadata": json_like | deep}),
    "max_output_tokens": st.integers() | st.just("inf") | scalars,
    "max_response_output_tokens": st.integers() | st.just("inf") | scalars,
    "turn_detection": json_like,
    "include": st.lists(text, max_size=3),
    "prompt": json_like,
    "truncation": json_like,
    "expires_after": st.fixed_dictionaries(
        {}, optional={"anchor": scalars, "seconds": st.integers() | scalars}
    )
    | json_like,
    "endpoint": st.sampled_from(
        ["realtime/sessions", "realtime/client_secrets", "realtime/transcription_sessions"]
    )
    | scalars,
    "description": text | scalars,
    "abstract": st.booleans() | scalars,
    "null": st.lists(st.sampled_from(["audio.input.turn_detection", "tools", "x"]) | text),
    "unset": st.lists(st.sampled_from(["tools", "audio", "instructions"]) | text),
    "instructions_file": st.sampled_from(["prompt.md", "../x", "/dev/null", "missing.md"]) | text,
}


@st.composite
def template(draw: st.DrawFn, others: list[str]) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=8, unique=True))
    table = {key: draw(FIELDS[key]) for key in keys}
    if others and draw(st.booleans()):
        parents = draw(st.lists(st.sampled_from(others) | names, max_size=3))
        table["extends"] = parents[0] if len(parents) == 1 and draw(st.booleans()) else parents
    if draw(st.integers(0, 9)) == 0:
        table[draw(names)] = draw(json_like)  # an unknown key, maybe a look-alike
    return table


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A sessions.toml as data: settings, a graph of templates, environments with overlays."""
    doc: dict[str, Any] = {}
    if draw(st.booleans()):
        doc["api"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "endpoint": FIELDS["endpoint"],
                    "base_url": st.sampled_from(
                        ["https://api.openai.com/v1", "http://127.0.0.1:9/v1", "http://x/v1"]
                    )
                    | text,
                    "api_key_env": st.sampled_from(["OPENAI_API_KEY", "X"]) | text,
                    "timeout_s": st.floats() | scalars,
                    "max_retries": st.integers(-2, 20) | scalars,
                    "concurrency": st.integers(-2, 300) | scalars,
                    "organization": text,
                    draw(names): scalars,
                },
            )
        )
    count = draw(st.integers(0, 12))
    pool = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    doc["templates"] = {name: draw(template(pool)) for name in pool}
    if draw(st.integers(0, 3)) == 0:
        doc["templates"] = draw(json_like)  # not even a table
    for _ in range(draw(st.integers(0, 2))):
        targets = st.sampled_from([*pool, "*"]) | names if pool else names
        overlays = draw(st.dictionaries(targets, st.builds(dict) | template([]), max_size=3))
        env: dict[str, Any] = {"templates": overlays}
        if draw(st.booleans()):
            env["api"] = draw(st.dictionaries(st.sampled_from(["endpoint", "base_url"]), text))
        doc.setdefault("environments", {})[draw(names)] = env
    if draw(st.integers(0, 9)) == 0:
        doc[draw(names)] = draw(json_like)  # an unknown section
    return doc


def to_toml(doc: dict[str, Any]) -> str | None:
    """TOML text for ``doc``, or None when TOML cannot express it (nulls, surrogates)."""
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError, RecursionError):
        return None


def _mutate(seed: str, ops: list[tuple[int, int, int, str]]) -> str:
    lines = seed.splitlines(keepends=True)
    for kind, a, b, junk in ops:
        if not lines:
            lines = [junk]
        i, j = a % len(lines), b % len(lines)
        if kind == 0:  # duplicate a line: duplicate keys and tables
            lines.insert(j, lines[i])
        elif kind == 1:
            del lines[i]
        elif kind == 2:  # splice junk into a line
            line = lines[i]
            cut = b % (len(line) + 1)
            lines[i] = line[:cut] + junk + line[cut:]
        elif kind == 3:
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 4:  # truncate the document mid-line
            lines = [*lines[:i], lines[i][: b % (len(lines[i]) + 1)]]
        else:  # a line of junk
            lines.insert(i, junk + "\n")
    return "".join(lines)


mutated = st.builds(
    _mutate,
    st.sampled_from(SEED_TEXTS),
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 500), st.integers(0, 500), text), max_size=6
    ),
)

# Environment variables and --set flags, aimed at real and imaginary templates.
override_paths = st.lists(
    st.sampled_from(["model", "voice", "audio", "output", "speed", "tools", "x", "extends"])
    | names,
    min_size=1,
    max_size=4,
)
override_values = st.one_of(
    text,
    json_like.map(lambda v: json.dumps(v, allow_nan=True)),
    deep.map(json.dumps),
    st.just("[" * 5000 + "]" * 5000),
)


# -- the properties ----------------------------------------------------------------------------


def budget_s(size: int) -> float:
    """Time allowed for one input: a constant, plus a linear term in its size."""
    return 10.0 + size / 20_000  # 50 µs a byte: quadratic blow-ups and hangs exceed it


def exercise_library(text_: str | bytes, environ: dict[str, str], sets: list[str]) -> None:
    """load → check (validate) → resolve (render) → origins (explain) → plan → lock, through
    the library: only rtconfig's own errors may come out, and in bounded time."""
    STATS["fuzz inputs tried"] += 1
    size = len(text_) + sum(map(len, sets)) + sum(map(len, environ.values()))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.toml"
        (path.write_bytes if isinstance(text_, bytes) else path.write_text)(text_)  # type: ignore[operator]
        (Path(directory) / "prompt.md").write_text("Be brief.\n")
        try:
            config = rtconfig.load(path)
        except ConfigError as exc:
            assert exc.diagnostics and all(str(d) for d in exc.diagnostics)
            assert all(isinstance(d.code, DiagnosticCode) for d in exc.diagnostics)
            STATS["fuzz inputs refused at load"] += 1
            return
        check = config.check(environ=environ, sets=sets)
        for diagnostic in check.diagnostics:
            str(diagnostic), diagnostic.to_json()
            assert isinstance(diagnostic.code, DiagnosticCode), diagnostic
        for resolved in check.templates[:4]:
            json.dumps(resolved.body, allow_nan=True)
            for record in resolved.fields.values():
                record.origin.describe(), record.origin.to_json()
        default_env = [t for t in check.templates if t.env is None]
        plan = make_plan(default_env, build_lock(check.templates))
        render_text(plan, color=False, explain=True)
        json.dumps(plan_json(plan, origins=True), allow_nan=True)
        lock = build_lock(check.templates)
        parse_lock(dumps_lock(lock), "sessions.lock.json")
        for name in config.mintable()[:3]:
            with contextlib.suppress(ConfigError):
                config.resolve(name, environ=environ, sets=sets)
        STATS["fuzz inputs valid" if check.ok() else "fuzz inputs with diagnostics"] += 1
    assert time.monotonic() - started < budget_s(size), f"{size} bytes took too long"


def run_every_command(text_: str, env: dict[str, str], name: str) -> None:
    """validate, render, explain and plan through the CLI (in-process): each exits 0 or 1."""
    STATS["fuzz inputs tried through the CLI"] += 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.toml"
        path.write_text(text_)
        (Path(directory) / "prompt.md").write_text("Be brief.\n")
        for args in (
            ["validate", str(path), "--json"],
            # "--": a template may be named "-0", which is a valid name but looks like an option.
            ["render", str(path), "--", name],
            ["explain", str(path), "--", name],
            ["plan", str(path), "--json"],
        ):
            cli(args, env=env)
    assert time.monotonic() - started < 4 * budget_s(len(text_))


@FUZZ
@given(
    doc=documents(),
    environ=st.dictionaries(override_paths.map(tuple), override_values, max_size=2),
    sets=st.lists(st.tuples(override_paths, override_values), max_size=2),
)
@example(doc={"templates": {"a": {"extends": "a"}}}, environ={}, sets=[])
@example(doc={"templates": {"t": {"model": [1]}}}, environ={}, sets=[])  # found: a crash
@example(doc={"templates": {"t": {}}}, environ={}, sets=[(["model", "model"], "")])
def test_generated_documents_never_crash_the_library(
    doc: dict[str, Any],
    environ: dict[tuple[str, ...], str],
    sets: list[tuple[list[str], str]],
) -> None:
    """Generated documents (wrong types at every field, extends graphs with cycles, unknown
    keys, nasty unicode, huge strings, deep nesting) plus RTCONFIG__ variables and --set flags:
    the library returns results or diagnostics, never another exception."""
    text_ = to_toml(doc)
    if text_ is None:
        return
    templates = list(doc.get("templates", {})) if isinstance(doc.get("templates"), dict) else []
    targets = templates or ["t"]
    variables = {
        f"RTCONFIG__{targets[hash(path) % len(targets)]}__" + "__".join(path): value
        for path, value in environ.items()
    }
    flags = [f"{targets[len(v) % len(targets)]}.{'.'.join(p)}={v}" for p, v in sets]
    exercise_library(text_, variables, flags)


@FUZZ
@given(text_=mutated)
def test_mutated_real_files_never_crash_the_library(text_: str) -> None:
    """The repository's own sessions.toml files, mutated (duplicated keys and tables, deleted
    and swapped lines, junk spliced in, truncation): results or diagnostics only."""
    exercise_library(text_, {}, [])


@FUZZ
@given(
    raw=st.binary(max_size=2000)
    | text.map(str.encode)
    | st.sampled_from([b"\xff\xfe", b"\x00" * 64])
)
def test_random_bytes_never_crash_the_library(raw: bytes) -> None:
    """Binary junk, invalid UTF-8 and random text are refused with a diagnostic."""
    exercise_library(raw, {}, [])


@FUZZ
@given(
    size=st.integers(1, 60),
    edges=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=120),
)
@example(size=1, edges=[(0, 0)])
@example(size=60, edges=[(i, i + 1) for i in range(59)])
def test_extends_graphs_with_cycles_and_chains_never_crash(
    size: int, edges: list[tuple[int, int]]
) -> None:
    """Random inheritance graphs (self-loops, cycles, diamonds, chains, unknown parents):
    every template resolves or gets a diagnostic naming the chain."""
    parents: dict[int, list[str]] = {}
    for child, parent in edges:
        if child < size:
            parents.setdefault(child, []).append(f"t{parent}")
    lines = ['[api]\nendpoint = "realtime/client_secrets"\n']
    for i in range(size):
        lines.append(f'[templates.t{i}]\ntype = "realtime"\n')
        if i in parents:
            lines.append(f"extends = {json.dumps(parents[i])}\n")
    exercise_library("".join(lines), {}, [])


@FUZZ
@given(doc=documents() | st.builds(lambda t: {"raw": t}, mutated), data=st.data())
def test_generated_documents_never_crash_the_cli(doc: dict[str, Any], data: Any) -> None:
    """The same inputs through `rtconfig validate`, `render`, `explain` and `plan`: exit 0 or
    1, a clean message, never a traceback or an internal error."""
    text_ = doc["raw"] if set(doc) == {"raw"} else to_toml(doc)
    if text_ is None:
        return
    templates = doc.get("templates") if "raw" not in doc else None
    candidates = list(templates) if isinstance(templates, dict) and templates else ["t"]
    name = data.draw(st.sampled_from(candidates))
    run_every_command(text_, {"OPENAI_API_KEY": "sk-not-used"}, name)


@settings(FUZZ, max_examples=max(3, settings.default.max_examples // 25))
@given(doc=documents())
def test_a_sample_through_the_real_console_entry_point(doc: dict[str, Any]) -> None:
    """A sample of generated documents through `python -m rtconfig` in a subprocess: the
    process itself exits 0 or 1 with no traceback (nothing of click's runner in between)."""
    text_ = to_toml(doc)
    if text_ is None:
        return
    STATS["fuzz inputs tried in a subprocess"] += 1
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.toml"
        path.write_text(text_)
        for args in (["validate", str(path)], ["plan", str(path)]):
            proc = subprocess.run(
                rtconfig_command(*args),
                env=subprocess_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert_clean(proc.returncode, proc.stdout, proc.stderr)


def test_thousands_of_templates_with_long_chains_in_bounded_time() -> None:
    """2,000 templates, inheritance chains 100 deep and a shared base: validated, rendered,
    explained and planned within the size-proportional budget."""
    lines = ['[api]\nendpoint = "realtime/client_secrets"\n[templates.base]\nabstract = true\n']
    lines.append('type = "realtime"\nmodel = "gpt-realtime"\n')
    for i in range(2000):
        parent = "base" if i % 100 == 0 else f"t{i - 1}"
        lines.append(f'[templates.t{i}]\nextends = "{parent}"\ninstructions = "n{i}"\n')
    text_ = "".join(lines)
    exercise_library(text_, {}, [])
    run_every_command(text_, {}, "t1999")


def test_random_seeded_byte_flips_of_every_example(tmp_path: Path) -> None:
    """Every single-byte corruption class (flip, drop, duplicate) at 300 random places in the
    example files: diagnostics only (a seeded, reproducible sweep besides hypothesis)."""
    rng = random.Random(20261123)
    corruptions: list[Callable[[bytes, int], bytes]] = [
        lambda b, i: b[:i] + bytes([b[i] ^ (1 << rng.randrange(8))]) + b[i + 1 :],
        lambda b, i: b[:i] + b[i + 1 :],
        lambda b, i: b[:i] + b[i : i + 1] * 2 + b[i + 1 :],
    ]
    for _ in range(300):
        seed = rng.choice(SEED_TEXTS).encode()
        corrupt = rng.choice(corruptions)
        exercise_library(corrupt(seed, rng.randrange(len(seed))), {}, [])


@FUZZ
@given(value=json_like | deep, wrap=st.booleans())
def test_import_of_any_json_never_crashes(value: Any, wrap: bool) -> None:
    """`rtconfig import` on any JSON (session-shaped or not, deep, nasty unicode): a TOML
    template or a diagnostic, never a traceback."""
    STATS["fuzz inputs tried"] += 1
    data = {"session": value, "value": "ek_x", "object": "realtime.session"} if wrap else value
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "session.json"
        path.write_text(json.dumps(data, allow_nan=True))
        cli(["import", str(path)])


@st.composite
def edited_artifacts(draw: st.DrawFn) -> tuple[str, str]:
    """A real lock file or saved plan (of a repository example), then edited by hand."""
    kind = draw(st.sampled_from(["lock", "plan"]))
    text_ = ARTIFACTS[kind]
    edits = draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40), text), max_size=4))
    for at, length, junk in edits:
        at %= len(text_) + 1
        text_ = text_[:at] + junk + text_[at + length :]
    return kind, text_


def _artifacts() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.toml"
        path.write_text(SEED_TEXTS[0])
        for relative in ("prompts/support.md",):
            (Path(directory) / relative).parent.mkdir(parents=True, exist_ok=True)
            (Path(directory) / relative).write_text("Be kind.\n")
        config = rtconfig.load(path)
        lock = dumps_lock(build_lock(config.check(environ={}).templates))
        plan = Path(directory) / "plan.json"
        cli(["plan", str(path), "--out", str(plan)], env={"OPENAI_API_KEY": "sk-not-used"})
        return {"lock": lock, "plan": plan.read_text()}


ARTIFACTS = _artifacts()


@FUZZ
@given(artifact=edited_artifacts())
def test_edited_lock_files_and_saved_plans_never_crash(artifact: tuple[str, str]) -> None:
    """A lock file or saved plan edited by hand (or corrupted in transit between CI jobs) is
    used only if it is intact; otherwise `plan`, `lock --check` and `apply PLAN` say why."""
    kind, text_ = artifact
    STATS["fuzz inputs tried"] += 1
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.toml"
        path.write_text(SEED_TEXTS[0])
        (Path(directory) / "prompts").mkdir()
        (Path(directory) / "prompts" / "support.md").write_text("Be kind.\n")
        env = {"OPENAI_API_KEY": "sk-not-used"}
        if kind == "lock":
            path.with_name("sessions.lock.json").write_text(text_)
            cli(["plan", str(path)], env=env)
            cli(["lock", str(path), "--check"], env=env)
        else:
            plan = Path(directory) / "plan.json"
            plan.write_text(text_)
            cli(["apply", str(plan), "--dry-run"], env=env)
