"""Editor support: `rtconfig schema` works with taplo (the engine of VS Code's Even Better TOML)
through `#:schema` and through a `.taplo.toml` rule, and taplo points at a typo's line.

taplo comes from the `taplo` PyPI package (a binary wheel, in the `test` extra). Its PyPI build
has no language server ("the LSP is not part of this build"), so completion itself is not
driven here; completion and hovers come from the same schema these checks validate with.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtconfig._cli import main

REPO = Path(__file__).resolve().parents[1]
TAPLO = shutil.which(
    "taplo", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
)
pytestmark = pytest.mark.skipif(
    TAPLO is None, reason="taplo is not installed: pip install -e '.[test]' provides it"
)

GOOD = """\
#:schema ./sessions.schema.json
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
instructions = "You are a helpful assistant."
expires_after = { anchor = "created_at", seconds = 600 }

[templates.support.audio.output]
voice = "marin"
speed = 1.1

[templates.push-to-talk]
extends = "support"
null = ["audio.input.turn_detection"]

[environments.production.templates.support]
audio.output.speed = 1.2
"""

ERROR_AT = re.compile(
    r"^error: (?P<message>.*)\n\s*┌─ (?P<file>.*?):(?P<line>\d+):(?P<col>\d+)$", re.M
)


def _schema(tmp_path: Path) -> None:
    """What the docs tell users to do: rtconfig schema > sessions.schema.json."""
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    (tmp_path / "sessions.schema.json").write_text(result.stdout)


def _taplo(cwd: Path, *files: str) -> tuple[int, list[tuple[str, int, int]]]:
    """Run `taplo check`; return its exit code and its errors as (message, line, col)."""
    assert TAPLO is not None
    done = subprocess.run(
        [TAPLO, "check", "--colors", "never", *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    output = done.stdout + done.stderr
    errors = [(m["message"], int(m["line"]), int(m["col"])) for m in ERROR_AT.finditer(output)]
    assert done.returncode == 0 or errors, output
    return done.returncode, errors


def _with_typo(tmp_path: Path, good: str, bad: str) -> int:
    """Write GOOD with one line changed; return that line's number."""
    lines = GOOD.splitlines()
    number = lines.index(good) + 1
    lines[number - 1] = bad
    (tmp_path / "sessions.toml").write_text("\n".join(lines) + "\n")
    return number


def test_a_good_file_passes(tmp_path: Path) -> None:
    """A valid sessions.toml with `#:schema ./sessions.schema.json` passes taplo."""
    _schema(tmp_path)
    (tmp_path / "sessions.toml").write_text(GOOD)
    assert _taplo(tmp_path, "sessions.toml") == (0, [])


def _one_error(errors: list[tuple[str, int, int]], line: int) -> str:
    """The single error taplo reported, which must be on ``line``; its message."""
    assert len(errors) == 1, errors
    assert errors[0][1] == line, errors
    return errors[0][0]


def test_a_misspelled_key_is_one_error_on_its_line(tmp_path: Path) -> None:
    """`modle = …` is ONE error, on its line, saying the key is unknown and listing the keys
    a template takes (`model` among them) — not every key of the table marked."""
    _schema(tmp_path)
    line = _with_typo(tmp_path, 'model = "gpt-realtime"', 'modle = "gpt-realtime"')
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    message = _one_error(errors, line)
    assert "unknown key" in message and "model" in message


@pytest.mark.parametrize(
    ("good", "bad", "named"),
    [
        ('voice = "marin"', 'voise = "marin"', "voice"),  # [templates.support.audio.output]
        ("speed = 1.1", "sped = 1.1", "speed"),
        (
            "audio.output.speed = 1.2",  # an environment overlay, a dotted key
            "audio.output.spede = 1.2",
            "speed",
        ),
    ],
)
def test_a_nested_typo_is_one_error_on_its_line(
    tmp_path: Path, good: str, bad: str, named: str
) -> None:
    """A typo under `audio` (which GA realtime, GA transcription and the beta endpoints shape
    differently) is one error on its line naming the keys that table takes, not 5–15
    identical "not valid under any of the schemas listed in the 'anyOf' keyword"."""
    _schema(tmp_path)
    line = _with_typo(tmp_path, good, bad)
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    message = _one_error(errors, line)
    assert "unknown key" in message and named in message
    assert "anyOf" not in message


EXTRA = """
[templates.vad.audio.input.turn_detection]
type = "server_vad"
silence_duration_ms = 200

[[templates.support.tools]]
type = "function"
name = "lookup"
parameters = { type = "object" }
"""


@pytest.mark.parametrize(
    ("good", "bad", "named"),
    [
        # a discriminated union (server_vad | semantic_vad), told apart by `type`
        ("silence_duration_ms = 200", "silense_duration_ms = 200", "unknown key"),
        ("silence_duration_ms = 200", 'eagerness = "low"', "eagerness is not"),
        # an array of tables (function | mcp tools)
        ('name = "lookup"', 'nmae = "lookup"', "unknown key"),
    ],
)
def test_typos_inside_unions_and_arrays_are_one_error(
    tmp_path: Path, good: str, bad: str, named: str
) -> None:
    """Inside turn_detection (server_vad or semantic_vad) and a tools entry, a typo is one
    error on its line; a key of the other union member (`eagerness` is semantic_vad's) is one
    error naming that key and the `type` that does not take it."""
    _schema(tmp_path)
    text = GOOD.replace(
        "[templates.push-to-talk]",
        '[templates.vad]\nextends = "support"\n\n[templates.push-to-talk]',
    )
    lines = (text + EXTRA).splitlines()
    number = lines.index(good) + 1
    lines[number - 1] = bad
    (tmp_path / "sessions.toml").write_text("\n".join(lines) + "\n")
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    message = _one_error(errors, number)
    assert named in message
    if named == "eagerness is not":
        assert "server_vad" in message


