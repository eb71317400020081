"""rtconfig migrate (CONTRACT §9): beta templates rewritten for GA, exactly, keeping the file's
comments and formatting, with every lossy step reported at its file:line."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtconfig._config import Config
from rtconfig._endpoints import Endpoint
from rtconfig._ga_mapping import map_body
from rtconfig._loader import parse_document
from rtconfig._migrate import migrate_text
from rtconfig._sources import read_sources

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
TODAY = {"RTCONFIG_TODAY": "2026-12-01"}


def rendered(text: str, base_dir: pathlib.Path, *, v1: bool = False) -> dict[Any, Any]:
    """(template, env) -> (endpoint, body) of every mintable template in every environment.

    ``v1``: render as rtconfig v1 did (no endpoint anywhere means realtime/sessions)."""
    if v1:
        text = '[api]\nendpoint = "realtime/sessions"\n' + text
    config = Config(read_sources(parse_document(text, "sessions.toml"), base_dir))
    check = config.check(environ=TODAY)
    errors = [str(d) for d in check.errors]
    assert not errors, errors
    return {(t.name, t.env): (t.endpoint, t.body) for t in check.templates}


def assert_migrates_exactly(
    text: str, base_dir: pathlib.Path, *, v1: bool = False
) -> tuple[str, list[Any]]:
    """The property: render after migrating == the NOTES §7 mapping of render before, and the
    migrated file validates with no beta warning."""
    before = rendered(text, base_dir, v1=v1)
    result = migrate_text(text, "sessions.toml", base_dir=base_dir, environ=TODAY)
    assert result.ok, [str(d) for d in result.diagnostics]
    after = rendered(result.migrated, base_dir)
    assert after.keys() == before.keys()
    for key, (endpoint, body) in before.items():
        expected = map_body(endpoint, body) if endpoint is not Endpoint.CLIENT_SECRETS else body
        assert after[key] == (Endpoint.CLIENT_SECRETS, expected), key
    config = Config(read_sources(parse_document(result.migrated, "sessions.toml"), base_dir))
    warnings = config.check(environ=TODAY).warnings
    assert not [d for d in warnings if d.path == "endpoint"], [str(d) for d in warnings]
    return result.migrated, result.diagnostics


# --- every example -----------------------------------------------------------------------------


@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLES.glob("*/sessions.toml")))
def test_every_example_migrates_exactly(example: str) -> None:
    """For every template × environment of every example, migrated renders = mapped renders."""
    path = EXAMPLES / example / "sessions.toml"
    migrated, _ = assert_migrates_exactly(path.read_text(), path.parent)
    if not any(e in path.read_text() for e in ("realtime/sessions", "transcription_sessions")):
        assert migrated == path.read_text()  # a GA file is left alone, byte for byte


def test_the_beta_example_is_kept_and_its_migration_is_documented() -> None:
    """One beta example stays, and docs/migrate.md shows exactly what migrate makes of it."""
    path = EXAMPLES / "beta-endpoint" / "sessions.toml"
    assert 'endpoint = "realtime/sessions"' in path.read_text()
    result = migrate_text(path.read_text(), "sessions.toml", base_dir=path.parent, environ=TODAY)
    docs = (REPO / "docs" / "migrate.md").read_text()
    after = docs.split("<!-- after -->", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    assert after == result.migrated


# --- what it does, line by line ----------------------------------------------------------------

V1 = """\
# Acme's agents (written for rtconfig v1)
[templates.base]
abstract = true
model = "gpt-realtime-2.1"   # the model
voice = "verse"              # a calm voice
temperature = 0.7
modalities = ["audio", "text"]
input_audio_format = "g711_ulaw"
expires_after = { anchor = "created_at", seconds = 300 }

[templates.base.turn_detection]
threshold = 0.6              # a noisy call centre

[templates.support]
extends = "base"
instructions_file = "prompt.md"
tool_choice = "lookup"
null = ["input_audio_transcription"]
unset = ["temperature", "speed"]

[[templates.support.tools]]
type = "function"
name = "lookup"

[templates.sales]  # takes prod's "*" speed (support unsets it), so that overlay is not shadowed
extends = "base"

[environments.prod.templates."*"]
speed = 1.1

