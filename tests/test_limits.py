"""Resource limits: inputs that would blow up are handled in linear time or refused, naming the
limit. (100-level chains and exponential diamonds are proven in test_resolver.py:
``test_hundred_level_chain_resolves``, ``test_too_deep_chain_is_refused_with_the_limit``,
``test_exponential_diamond_graph_is_linear``.)"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner

from rtconfig.cli import main
from rtconfig.loader import parse_document

T = TypeVar("T")

GA = '[api]\nendpoint = "realtime/client_secrets"\n\n[templates.t]\ntype = "realtime"\n'


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(main, args, env=env)
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.output + result.stderr
    return result


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


# -- the lazy position scanner -----------------------------------------------------------------


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
    path.write_text(GA + "tracing = { metadata = { x = [[1]], y = [[[2]], 3] } }\n")
    with deadline(20):
        explained = cli(["explain", str(path), "t", "--json"])
    assert explained.exit_code == 0, explained.stderr
    assert '"line": 6' in explained.stdout


def test_scanner_asked_from_a_deep_stack_degrades_to_unknown_lines() -> None:
    """Positions asked for with little stack left lose lines past the deep value, never fail."""
    depth = 250
    text = "a = 1\nx = " + "{a = " * depth + "1" + "}" * depth + "\nz = 2\n"
    document = parse_document(text, "f.toml")
    positions = in_deep_stack(40, lambda: document.positions)
    assert positions[("a",)] == (1, 1) and ("z",) not in positions
    assert document.line(("z",)) is None  # asked again: the same partial index, no error