def test_a_key_of_another_endpoint_is_one_error_naming_it(tmp_path: Path) -> None:
    """A beta-only key (`voice` at the top) in a template of the GA endpoint, and a GA key
    (`audio`) in a template that names the beta endpoint, are each one error on its line naming
    the key and the endpoint (the endpoint comes from the template, else from [api])."""
    _schema(tmp_path)
    line = _with_typo(tmp_path, 'model = "gpt-realtime"', 'voice = "marin"')
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    message = _one_error(errors, line)
    assert "voice is not" in message and "realtime/client_secrets" in message
    old = (
        '[templates.old]\nmodel = "gpt-realtime"\nvoice = "marin"\noutput_modalities = ["audio"]\n'
    )
    (tmp_path / "sessions.toml").write_text("#:schema ./sessions.schema.json\n" + old)
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1  # no [api] endpoint: the default, realtime/client_secrets (GA)
    assert {at for _, at, _ in errors} == {4}
    assert all("voice is not" in m and "realtime/client_secrets" in m for m, _, _ in errors)
    beta = '#:schema ./sessions.schema.json\n[api]\nendpoint = "realtime/sessions"\n' + old
    (tmp_path / "sessions.toml").write_text(beta)
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1  # [api] names the beta endpoint
    assert {at for _, at, _ in errors} == {7}
    assert all("output_modalities is not" in m and "realtime/sessions" in m for m, _, _ in errors)


def test_a_transcription_session_refuses_realtime_keys(tmp_path: Path) -> None:
    """`type = "transcription"` templates refuse the realtime session's keys, one error on
    the key's line naming it and the session type."""
    _schema(tmp_path)
    text = GOOD + '\n[templates.scribe]\ntype = "transcription"\ninstructions = "x"\n'
    (tmp_path / "sessions.toml").write_text(text)
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    message = _one_error(errors, len(text.splitlines()))
    assert "instructions is not" in message and "transcription session" in message


def test_a_wrong_enum_value_fails_exactly_at_its_line(tmp_path: Path) -> None:
    """A value outside a closed set (`endpoint = "realtime/session"`) is reported once, at
    the value itself, listing the allowed values."""
    _schema(tmp_path)
    line = _with_typo(
        tmp_path, 'endpoint = "realtime/client_secrets"', 'endpoint = "realtime/session"'
    )
    code, errors = _taplo(tmp_path, "sessions.toml")
    assert code == 1
    assert errors == [(errors[0][0], line, 12)]
    assert "realtime/client_secrets" in errors[0][0]


def test_a_taplo_config_rule_works_without_the_comment(tmp_path: Path) -> None:
    """With a `.taplo.toml` rule mapping sessions.toml to the schema, no `#:schema` line is
    needed (the setup documented for teams that prefer one config file)."""
    _schema(tmp_path)
    (tmp_path / ".taplo.toml").write_text(
        '[[rule]]\ninclude = ["**/sessions.toml"]\n\n'
        '[rule.schema]\npath = "./sessions.schema.json"\n'
    )
    body = GOOD.replace("#:schema ./sessions.schema.json\n", "")
    (tmp_path / "sessions.toml").write_text(body)
    assert _taplo(tmp_path, "sessions.toml") == (0, [])
    (tmp_path / "sessions.toml").write_text(body.replace("voice =", "voise ="))
    assert _taplo(tmp_path, "sessions.toml")[0] == 1


def test_every_committed_sessions_toml_passes_with_its_schema_comment() -> None:
    """The root sessions.toml and every example reference docs/sessions.schema.json with a
    relative `#:schema` path that taplo resolves, and pass it."""
    files = [
        "sessions.toml",
        *sorted(str(p.relative_to(REPO)) for p in REPO.glob("examples/*/sessions.toml")),
    ]
    for name in files:
        first = (REPO / name).read_text().splitlines()[0]
        assert first.startswith("#:schema ") and first.endswith("docs/sessions.schema.json"), name
    assert _taplo(REPO, *files) == (0, [])


def test_the_schema_offers_what_completion_needs() -> None:
    """The schema gives editors keys, closed values and descriptions to complete and hover:
    template keys include the meta-keys and API fields, `endpoint` lists its values."""
    schema = json.loads((REPO / "docs" / "sessions.schema.json").read_text())
    template = schema["properties"]["templates"]["additionalProperties"]
    keys = set(template["properties"])
    assert {"extends", "abstract", "instructions_file", "null", "unset", "expires_after"} <= keys
    assert {"model", "audio", "tools", "instructions", "voice", "turn_detection"} <= keys
    assert template["additionalProperties"] is False
    endpoint = schema["properties"]["api"]["properties"]["endpoint"]
    assert set(endpoint["enum"]) == {
        "realtime/sessions",
        "realtime/client_secrets",
        "realtime/transcription_sessions",
        "realtime/translations/client_secrets",
    }
    assert template["properties"]["extends"].get("description")
