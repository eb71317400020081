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
import contextlib
import re
import tomllib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtconfig._codes import DiagnosticCode as C
from rtconfig._errors import ConfigError, ConfigFileNotFoundError
from rtconfig._files import SESSIONS_TOML, FileProblem, FileRefused, read_file
from rtconfig._keys import KeyPath

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING_DEPTH",
    "Document",
    "KeyPath",
    "PositionIndex",
    "deeper_than",
    "parse_document",
    "read_document",
]


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
    _positions: list[PositionIndex] = field(default_factory=list, repr=False, compare=False)

    @property
    def positions(self) -> PositionIndex:
        if not self._positions:
            self._positions.append(_index_positions(self.text))
        return self._positions[0]

    def position(self, path: KeyPath) -> tuple[int, int] | None:
        """Where ``path`` (or, failing that, its nearest indexed ancestor) is written."""
        return self.positions.nearest(path)

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
        elif exc.problem is FileProblem.MISSING:
            raise ConfigFileNotFoundError(file, exc.message) from None
        elif exc.problem is FileProblem.IS_DIRECTORY:
            message = "is a directory, not a TOML file"
        else:
            message = exc.message
        raise ConfigError.single(message, code=exc.code, file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError.single(
            "file is not valid UTF-8", code=C.FILE_UNREADABLE, file=file, line=line
        ) from None
    return parse_document(text, file)


_TOML_ERROR = re.compile(r"^(?P<msg>.*?)(?: \(at line (?P<line>\d+), column (?P<col>\d+)\))?$")


def parse_document(text: str, file: str) -> Document:
    """Parse TOML text; a syntax error is reported at its line and column."""
    long_key = long_key_offset(text)
    if long_key is not None:
        raise ConfigError.single(
            f"a dotted key or table header has more than {MAX_NESTING_DEPTH} parts: tables "
            f"would nest more than {MAX_NESTING_DEPTH} levels deep (the limit)",
            code=C.LIMIT_EXCEEDED,
            file=file,
            line=text.count("\n", 0, long_key) + 1,
            col=long_key - text.rfind("\n", 0, long_key),
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR.match(str(exc).splitlines()[0] if str(exc) else "")
        assert match is not None  # the pattern matches any line
        line = int(match["line"]) if match["line"] else None
        col = int(match["col"]) if match["col"] else None
        message = match["msg"] or "invalid TOML"
        raise ConfigError.single(
            f"invalid TOML: {message[0].lower()}{message[1:]}",
            code=C.TOML_SYNTAX,
            file=file,
            line=line,
            col=col,
        ) from None
    except RecursionError:
        raise ConfigError.single(
            f"invalid TOML: tables and arrays nest too deeply (the limit is {MAX_NESTING_DEPTH} "
            "levels; Python's recursion limit was reached first)",
            code=C.LIMIT_EXCEEDED,
            file=file,
        ) from None
    document = Document(file=file, data=data, text=text)
    deep = deeper_than(data, MAX_NESTING_DEPTH)
    if deep is not None:
        found = document.position(deep)
        raise ConfigError.single(
            f"tables and arrays nest more than {MAX_NESTING_DEPTH} levels deep (the limit)",
            code=C.LIMIT_EXCEEDED,
            file=file,
            line=found[0] if found else None,
            col=found[1] if found else None,
        )
    return document


def deeper_than(value: Any, limit: int) -> KeyPath | None:
    """The path of a table or array nested more than ``limit`` levels deep in ``value``, or None.

    Iterative, so that it can judge values too deep for a recursive walk. A first walk goes
    level by level (no path, no tuple per node); only a value found too deep is walked again
    for its path.
    """
    level: list[Any] = [value]
    depth = 0
    while level:
        below: list[Any] = []
        for node in level:
            if node.__class__ is dict or (node.__class__ is not list and isinstance(node, dict)):
                below.extend(node.values())
            elif isinstance(node, list):
                below.extend(node)
            else:
                continue
            if depth >= limit:
                return _deep_path(value, limit)
        level = below
        depth += 1
    return None


def _deep_path(value: Any, limit: int) -> KeyPath | None:
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

# Every repetition is possessive (``*+``, ``++``): sre keeps no backtracking frame per character,
# so a 15 MB string costs its own size, not gigabytes. The text is valid TOML, so no token ever
# needs to give characters back. A bare token takes a whole dotted run (``a.b.c``, ``1.5e3``,
# a date-time's fraction): one token per key, however many parts.
_TOKEN = re.compile(
    r"""
    (?:[ \t\r]++|\#[^\n]*+)*+  # white space and comments: skipped inside each match
    (?:
      (?P<nl>\n)
    | (?P<mlbasic>\"\"\"(?:[^"\\]++|\\.|"(?!""))*+\"\"\"\"{0,2})
    | (?P<mlliteral>'''(?:[^']++|'(?!''))*+''''{0,2})
    | (?P<basic>"(?:[^"\\\n]++|\\.)*+")
    | (?P<literal>'[^'\n]*+')
    | (?P<punct>[\[\]{}=,.])
    | (?P<bare>[^\s\[\]{}=,.\#"']++(?:\.[^\s\[\]{}=,.\#"']++)*+)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
# The position pass's fast path: most lines of a sessions.toml are a table header or a key with a
# one-line scalar value, and each becomes one match (its newline included) instead of four or
# five tokens. Only at the start of a line, where valid TOML is at table level (an array's
# elements are values, never `key =`; an inline table is one line; a multi-line string is one
# token): every other line takes the token path as before.
_KEY_PART = r"""(?:[A-Za-z0-9_-]++|"[^"\\\n]*+"|'[^'\n]*+')"""
_LINE_KEY = rf"{_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART})*+"
_BARE_SCALAR = r"[0-9A-Za-z_+\-:.]++(?:[ ][0-9A-Za-z_+\-:.]++)?"  # numbers, booleans, dates
_SCALAR = rf"""(?:"(?:[^"\\\n]++|\\.)*+"|'[^'\n]*+'|{_BARE_SCALAR})"""
# ... and a key whose value is a one-line inline table of scalars: `x = { a = 1, b = "c" }`.
_INLINE_PAIR = rf"{_LINE_KEY}[ \t]*+=[ \t]*+{_SCALAR}"
_PAIR = re.compile(rf"(?P<key>{_LINE_KEY})[ \t]*+=[ \t]*+{_SCALAR}")
_OPENING = re.compile(rf"(?P<key>{_LINE_KEY})[ \t]*+=[ \t]*+\{{")
_FAST_TOKEN = re.compile(
    r"(?<![^\n])[ \t]*+"
    rf"(?:(?P<kv>{_LINE_KEY})[ \t]*+=[ \t]*+{_SCALAR}"
    rf"|(?P<kvtable>{_LINE_KEY}[ \t]*+=[ \t]*+\{{[ \t]*+{_INLINE_PAIR}"
    rf"(?:[ \t]*+,[ \t]*+{_INLINE_PAIR})*+[ \t]*+\}})"
    rf"|(?P<header>\[(?!\[)[ \t]*+{_LINE_KEY}[ \t]*+\]))"
    r"[ \t\r]*+(?:\#[^\n]*+)?(?:\n|\Z)"
    "|" + _TOKEN.pattern,
    re.VERBOSE | re.DOTALL,
)
_PART = re.compile(r"""[A-Za-z0-9_-]+|"([^"\\\n]*)"|'([^'\n]*)'""")
_BARE_WITH_SPACE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}")
_EOF = ("eof", "", -1)
# A line with this many dots may hold a dotted key or header too long to hand to tomllib.
_MANY_DOTS = re.compile(r"^(?:[^.\n]*+\.){" + str(MAX_NESTING_DEPTH) + "}", re.MULTILINE)


def _tokens(text: str, fast: bool = False) -> Iterator[tuple[str, str, int]]:
    for m in (_FAST_TOKEN if fast else _TOKEN).finditer(text):
        kind = m.lastgroup
        if kind is not None:  # None: trailing white space or a comment at the very end
            yield kind, m.group(kind), m.start(kind)


def long_key_offset(text: str, limit: int = MAX_NESTING_DEPTH) -> int | None:
    """Where a dotted key or table header of more than ``limit`` parts starts, or None.

    Run before ``tomllib``, whose bookkeeping is quadratic in a key's parts (a 40,000-part key
    took 37 s and 9 GB). Linear: a cheap count rules out almost every file; only a line with
    ``limit`` dots or more makes it walk the tokens, stopping at the first chain too long.
    """
    if text.count(".") < limit or _MANY_DOTS.search(text) is None:
        return None
    parts = 0
    start = 0
    after_dot = False
    for kind, token, offset in _tokens(text):
        if kind in ("bare", "basic", "literal"):
            count = 1 + (token.count(".") if kind == "bare" else 0)
            if after_dot:
                parts += count
            else:
                parts, start = count, offset
            after_dot = False
            if parts > limit:
                return start
        elif token == "." and parts:
            after_dot = True
        else:
            parts, after_dot = 0, False
    return None


def _unquote(kind: str, token: str) -> str:
    if kind == "literal":
        return token[1:-1]
    # A quoted key: let tomllib decode escapes exactly as it did for the data.
    return next(iter(tomllib.loads(f"{token} = 0")))


def _line_key(key: str) -> list[str]:
    """The parts of a key matched by the fast path (bare, or quoted without escapes)."""
    return [
        m[1] if m[1] is not None else m[2] if m[2] is not None else m[0]
        for m in _PART.finditer(key)
    ]


class _Node:
    """One key path in the index: a trie, so recording a key costs its own parts only (the
    table it sits in is a node already), never a copy of every prefix. A key with a one-line
    scalar value (most keys) is stored as its bare ``(line, column)``, not as a node."""

    __slots__ = ("aot_last", "children", "pos")

    def __init__(self, pos: tuple[int, int] | None = None) -> None:
        self.pos = pos
        self.children: dict[str | int, _Node | tuple[int, int]] | None = None
        self.aot_last: int | None = None  # for an array of tables: its last element's index


class PositionIndex(Mapping[KeyPath, tuple[int, int]]):
    """Read-only view of the index: ``index[path]`` is the (line, column) where ``path`` starts."""

    def __init__(self, root: _Node) -> None:
        self._root = root

    def __getitem__(self, path: KeyPath) -> tuple[int, int]:
        node: _Node | tuple[int, int] | None = self._root
        for part in path:
            children = node.children if isinstance(node, _Node) else None
            node = children.get(part) if children else None
            if node is None:
                raise KeyError(path)
        if isinstance(node, tuple):
            return node
        if node is None or node.pos is None:
            raise KeyError(path)
        return node.pos

    def nearest(self, path: KeyPath) -> tuple[int, int] | None:
        """Where ``path``, or failing that its nearest indexed ancestor, starts."""
        node, found = self._root, None
        for part in path:
            step = node.children.get(part) if node.children else None
            if step is None:
                break
            if isinstance(step, tuple):
                return step
            node = step
            found = node.pos or found
        return found

    def __iter__(self) -> Iterator[KeyPath]:
        stack: list[tuple[KeyPath, _Node | tuple[int, int]]] = [((), self._root)]
        while stack:
            path, node = stack.pop()
            if isinstance(node, tuple):
                yield path
                continue
            if node.pos is not None and path:
                yield path
            for part, child in (node.children or {}).items():
                stack.append(((*path, part), child))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Scanner:
    """Walks valid TOML once, recording the start of every key path."""

    def __init__(self, text: str, fast: bool = True) -> None:
        self._stream = _tokens(text, fast=fast)
        self._buffer: deque[tuple[str, str, int]] = deque()
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.root = _Node()

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def child(self, node: _Node, part: str | int, offset: int) -> _Node:
        """``node``'s child ``part``, recorded at ``offset`` unless it was written earlier."""
        if node.children is None:
            node.children = {}
        found = node.children.get(part)
        if found is None:
            found = node.children[part] = _Node(self.pos(offset))
        elif isinstance(found, tuple):  # a scalar's key met again (never in valid TOML)
            found = node.children[part] = _Node(found)
        elif found.pos is None:
            found.pos = self.pos(offset)
        return found

    def leaf(self, node: _Node, parts: list[str], offset: int) -> None:
        """A key with a one-line scalar value: its last part is stored as a bare position."""
        for part in parts[:-1]:
            node = self.child(node, part, offset)
        if node.children is None:
            node.children = {}
        if parts[-1] not in node.children:
            node.children[parts[-1]] = self.pos(offset)

    def peek(self, ahead: int = 0) -> tuple[str, str, int]:
        buffer = self._buffer
        while len(buffer) <= ahead:
            token = next(self._stream, None)
            if token is None:
                return _EOF
            buffer.append(token)
        return buffer[ahead]

    def take(self) -> tuple[str, str, int]:
        if self._buffer:
            return self._buffer.popleft()
        return next(self._stream, _EOF)

    def skip(self, count: int = 1) -> None:
        for _ in range(count):
            self.take()

    def skip_newlines(self) -> None:
        while self.peek()[0] == "nl":
            self.take()

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
                # A bare key, dotted or not; floats like `1.5` never appear in key position.
                parts.extend(token.split("."))
            if self.peek()[1] != ".":
                return parts
            self.take()

    def inline_table(self, table: _Node, token: str, offset: int) -> None:
        """``key = { a = 1, b = 2 }`` as the fast path matched it: the key, then each pair."""
        opening = _OPENING.match(token)
        assert opening is not None  # the fast path matched this shape
        node = table
        for part in _line_key(opening["key"]):
            node = self.child(node, part, offset)
        for pair in _PAIR.finditer(token, opening.end()):
            self.leaf(node, _line_key(pair["key"]), offset + pair.start())

    def expand(self, node: _Node, parts: list[str], offset: int) -> _Node:
        """A header's node, stepping into the current element after each array of tables."""
        for part in parts:
            node = self.child(node, part, offset)
            if node.aot_last is not None:
                node = self.child(node, node.aot_last, offset)
        return node

    def run(self) -> None:
        table = self.root
        while True:
            self.skip_newlines()
            kind, token, offset = self.peek()
            if kind == "eof":
                return
            if kind == "kv":
                self.take()
                self.leaf(table, _line_key(token), offset)
                continue
            if kind == "kvtable":
                self.take()
                self.inline_table(table, token, offset)
                continue
            if kind == "header":
                self.take()
                table = self.expand(self.root, _line_key(token[1:-1]), offset)
                continue
            # `[[` opens an array-of-tables header only here, at the start of a line: inside a
            # value (`x = [[1]]`) it is two arrays, so the tokens are single brackets.
            if token == "[" and self.peek(1) == ("punct", "[", offset + 1):
                self.skip(2)
                parts = self.key()
                self.skip(2)  # ]]
                if not parts:
                    return
                parent = self.expand(self.root, parts[:-1], offset)
                array = self.child(parent, parts[-1], offset)
                array.aot_last = 0 if array.aot_last is None else array.aot_last + 1
                table = self.child(array, array.aot_last, offset)
            elif token == "[":
                self.skip()
                parts = self.key()
                self.skip()  # ]
                table = self.expand(self.root, parts, offset)
            else:
                self.key_value(table)

    def key_value(self, table: _Node) -> None:
        offset = self.peek()[2]
        node = table
        for part in self.key():
            node = self.child(node, part, offset)
        self.skip()  # =
        self.value(node)

    def value(self, node: _Node) -> None:
        kind, token, _ = self.take()
        if token == "{":
            while self.peek()[1] != "}" and self.peek()[0] != "eof":
                self.skip_newlines()
                if self.peek()[1] == "}" or self.peek()[0] == "eof":
                    break
                self.key_value(node)
                self.skip_newlines()
                if self.peek()[1] == ",":
                    self.skip()
            self.skip()
        elif token == "[":
            index = 0
            while True:
                self.skip_newlines()
                if self.peek()[1] == "]" or self.peek()[0] == "eof":
                    self.skip()
                    return
                self.value(self.child(node, index, self.peek()[2]))
                index += 1
                self.skip_newlines()
                if self.peek()[1] == ",":
                    self.skip()
        elif kind == "bare":
            # A float's fraction and exponent, or the time after a date, arrive as further tokens.
            while self.peek()[1] == "." or (
                _BARE_WITH_SPACE_DATETIME.fullmatch(token) and self.peek()[0] == "bare"
            ):
                token = self.take()[1]


def _index_positions(text: str, fast: bool = True) -> PositionIndex:
    """Index every key of ``text``; ``fast=False`` walks every line token by token (the fast
    path's reference: both must index the same positions)."""
    scanner = _Scanner(text, fast)
    # Asked for from deep in the stack about a value nested nearly as deep as tomllib allows:
    # keys after it lose their line (diagnostics keep their message), nothing fails.
    with contextlib.suppress(RecursionError):
        scanner.run()
    return PositionIndex(scanner.root)