[environments.prod.templates.support]
voice = "marin"
"""


@pytest.fixture
def v1_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "prompt.md").write_text("You help.\n")
    (tmp_path / "sessions.toml").write_text(V1)
    return tmp_path


def test_a_v1_file_migrates_every_layer(v1_dir: pathlib.Path) -> None:
    """Templates, "*" and per-template overlays, null/unset paths, a VAD header table,
    instructions_file and expires_after: all carried over, comments kept."""
    migrated, notes = assert_migrates_exactly(V1, v1_dir, v1=True)
    assert "# Acme's agents (written for rtconfig v1)" in migrated
    assert 'audio.output.voice = "verse"              # a calm voice' in migrated
    assert "[templates.base.audio.input.turn_detection]" in migrated
    assert 'type = "server_vad"' in migrated  # the API's default, now written out
    assert "threshold = 0.6              # a noisy call centre" in migrated
    assert 'tool_choice = {type = "function", name = "lookup"}' in migrated
    assert 'null = ["audio.input.transcription"]' in migrated
    assert 'unset = ["audio.output.speed"]' in migrated
    assert 'instructions_file = "prompt.md"' in migrated
    assert "audio.output.speed = 1.1" in migrated
    assert "temperature" not in migrated
    by_line = {(d.line, d.severity): d.message for d in notes}
    assert "dropped" in by_line[(6, "warning")]  # temperature
    assert "output_modalities = ['audio']" in by_line[(7, "warning")]
    assert any("'temperature' names a dropped beta field" in m for m in by_line.values())


def test_cli_prints_a_diff_and_changes_nothing(v1_dir: pathlib.Path) -> None:
    """Without --write: a unified diff on stdout, warnings on stderr, the file untouched."""
    out = run("migrate", "sessions.toml", cwd=v1_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("--- sessions.toml\n+++ sessions.toml\n")
    assert '-voice = "verse"' in out.stdout
    assert "sessions.toml:6:1: warning: base: temperature:" in out.stderr
    assert (v1_dir / "sessions.toml").read_text() == V1


def test_cli_write_and_check(v1_dir: pathlib.Path) -> None:
    """--check exits 1 with changes pending (nothing on stdout); --write rewrites; then 0."""
    check = run("migrate", "sessions.toml", "--check", cwd=v1_dir)
    assert (check.returncode, check.stdout) == (1, "")
    (v1_dir / "sessions.toml").chmod(0o640)
    write = run("migrate", "sessions.toml", "--write", cwd=v1_dir)
    assert write.returncode == 0 and write.stdout == ""
    assert (v1_dir / "sessions.toml").stat().st_mode & 0o777 == 0o640
    assert "audio.output.voice" in (v1_dir / "sessions.toml").read_text()
    assert run("validate", "sessions.toml", "--strict", cwd=v1_dir).returncode == 0
    again = run("migrate", "sessions.toml", "--check", cwd=v1_dir)
    assert (again.returncode, again.stdout) == (0, "")
    assert [p.name for p in v1_dir.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_models_adopts_replacements(v1_dir: pathlib.Path) -> None:
    """--models replaces a model with an announced shutdown by its replacement."""
    text = V1.replace("gpt-realtime-2.1", "gpt-realtime")
    (v1_dir / "sessions.toml").write_text(text)
    plain = migrate_text(text, "sessions.toml", base_dir=v1_dir, environ=TODAY)
    assert 'model = "gpt-realtime"   # the model' in plain.migrated
    adopted = migrate_text(text, "sessions.toml", base_dir=v1_dir, environ=TODAY, models=True)
    assert 'model = "gpt-realtime-2.1"   # the model' in adopted.migrated


def test_variables_and_lock_entries_naming_beta_paths_are_reported(
    v1_dir: pathlib.Path,
) -> None:
    """A RTCONFIG__ variable or a lock entry that names a beta path is a warning, not dropped."""
    lock = {"templates": [{"name": "support", "env": None, "endpoint": "realtime/sessions"}]}
    (v1_dir / "sessions.lock.json").write_text(json.dumps(lock, indent=2))
    result = migrate_text(
        V1,
        "sessions.toml",
        base_dir=v1_dir,
        environ={**TODAY, "RTCONFIG__SUPPORT__VOICE": "ash", "RTCONFIG__SUPPORT__TEMPERATURE": "1"},
        lock_path=v1_dir / "sessions.lock.json",
    )
    shown = [str(d) for d in result.diagnostics]
    assert any(
        s.startswith("RTCONFIG__SUPPORT__VOICE: warning")
        and "RTCONFIG__SUPPORT__AUDIO__OUTPUT__VOICE" in s
        for s in shown
    ), shown
    assert any("RTCONFIG__SUPPORT__TEMPERATURE" in s and "no GA equivalent" in s for s in shown)
    assert any("sessions.lock.json:4:" in s and "rtconfig lock" in s for s in shown), shown


def test_a_ga_file_is_nothing_to_migrate(tmp_path: pathlib.Path) -> None:
    """A GA file is left as it is: exit 0, 'nothing to migrate', no diff."""
    (tmp_path / "s.toml").write_text('[templates.a]\ntype = "realtime"\n')
    out = run("migrate", "s.toml", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "") and "nothing to migrate" in out.stderr


def test_bad_input_is_a_diagnostic_not_a_traceback(tmp_path: pathlib.Path) -> None:
    """A TOML syntax error or a missing file exits 1 with file:line, never a traceback."""
    (tmp_path / "s.toml").write_text("[templates.a\n")
    bad = run("migrate", "s.toml", cwd=tmp_path)
    assert bad.returncode == 1 and "s.toml:1:" in bad.stderr and "Traceback" not in bad.stderr
    missing = run("migrate", "nope.toml", cwd=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    both = run("migrate", "s.toml", "--write", "--check", cwd=tmp_path)
    assert both.returncode == 2


def run(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rtconfig", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **TODAY},
        check=False,
    )


# --- a generated corpus of beta files (hypothesis) ---------------------------------------------

VOICES = st.sampled_from(["alloy", "verse", "marin"])
FORMATS = st.sampled_from(["pcm16", "g711_ulaw", "g711_alaw"])
VAD = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("server_vad")},
        optional={"threshold": st.sampled_from([0.3, 0.5]), "silence_duration_ms": st.just(400)},
    ),
    st.fixed_dictionaries({"threshold": st.sampled_from([0.4, 0.6])}),  # no type: server VAD
)
SEMANTIC = st.fixed_dictionaries(
    {"type": st.just("semantic_vad")}, optional={"eagerness": st.sampled_from(["low", "high"])}
)
SESSION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["gpt-realtime-2.1", "gpt-realtime", "gpt-realtime-2.1-mini"]),
    "modalities": st.sampled_from([["audio", "text"], ["text"], ["audio"], ["text", "audio"]]),
    "instructions": st.sampled_from(["Be brief.", "Sois bref. ☺"]),
    "voice": VOICES,
    "speed": st.sampled_from([0.8, 1.0, 1.25]),
    "input_audio_format": FORMATS,
    "output_audio_format": FORMATS,
    "input_audio_transcription": st.fixed_dictionaries(
        {"model": st.sampled_from(["gpt-transcribe", "whisper-1"])},
        optional={"language": st.just("en")},
    ),
    "input_audio_noise_reduction": st.fixed_dictionaries(
        {"type": st.sampled_from(["near_field", "far_field"])}
    ),
    "turn_detection": st.one_of(VAD, SEMANTIC),
    "temperature": st.sampled_from([0.6, 0.8, 1.2]),
    "max_response_output_tokens": st.one_of(st.integers(1, 4096), st.just("inf")),
    "tracing": st.one_of(st.just("auto"), st.just({"workflow_name": "w"})),
    "expires_after": st.fixed_dictionaries(
        {"anchor": st.just("created_at"), "seconds": st.integers(10, 7200)}
    ),
}
TRANSCRIPTION_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "input_audio_format": FORMATS,
    "input_audio_transcription": SESSION_FIELDS["input_audio_transcription"],
    "input_audio_noise_reduction": SESSION_FIELDS["input_audio_noise_reduction"],
    "turn_detection": VAD,
    "include": st.just(["item.input_audio_transcription.logprobs"]),
    "expires_after": SESSION_FIELDS["expires_after"],
}


@st.composite
def beta_files(draw: st.DrawFn) -> tuple[str, bool]:
    """A beta sessions.toml (and whether it relies on v1's default endpoint)."""
    transcription = draw(st.booleans())
    fields = TRANSCRIPTION_FIELDS if transcription else SESSION_FIELDS
    placement = draw(
        st.sampled_from(["api", "template", "v1"] if not transcription else ["api", "template"])
    )
    endpoint = "realtime/transcription_sessions" if transcription else "realtime/sessions"
    data: dict[str, Any] = {}
    if placement == "api":
        data["api"] = {"endpoint": endpoint}
    names = [f"t{i}" for i in range(draw(st.integers(1, 3)))]
    templates: dict[str, Any] = {}
    for index, name in enumerate(names):
        table: dict[str, Any] = {}
        parent = draw(st.sampled_from([None, *names[:index]]))
        if parent is not None:
            table["extends"] = parent
        elif placement == "template":
            table["endpoint"] = endpoint
        chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=6))
        if placement == "v1" and not set(chosen) & {"voice", "modalities", "speed", "temperature"}:
            chosen.append("voice")  # what makes a v1 file recognisably beta
        for key in chosen:
            table[key] = draw(fields[key])
        if not transcription and draw(st.booleans()):
            table["tools"] = [{"type": "function", "name": "lookup"}]
            table["tool_choice"] = draw(st.sampled_from(["lookup", "auto", "required"]))
        if parent is not None and draw(st.booleans()):
            table["unset"] = draw(
                st.lists(st.sampled_from(sorted(fields)), unique=True, min_size=1, max_size=2)
            )
        if draw(st.booleans()):
            table["null"] = [
                draw(st.sampled_from(["turn_detection", "input_audio_noise_reduction"]))
            ]
        if "instructions" not in table and not transcription and draw(st.booleans()):
            table["instructions_file"] = "prompt.md"
        templates[name] = table
    if len(names) > 1 and draw(st.booleans()):
        templates[names[0]]["abstract"] = True
    data["templates"] = templates
    environments: dict[str, Any] = {}
    for env in draw(st.lists(st.sampled_from(["staging", "prod"]), unique=True, max_size=2)):
        overlays: dict[str, Any] = {}
        if draw(st.booleans()):
            key = draw(st.sampled_from(sorted(fields)))
            overlays["*"] = {key: draw(fields[key])}
        target = draw(st.sampled_from(names))
        key = draw(st.sampled_from(sorted(fields)))
        overlays[target] = {key: draw(fields[key])}
        environments[env] = {"templates": overlays}
    if environments:
        data["environments"] = environments
    return tomli_w.dumps(data), placement == "v1"


