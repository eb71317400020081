"""Hostile input that once cost quadratic time, gigabytes or a crash: long dotted keys and
headers, enormous strings, deep or undecodable overrides, header values that are not ASCII,
credentialed base URLs. Each is refused (or handled) with a bound in the test.

Memory bounds run the real CLI in a subprocess under ``RLIMIT_AS`` (1 GiB: the interpreter and
rtconfig need about 60 MB; the old code needed 4–9 GB for these inputs).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rtconfig import Settings
from rtconfig._loader import MAX_NESTING_DEPTH, parse_document
from rtconfig.testing import Emulator
from tests._robust import CANARY_KEY, GA_HEAD, STATS, cli, run_rtconfig, subprocess_env

MEMORY = 1 << 30


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "line",
    [
        ".".join(["k"] * 40_000) + " = 1",
        "[" + ".".join(["k"] * 40_000) + "]",
        "[[" + ".".join(['"k"'] * 20_000) + "]]",
        "x = { " + " . ".join(["k"] * 40_000) + " = 1 }",
    ],
    ids=["dotted-key", "header", "quoted-array-header", "inline-table-key"],
)
def test_a_key_of_forty_thousand_parts_is_refused_at_once(tmp_path: Path, line: str) -> None:
    """A 40,000-part dotted key or table header (80 KB; it took 37 s and 9.4 GB) is refused
    before tomllib sees it: exit 1 at its line within 30 s under a 1 GiB address-space limit."""
    path = _write(tmp_path, GA_HEAD + line + "\n")
    started = time.monotonic()
    result = run_rtconfig("validate", str(path), memory_limit=MEMORY, timeout=30)
    STATS["hostile inputs tried"] += 1
    assert result.returncode == 1, result.stderr
    assert "sessions.toml:6:" in result.stderr
    assert f"more than {MAX_NESTING_DEPTH} parts" in result.stderr
    assert time.monotonic() - started < 30


def test_dots_inside_strings_and_comments_are_not_keys() -> None:
    """The pre-scan counts only keys: 200-part dotted runs inside strings, multi-line strings
    and comments are valid TOML and load."""
    run = ".".join(["k"] * 200)
    text = (
        f'a = "{run}"\nb = """\n{run}\n"""\nc = \'{run}\'\n# {run}\n'
        f"d = '''{run}'''\n[t]\nx = 1.5\n"
    )
    document = parse_document(text, "f.toml")
    assert document.data["a"] == run and document.line(("t", "x")) == 9


def test_the_position_scanner_is_linear_in_deep_headers() -> None:
    """Locating keys under 5,000 headers of 90 parts each (nearly 1 MB) takes seconds, not the
    quadratic cost of copying every prefix of every path (about 10 s before)."""
    prefix = ".".join(["k"] * 90)
    text = "".join(f"[{prefix}.t{i}]\nx = 1\n" for i in range(5000))
    document = parse_document(text, "f.toml")
    started = time.perf_counter()
    assert document.line((*["k"] * 90, "t4999", "x")) == 10_000
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "value",
    [
        '"' + "abcd" * 3_700_000 + '"',
        '"""' + 'ab"c\n' * 3_000_000 + '"""',
        "'''" + "ab'c\n" * 3_000_000 + "'''",
        "'" + "abcd" * 3_700_000 + "'",
    ],
    ids=["basic", "multi-line basic", "multi-line literal", "literal"],
)
def test_a_fifteen_megabyte_string_costs_linear_memory(tmp_path: Path, value: str) -> None:
    """A 15 MB string followed by a mistake (so positions are needed) is located and reported
    under a 1 GiB address-space limit (the token regex once took 4.4 GB) within 120 s."""
    path = _write(tmp_path, GA_HEAD + f"instructions = {value}\nvoicee = 1\n")
    result = run_rtconfig("validate", str(path), memory_limit=MEMORY, timeout=120)
    STATS["hostile inputs tried"] += 1
    assert result.returncode == 1, result.stderr
    lines = value.count("\n")
    assert f"sessions.toml:{7 + lines}:1: error: t: voicee: unknown field" in result.stderr


def test_an_override_path_a_thousand_levels_deep_is_refused(tmp_path: Path) -> None:
    """`--set` and `RTCONFIG__` paths of 1,000 parts (a RecursionError, exit 70, before) are
    diagnostics naming the nesting limit, exit 1."""
    path = _write(tmp_path, GA_HEAD + 'model = "gpt-realtime"\n')
    deep = ".".join(["a"] * 1000)
    for args, env in (
        (["validate", str(path), "--set", f"t.{deep}=1"], None),
        (["plan", str(path)], {"RTCONFIG__T__" + "__".join(["A"] * 1000): "1"}),
    ):
        result = cli(args, env=env)
        STATS["hostile inputs tried"] += 1
        assert result.exit_code == 1, result.stderr
        assert f"nests more than {MAX_NESTING_DEPTH} levels deep" in result.stderr


