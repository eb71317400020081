"""Shared helpers of the reliability and security tests (test_fuzz, test_limits, test_faults,
test_secrets, test_transport, test_audit_concurrency): clean-exit assertions, deadlines,
subprocess runs of the real CLI, and the loopback servers the fault tests script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from rtconfig._cli import main
from rtconfig.audit import read_audit_log, secret_fingerprint

# A recognisable API key: it must appear nowhere but where a test puts it.
CANARY_KEY = "sk-test-LEAKCANARY-0123456789abcdefABCDEF"

GA_HEAD = '[api]\nendpoint = "realtime/client_secrets"\n\n[templates.t]\ntype = "realtime"\n'

INTERNAL_ERROR = "this is a bug in rtconfig"

# Figures for the closing note, printed at the end of a run by conftest.py: inputs tried,
# faults injected, audit records checked, secrets searched for and leaks found.
STATS: Counter[str] = Counter()


def assert_clean(exit_code: int, stdout: str, stderr: str, allowed: Sequence[int] = (0, 1)) -> None:
    """A run ended in success or a clean diagnostic: an allowed exit code, no traceback, and no
    "internal error … this is a bug" message."""
    assert INTERNAL_ERROR not in stderr, stderr[-2000:]
    assert "Traceback (most recent call last)" not in stdout + stderr, stderr[-2000:]
    assert exit_code in allowed, f"exit {exit_code}: {stderr[-2000:]}"


def cli(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    allowed: Sequence[int] = (0, 1),
    **kwargs: Any,
) -> Result:
    """Run the CLI in-process and assert that it ended cleanly (exit 0 or 1, or ``allowed``)."""
    result = CliRunner().invoke(main, list(args), env=env, **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args[0]} raised {result.exception!r}") from result.exception
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed)
    return result


def subprocess_env(**extra: str) -> dict[str, str]:
    """The test's environment without OPENAI_*/RTCONFIG_* variables, plus ``extra``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RTCONFIG_"))}
    environ.update(extra)
    return environ


def rtconfig_command(*args: str, memory_limit: int | None = None) -> list[str]:
    """``python -m rtconfig ARGS``, optionally under an address-space limit (bytes)."""
    if memory_limit is None:
        return [sys.executable, "-m", "rtconfig", *args]
    code = (
        "import resource, runpy, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({memory_limit}, {memory_limit}))\n"
        "sys.argv = ['rtconfig', *sys.argv[1:]]\n"
        "runpy.run_module('rtconfig', run_name='__main__')\n"
    )
    return [sys.executable, "-c", code, *args]


def run_rtconfig(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess and capture its output as text."""
    memory_limit = kwargs.pop("memory_limit", None)
    return subprocess.run(
        rtconfig_command(*args, memory_limit=memory_limit),
        env=subprocess_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


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


class RawServer:
    """A loopback TCP server whose every connection is handled by ``handle(conn)`` in a thread:
    for misbehaviour an HTTP server cannot script (resets mid-response, trickled bodies)."""

    def __init__(self, handle: Callable[[socket.socket], None], *, backlog: int = 16) -> None:
        self._handle = handle
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self.connections = 0
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/v1"

    def __enter__(self) -> RawServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        with suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close does not)
        self._socket.close()
        self._accepter.join(timeout=5)
        for conn in list(self._open):
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # ends reads blocked on idle keep-alives
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        self._open.add(conn)
        try:
            with conn, suppress(OSError):
                self._handle(conn)
        finally:
            self._open.discard(conn)


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def check_run(
    exit_code: int,
    document: dict[str, Any],
    audit: Path,
    issued: list[str] | None = None,
    signum: int | None = None,
    strict: bool = True,
    expected_exit: int | None = None,
) -> dict[str, list[str]]:
    """Exit code, stdout JSON and audit log agree on which templates were minted; every record
    is there exactly once; every token the server issued reached stdout. Returns the names."""
    run_id = document["run_id"]
    records = [r for r in read_audit_log(audit, strict=strict) if r["run_id"] == run_id]
    STATS["audit records checked"] += len(records)
    results = document["results"]
    minted = [r["template"] for r in results if r["ok"]]
    failed = [r["template"] for r in results if not r["ok"]]
    events = Counter(r["event"] for r in records)
    assert events["apply.started"] == 1 and events["apply.finished"] == 1
    assert records[0]["event"] == "apply.started" and records[-1]["event"] == "apply.finished"
    succeeded = [r["template"] for r in records if r["event"] == "mint.succeeded"]
    assert sorted(succeeded) == sorted(minted) and len(set(succeeded)) == len(succeeded)
    assert sorted(r["template"] for r in records if r["event"] == "mint.failed") == sorted(failed)
    finished = records[-1]
    assert (finished["minted"], finished["count"]) == (len(minted), len(results))
    retrying = Counter(r["template"] for r in records if r["event"] == "mint.retrying")
    for result in results:
        assert retrying[result["template"]] == max(result["attempts"] - 1, 0), result
    by_template = {r["template"]: r for r in records if r["event"] == "mint.succeeded"}
    for result in results:
        if result["ok"]:
            record = by_template[result["template"]]
            assert record["secret_fingerprint"] == secret_fingerprint(result["client_secret"])
    if issued is not None:
        assert sorted(issued) == sorted(r["client_secret"] for r in results if r["ok"])
    expected = 128 + signum if signum is not None else (0 if not failed else 3)
    expected = expected if expected_exit is None else expected_exit
    assert exit_code == expected, (exit_code, expected)
    assert document.get("interrupted", False) is (signum is not None)
    return {"minted": minted, "failed": failed}
