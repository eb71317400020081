"""Loading: a TOML file becomes a :class:`Document` that knows the line of every key.

``tomllib`` (the standard library) is the authority on syntax and values, and its error messages
carry line and column. It keeps no positions, so a small scanner walks the already-valid text
once and indexes where every key path starts: standard tables, arrays of tables, dotted keys,
inline tables and arrays. Because the text is known to be valid, the scanner only has to find
structure (brackets, keys, strings to skip), never to judge it; one regex per token keeps it fast.
This beats a third-party parser: tomlkit keeps no line numbers either, and a second full parser
would be a second authority on what TOML means.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtconfig._errors import ConfigError
from rtconfig._files import SESSIONS_TOML, FileProblem, FileRefused, read_file

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING_DEPTH",
    "Document",
    "KeyPath",
    "deeper_than",
    "parse_document",
    "read_document",
]

KeyPath = tuple[str | int, ...]

# Hard limit on what rtconfig will read: a sessions.toml is hand-written configuration.
MAX_FILE_BYTES = SESSIONS_TOML.max_bytes
# How deeply tables and arrays may nest, in the file and in RTCONFIG__/--set values. Real files
# nest a handful of levels (a tool's JSON Schema a few dozen); the limit keeps every recursive
# walk after loading far from Python's recursion limit, wherever the caller's stack stands.
MAX_NESTING_DEPTH = 100


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed TOML file: its data and the (line, column) of every key path in it.

    Positions are indexed on first use: validating a valid file never needs them.
    """

    file: str
    data: dict[str, Any]
    text: str = field(repr=False)
    _positions: list[dict[KeyPath, tuple[int, int]]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def positions(self) -> dict[KeyPath, tuple[int, int]]:
        if not self._positions:
            self._positions.append(_index_positions(self.text))
        return self._positions[0]

    def position(self, path: KeyPath) -> tuple[int, int] | None:
        """Where ``path`` (or, failing that, its nearest indexed ancestor) is written."""
        for end in range(len(path), 0, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return None

    def line(self, path: KeyPath) -> int | None:
        found = self.position(path)
        return found[0] if found else None


def read_document(path: str | Path, display: str | None = None) -> Document:
    """Read and parse a TOML file; errors become a :class:`ConfigError` at ``file:line:col``."""
    file = display if display is not None else str(path)
    try:
        raw = read_file(path, SESSIONS_TOML)
    except FileRefused as exc:
        if exc.problem is FileProblem.TOO_LARGE:
            shown = (
                f"{exc.size} bytes" if exc.size is not None else f"more than {MAX_FILE_BYTES} bytes"
            )
            message = f"file is {shown}; rtconfig reads at most {MAX_FILE_BYTES} bytes (16 MiB)"
        elif exc.problem is FileProblem.IS_DIRECTORY:
            message = "is a directory, not a TOML file"
        else:
            message = exc.message
        raise ConfigError.single(message, file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError.single("file is not valid UTF-8", file=file, line=line) from None
    return parse_document(text, file)


_TOML_ERROR = re.compile(r"^(?P<msg>.*?)(?: \(at line (?P<line>\d+), column (?P<col>\d+)\))?$")


def parse_document(text: str, file: str) -> Document:
    """Parse TOML text; a syntax error is reported at its line and column."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR.match(str(exc).splitlines()[0] if str(exc) else "")
        assert match is not None  # the pattern matches any line
        line = int(match["line"]) if match["line"] else None
        col = int(match["col"]) if match["col"] else None
        message = match["msg"] or "invalid TOML"
        raise ConfigError.single(
            f"invalid TOML: {message[0].lower()}{message[1:]}", file=file, line=line, col=col
        ) from None
    except RecursionError:
        raise ConfigError.single(
            f"invalid TOML: tables and arrays nest too deeply (the limit is {MAX_NESTING_DEPTH} "
            "levels; Python's recursion limit was reached first)",
            file=file,
        ) from None
    document = Document(file=file, data=data, text=text)
    deep = deeper_than(data, MAX_NESTING_DEPTH)
    if deep is not None:
        found = document.position(deep)
        raise ConfigError.single(
            f"tables and arrays nest more than {MAX_NESTING_DEPTH} levels deep (the limit)",
            file=file,
            line=found[0] if found else None,
            col=found[1] if found else None,
        )
    return document


def deeper_than(value: Any, limit: int) -> KeyPath | None:
    """The path of a table or array nested more than ``limit`` levels deep in ``value``, or None.

    Iterative, so that it can judge values too deep for a recursive walk.
    """
    stack: list[tuple[KeyPath, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if len(path) >= limit:
            return path
        stack.extend(((*path, key), child) for key, child in children)
    return None


# --- the position scanner --------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<ws>[ \t\r]+)
    | (?P<nl>\n)
    | (?P<comment>\#[^\n]*)
    | (?P<mlbasic>\"\"\"(?:[^\\]|\\.)*?\"\"\"\"{0,2})
    | (?P<mlliteral>'''.*?''''{0,2})
    | (?P<basic>"(?:[^"\\\n]|\\.)*")
    | (?P<literal>'[^'\n]*')
    | (?P<punct>[\[\]{}=,.])
    | (?P<bare>[^\s\[\]{}=,.\#"']+(?:\.(?=\d)[^\s\[\]{}=,\#"']*)*)
    """,
    re.VERBOSE | re.DOTALL,
)
_BARE_WITH_SPACE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}")


def _unquote(kind: str, token: str) -> str:
    if kind == "literal":
        return token[1:-1]
    # A quoted key: let tomllib decode escapes exactly as it did for the data.
    return next(iter(tomllib.loads(f"{token} = 0")))


class _Scanner:
    """Walks valid TOML once, recording the start of every key path."""

    def __init__(self, text: str) -> None:
        self.tokens = [
            (m.lastgroup or "", m.group(), m.start())
            for m in _TOKEN.finditer(text)
            if m.lastgroup not in ("ws", "comment")
        ]
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        # Arrays of tables seen so far: expanded path -> index of the last element.
        self.aot_last: dict[KeyPath, int] = {}

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def record(self, path: KeyPath, offset: int) -> None:
        self.positions.setdefault(path, self.pos(offset))

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "", -1)

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        self.i += 1
        return token

    def skip_newlines(self) -> None:
        while self.peek()[0] == "nl":
            self.i += 1

    def key(self) -> list[str]:
        """A possibly dotted key."""
        parts: list[str] = []
        while True:
            kind, token, _ = self.take()
            if kind == "eof":
                return parts
            if kind in ("basic", "literal"):
                parts.append(_unquote(kind, token))
            else:
                # A bare key; floats like `1.5` never appear in key position.
                parts.extend(token.split("."))
            if self.peek()[1] != ".":
                return parts
            self.i += 1

    def expand(self, parts: list[str]) -> KeyPath:
        """A header's path, with the current element index inserted after each array of tables."""
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            last = self.aot_last.get(path)
            if last is not None:
                path = (*path, last)
        return path

    def run(self) -> dict[KeyPath, tuple[int, int]]:
        table: KeyPath = ()
        while True:
            self.skip_newlines()
            kind, token, offset = self.peek()
            if kind == "eof":
                return self.positions
            # `[[` opens an array-of-tables header only here, at the start of a line: inside a
            # value (`x = [[1]]`) it is two arrays, so the tokens are single brackets.
            following = self.tokens[self.i + 1 : self.i + 2]
            if token == "[" and following == [("punct", "[", offset + 1)]:
                self.i += 2
                parts = self.key()
                self.i += 2  # ]]
                parent = self.expand(parts[:-1])
                array = (*parent, parts[-1])
                index = self.aot_last.get(array, -1) + 1
                self.aot_last[array] = index
                self._record_prefixes(array, len(array) - len(parts) + 1, offset)
                table = (*array, index)
                self.record(table, offset)
            elif token == "[":
                self.i += 1
                parts = self.key()
                self.i += 1  # ]
                table = self.expand(parts)
                self._record_prefixes(table, len(table) - len(parts) + 1, offset)
            else:
                self.key_value(table)

    def _record_prefixes(self, path: KeyPath, start: int, offset: int) -> None:
        for end in range(max(start, 1), len(path) + 1):
            self.record(path[:end], offset)

    def key_value(self, table: KeyPath) -> None:
        offset = self.peek()[2]
        parts = self.key()
        path = (*table, *parts)
        self._record_prefixes(path, len(table) + 1, offset)
        self.i += 1  # =
        self.value(path)

    def value(self, path: KeyPath) -> None:
        kind, token, _ = self.take()
        if token == "{":
            while self.peek()[1] != "}" and self.peek()[0] != "eof":
                self.skip_newlines()
                if self.peek()[1] == "}" or self.peek()[0] == "eof":
                    break
                self.key_value(path)
                self.skip_newlines()
                if self.peek()[1] == ",":
                    self.i += 1
            self.i += 1
        elif token == "[":
            index = 0
            while True:
                self.skip_newlines()
                if self.peek()[1] == "]" or self.peek()[0] == "eof":
                    self.i += 1
                    return
                self.record((*path, index), self.peek()[2])
                self.value((*path, index))
                index += 1
                self.skip_newlines()
                if self.peek()[1] == ",":
                    self.i += 1
        elif kind == "bare":
            # A float's fraction and exponent, or the time after a date, arrive as further tokens.
            while self.peek()[1] == "." or (
                _BARE_WITH_SPACE_DATETIME.fullmatch(token) and self.peek()[0] == "bare"
            ):
                token = self.take()[1]


def _index_positions(text: str) -> dict[KeyPath, tuple[int, int]]:
    scanner = _Scanner(text)
    try:
        return scanner.run()
    except RecursionError:
        # Asked for from deep in the stack about a value nested nearly as deep as tomllib
        # allows: keys after it lose their line (diagnostics keep their message), nothing fails.
        return scanner.positions