@pytest.mark.parametrize("command", ["validate", "render", "plan", "lock", "apply"])
def test_an_override_value_that_is_not_utf8_is_refused_at_parse_time(
    tmp_path: Path, command: str
) -> None:
    """An invalid UTF-8 byte in an RTCONFIG__ value or --set value (it passed validate and
    crashed plan, lock and apply with exit 70) is a diagnostic at parse time in every command."""
    path = _write(tmp_path, GA_HEAD + 'model = "gpt-realtime"\n')
    args = [command, str(path)] + (["t"] if command == "render" else [])
    args += ["--dry-run"] if command == "apply" else []
    env = subprocess_env(RTCONFIG__T__INSTRUCTIONS="x")
    for extra, variables in (
        ([], {"RTCONFIG__T__INSTRUCTIONS": b"caf\xe9".decode("utf-8", "surrogateescape")}),
        (["--set", "t.instructions=caf\udce9"], {}),
        ([], {"RTCONFIG__T__INSTRUCTIONS": '"\\ud800"'}),  # a JSON escape of a lone surrogate
    ):
        if command == "lock" and extra:
            continue  # lock takes no --set
        result = run_rtconfig(*args, *extra, env={**env, **variables}, timeout=60)
        STATS["hostile inputs tried"] += 1
        assert result.returncode == 1, result.stderr
        assert "not valid UTF-8" in result.stderr or "lone surrogate" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("organization", "Acmé", "not ASCII (U+00E9)"),
        ("project", "proj\r\nX-Evil: 1", "a line break (CR or LF)"),
        ("organization", "org\u201d", "not ASCII (U+201D)"),
    ],
)
def test_header_settings_that_are_not_ascii_are_refused_by_validate(
    tmp_path: Path, setting: str, value: str, why: str
) -> None:
    """`organization`/`project` that are not printable ASCII (they crashed apply, exit 70, and
    left no apply.finished) are refused by validate at their line; in Settings, a ValueError."""
    escaped = value.replace("\r", "\\r").replace("\n", "\\n")
    path = _write(tmp_path, f'[api]\n{setting} = "{escaped}"\n[templates.t]\nmodel = "m"\n')
    result = cli(["validate", str(path)])
    assert result.exit_code == 1
    assert "sessions.toml:2:1" in result.stderr and why in result.stderr
    with pytest.raises(ValueError, match="printable ASCII"):
        Settings(**{setting: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [
        CANARY_KEY + "\u201d",
        "\u201c" + CANARY_KEY,
        CANARY_KEY + "\r\nX-Evil: 1",
        CANARY_KEY[:-1] + "é",
    ],
    ids=["smart-quote-after", "smart-quote-before", "crlf", "accent"],
)
def test_an_api_key_that_cannot_be_a_header_is_refused_before_sending(
    tmp_path: Path, key: str
) -> None:
    """A key pasted with smart quotes, an accent or a CR/LF makes apply exit 1 ('nothing was
    sent', not 70 and not a retried connection error); the key is not printed and the
    emulator saw no request."""
    path = _write(tmp_path, GA_HEAD + 'model = "gpt-realtime"\n')
    audit = tmp_path / "audit.jsonl"
    with Emulator() as api:
        env = subprocess_env(OPENAI_API_KEY=key, OPENAI_BASE_URL=api.base_url)
        result = run_rtconfig("apply", str(path), "--audit-log", str(audit), env=env, timeout=60)
        assert api.requests == []
    STATS["hostile inputs tried"] += 1
    assert result.returncode == 1, result.stderr
    assert "the API key in OPENAI_API_KEY holds" in result.stderr
    assert "nothing was sent" in result.stderr
    assert CANARY_KEY[8:] not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2secret@api.example.com/v1",
        "HTTPS://user:hunter2secret@api.example.com/v1",
        " https://user:hunter2secret@api.example.com/v1",
        "\thttps://user:hunter2secret@api.example.com/v1",
        "ftp://user:hunter2secret@api.example.com/v1",
        "user:hunter2secret@api.example.com/v1",
        "hTTp://user:hunter2secret@localhost/v1",
    ],
)
def test_a_credentialed_base_url_is_refused_and_never_printed(tmp_path: Path, url: str) -> None:
    """A base URL with user:password@, whatever its scheme, case or leading space, is refused
    without printing the password — from [api], OPENAI_BASE_URL, --base-url and the library's
    Settings (which once wrote it to the audit log)."""
    toml_url = url.replace("\t", "\\t")
    path = _write(tmp_path, f'[api]\nbase_url = "{toml_url}"\n[templates.t]\nmodel = "m"\n')
    results = [cli(["validate", str(path)])]
    other = tmp_path / "other.toml"
    other.write_text('[templates.t]\nmodel = "m"\n')
    results.append(cli(["validate", str(other)], env={"OPENAI_BASE_URL": url}))
    results.append(cli(["apply", str(other), "--dry-run", "--base-url", url]))
    for result in results:
        STATS["hostile inputs tried"] += 1
        assert result.exit_code in (1, 2), result.stderr
        assert "hunter2secret" not in result.stdout + result.stderr
        assert "credentials" in result.stderr
    with pytest.raises(ValueError, match="credentials") as caught:
        Settings(base_url=url)
    assert "hunter2secret" not in str(caught.value)
