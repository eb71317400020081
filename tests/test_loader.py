"""Loading: TOML syntax errors at file:line:col, and the line of every key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rtconfig._errors import ConfigError
from rtconfig._loader import MAX_FILE_BYTES, parse_document, read_document

WriteToml = Callable[..., Path]

EVERY_SHAPE = '''\
# comment with [brackets] and = signs
[api]
endpoint = "realtime/client_secrets"

[templates.base]
"quoted key" = 1.5e3
when = 1979-05-27 07:32:00Z
ml = """
a "quoted" [thing] = {x}
"""
lit = \'\'\'x = [1]\'\'\'
expires_after = { anchor = "created_at", seconds = 600 }

[templates.base.audio.output]
voice = "alloy"

[templates.support]
audio.output.speed = 1.1
tools = [
  { type = "function", name = "a" },
  { type = "function", name = "b", parameters = { type = "object" } },
]

[[templates.other.tools]]
name = "first"
parameters = { type = "object", properties = { id = { type = "string" } } }

[templates.other.tools.extra]
x = 1

[[templates.other.tools]]
name = "second"
'''


def test_positions_of_every_toml_shape() -> None:
    """Standard tables, dotted keys, inline tables, arrays and arrays of tables are indexed."""
    doc = parse_document(EVERY_SHAPE, "s.toml")
    pos = doc.positions
    assert pos[("api", "endpoint")] == (3, 1)
    assert pos[("templates", "base")] == (5, 1)
    assert pos[("templates", "base", "quoted key")] == (6, 1)
    assert pos[("templates", "base", "when")] == (7, 1)
    assert pos[("templates", "base", "lit")] == (11, 1)
    assert pos[("templates", "base", "expires_after", "seconds")] == (12, 42)
    assert pos[("templates", "base", "audio", "output", "voice")] == (15, 1)
    assert pos[("templates", "support", "audio", "output", "speed")] == (18, 1)
    assert pos[("templates", "support", "tools", 1, "parameters", "type")][0] == 21
    assert pos[("templates", "other")] == (24, 1)
    assert pos[("templates", "other", "tools", 0, "parameters", "properties", "id")][0] == 26
    assert pos[("templates", "other", "tools", 0, "extra", "x")] == (29, 1)
    assert pos[("templates", "other", "tools", 1, "name")] == (32, 1)
    assert doc.data["templates"]["other"]["tools"][1] == {"name": "second"}


def test_position_falls_back_to_nearest_ancestor() -> None:
    """A path inside a value (e.g. an array element's key) resolves to its closest indexed key."""
    doc = parse_document("[t]\nx = [1, 2]\n", "s.toml")
    assert doc.line(("t", "x", 1, "deeper")) == 2


def test_syntax_error_reports_line_and_column() -> None:
    """A TOML syntax error is a ConfigError at file:line:col, never a traceback."""
    with pytest.raises(ConfigError) as caught:
        parse_document("[t]\nvoice = marin\n", "s.toml")
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == ("s.toml", 2, 9)
    assert str(diagnostic).startswith("s.toml:2:9: error: invalid TOML: ")


def test_duplicate_key_is_a_syntax_error() -> None:
    """Defining a key twice is reported with its line, as TOML requires."""
    with pytest.raises(ConfigError) as caught:
        parse_document("[t]\na = 1\na = 2\n", "s.toml")
    assert caught.value.diagnostics[0].line == 3


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a clear error naming it."""
    with pytest.raises(ConfigError, match="no such file"):
        read_document(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with the line they are on."""
    path = tmp_path / "s.toml"
    path.write_bytes(b'[t]\nx = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        read_document(path)
    assert caught.value.diagnostics[0].line == 2
    assert "UTF-8" in caught.value.diagnostics[0].message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file beyond the size limit is refused with a message naming the limit."""
    path = tmp_path / "s.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match=str(MAX_FILE_BYTES)):
        read_document(path)


TRICKY_LINES = """\
"a{b=" = { x = 1, "y.z" = "s = {", w = 1979-05-27 07:32:00Z }
top = true # a comment
[t."u.v"]  # header with a comment
k = 'lit' # c
"q k" . r = 2
  indented.key = -1_000.5e3
empty = ""
ml = '''
a = 1
[not.a.header]
'''
m = \"\"\"
b = 2\"\"\"
arr = [
  { c = 1 },
  "d = 1",
]
nested = { inner = { deep = 1 }, flat = 2 }
[[aot]]
n = 1
[[aot]]
n = 2
[ spaced . header ]
z = 'q'
"""


@pytest.mark.parametrize("text", [EVERY_SHAPE, TRICKY_LINES], ids=["every-shape", "tricky-lines"])
def test_fast_line_path_indexes_what_the_token_path_does(text: str) -> None:
    """The one-match-per-line fast path of the position pass records exactly the positions the
    token-by-token walk records (headers, dotted and quoted keys, one-line inline tables)."""
    from rtconfig._loader import _index_positions

    fast = dict(_index_positions(text))
    assert fast == dict(_index_positions(text, fast=False))
    assert len(fast) > 10


def test_fast_path_positions_of_tricky_lines() -> None:
    """Keys after a quoted key holding '{' and '=', inside one-line inline tables and after a
    multi-line string that looks like TOML are located at their own line and column."""
    pos = parse_document(TRICKY_LINES, "s.toml").positions
    assert pos[("a{b=",)] == (1, 1)
    assert pos[("a{b=", "y.z")] == (1, 19)
    assert pos[("t", "u.v", "q k", "r")] == (5, 1)
    assert pos[("t", "u.v", "indented", "key")] == (6, 3)
    assert ("t", "u.v", "a") not in pos and ("not",) not in pos
    assert pos[("t", "u.v", "nested", "inner", "deep")] == (18, 22)
    assert pos[("aot", 1, "n")] == (22, 1)
    assert pos[("spaced", "header", "z")] == (24, 1)