@settings(
    max_examples=int(os.environ.get("RTCONFIG_MIGRATE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(beta_files())
def test_generated_beta_files_migrate_exactly(case: tuple[str, bool]) -> None:
    """Hypothesis corpus: any valid beta file (every layer, null/unset, instructions_file,
    expires_after, both beta endpoints, v1's implicit default) migrates exactly."""
    text, v1 = case
    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp)
        (base / "prompt.md").write_text("From a file.\n")
        try:
            rendered(text, base, v1=v1)
        except AssertionError:
            return  # the generator made an invalid beta file (e.g. tool_choice without tools)
        assert_migrates_exactly(text, base, v1=v1)


def test_beta_turn_detection_with_the_other_vad_types_keys_is_refused_at_its_line(
    tmp_path: pathlib.Path,
) -> None:
    """A child switching its parent's semantic_vad to server_vad keeps the parent's eagerness:
    GA's server_vad has no eagerness, so the beta file is refused (validate, not migrate later),
    at the line that set it, with the fix; the same for server_vad keys under semantic_vad."""
    text = (
        '[api]\nendpoint = "realtime/sessions"\n'
        '[templates.base]\nabstract = true\nmodel = "gpt-4o-realtime-preview"\n'
        'turn_detection = { type = "semantic_vad", eagerness = "low" }\n'
        '[templates.child]\nextends = "base"\nturn_detection.type = "server_vad"\n'
        '[templates.other]\nmodel = "gpt-4o-realtime-preview"\n'
        "turn_detection = { threshold = 0.5 }\n"
        '[templates.semantic]\nmodel = "gpt-4o-realtime-preview"\n'
        'turn_detection = { type = "semantic_vad", silence_duration_ms = 300 }\n'
    )
    (tmp_path / "s.toml").write_text(text)
    out = run("validate", "s.toml", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert (
        "s.toml:6:43: error: child: turn_detection.eagerness: is used only by semantic_vad turn "
        "detection (type is 'server_vad'): remove it, or set type = \"semantic_vad\""
    ) in out.stderr
    assert (
        "s.toml:15:43: error: semantic: turn_detection.silence_duration_ms: is used only by "
        "server_vad turn detection (type is 'semantic_vad')"
    ) in out.stderr
    assert "other: turn_detection" not in out.stderr  # threshold, type unset (server_vad): fine
    assert "base:" not in out.stderr  # abstract: never rendered by itself


def test_inline_template_tables_and_header_sub_tables_migrate(tmp_path: pathlib.Path) -> None:
    """Templates written as inline tables, and beta sub-tables with their own headers."""
    inline = (
        '[api]\nendpoint = "realtime/sessions"\n[templates]\n'
        'a = { voice = "alloy", modalities = ["text"], turn_detection = { threshold = 0.5 } }\n'
    )
    migrated, _ = assert_migrates_exactly(inline, tmp_path)
    assert "audio.output.voice" in migrated
    headers = (
        '[templates.a]\nvoice = "alloy"\n[templates.a.turn_detection]\nthreshold = 0.5\n'
        '[templates.a.input_audio_transcription]\nmodel = "gpt-transcribe"\n'
    )
    migrated, _ = assert_migrates_exactly(headers, tmp_path, v1=True)
    assert "[templates.a.audio.input.transcription]" in migrated


def test_what_migrate_cannot_rewrite_is_an_error_not_a_traceback(tmp_path: pathlib.Path) -> None:
    """A template made of top-level dotted keys is refused with advice; nothing is written."""
    text = 'templates.a.voice = "alloy"\ntemplates.a.speed = 1.0\n'
    (tmp_path / "s.toml").write_text(text)
    out = run("migrate", "s.toml", "--write", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "s.toml:1:1: error: a: template 'a' is written with dotted keys" in out.stderr
    assert (tmp_path / "s.toml").read_text() == text


# --- tables in parts: tomlkit's out-of-order proxies --------------------------------------------

OUT_OF_ORDER_GA = """\
[templates.a]
type = "realtime"
model = "gpt-realtime"  # pinned

[environments.prod.templates.a]
model = "gpt-realtime-mini"

[templates.b]
type = "realtime"
model = "gpt-4o-realtime-preview"

[environments.dev.templates.b]
instructions = "Be brief."
"""


def test_models_replaces_models_in_tables_that_come_after_an_environments_table(
    tmp_path: pathlib.Path,
) -> None:
    """--models finds every template and overlay when ``[templates.b]`` follows an
    ``[environments…]`` table (and ``environments`` itself is split by it), keeping comments."""
    result = migrate_text(
        OUT_OF_ORDER_GA, "sessions.toml", base_dir=tmp_path, environ=TODAY, models=True
    )
    assert result.ok, [str(d) for d in result.diagnostics]
    assert 'model = "gpt-realtime-2.1"  # pinned' in result.migrated
    assert 'model = "gpt-realtime-2.1-mini"' in result.migrated  # the prod overlay
    assert result.migrated.count('model = "gpt-realtime-2.1"\n') == 1  # template b
    assert "gpt-4o-realtime-preview" not in result.migrated
    assert result.migrated.splitlines()[4] == "[environments.prod.templates.a]"  # order kept
    rendered(result.migrated, tmp_path)  # still valid


OUT_OF_ORDER_BETA = """\
[api]
endpoint = "realtime/sessions"

[templates.a]
model = "gpt-realtime-2.1"
input_audio_format = "pcm16"
voice = "alloy"

[environments.prod.templates.a]
input_audio_format = "g711_ulaw"

[templates.b]
model = "gpt-realtime-2.1"
voice = "alloy"

[environments.dev.templates.b]
voice = "marin"
"""


def test_overlays_in_an_environments_table_split_by_templates_migrate_exactly(
    tmp_path: pathlib.Path,
) -> None:
    """Plain migrate rewrites the overlays of ``[environments…]`` tables separated by a
    ``[templates…]`` table (they were skipped, and the result refused), exactly."""
    migrated, _ = assert_migrates_exactly(OUT_OF_ORDER_BETA, tmp_path)
    assert '[environments.dev.templates.b]\naudio.output.voice = "marin"' in migrated
    assert 'audio.input.format = {type = "audio/pcmu"}' in migrated


@pytest.mark.parametrize(
    ("text", "header", "line"),
    [
        (
            '[api]\nendpoint = "realtime/sessions"\n\n[templates.a]\nmodel = "gpt-realtime"\n\n'
            '[environments.prod.templates.a]\nvoice = "alloy"\n\n'
            '[templates.a.turn_detection]\ntype = "server_vad"\n',
            "templates.a",
            4,
        ),
        (
            '[api]\nendpoint = "realtime/sessions"\n\n[templates.a]\nmodel = "gpt-realtime"\n\n'
            '[environments.prod.templates.a]\nvoice = "alloy"\n\n[templates.b]\n'
            'model = "gpt-realtime"\n\n[environments.prod.templates.a.turn_detection]\n'
            'type = "server_vad"\n',
            "environments.prod.templates.a",
            7,
        ),
    ],
    ids=["template", "overlay"],
)
def test_a_layer_split_in_parts_is_refused_with_advice_not_a_traceback(
    tmp_path: pathlib.Path, text: str, header: str, line: int
) -> None:
    """A beta template or overlay whose sub-table comes after another table is an error at its
    header that says how to fix it; nothing is written."""
    (tmp_path / "s.toml").write_text(text)
    out = run("migrate", "s.toml", "--write", cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "internal" not in out.stderr
    assert f"s.toml:{line}:1: error:" in out.stderr
    assert "in parts with other tables between them" in out.stderr
    assert f"move its keys under one [{header}] header, its sub-tables right after it" in (
        out.stderr
    )
    assert (tmp_path / "s.toml").read_text() == text
