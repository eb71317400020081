"""Run ``rtconfig serve`` for real: a subprocess on a loopback ephemeral port, upstream the
emulator; read its startup line, access log and audit log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SERVE_TOKEN = "serve-token-0123456789abcdef"
OTHER_TOKEN = "other-token-fedcba9876543210"
WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODk="

BASE_TOML = """\
[api]
endpoint = "realtime/client_secrets"
max_retries = 0

[templates.base]
abstract = true
type = "realtime"
model = "gpt-realtime"
instructions = "Reviewed secret instructions."

[templates.support]
extends = "base"
tracing = "auto"

[templates.sales]
extends = "base"

[templates.unlisted]
extends = "base"
"""

SERVE_TOML = """\
[serve]
templates = ["support", "sales"]
allow_origins = ["https://app.example.com"]
tokens_env = "RTCONFIG_SERVE_TOKENS"
rate = "100/minute"
trace_caller = ["support"]
"""


# Read at import: the autouse clean_environment fixture clears RTCONFIG* before each test.
_REQUIRE_SYSTEM_DEPS = bool(os.environ.get("RTCONFIG_REQUIRE_SYSTEM_DEPS"))


def require(binary: str) -> str:
    """The path of a system binary; a clear skip locally, a failure where CI promised it."""
    found = shutil.which(binary)
    if found is None:
        reason = f"{binary} is not installed (apt-get install -y {binary})"
        if _REQUIRE_SYSTEM_DEPS:
            pytest.fail(reason + "; RTCONFIG_REQUIRE_SYSTEM_DEPS=1 makes this a failure")
        pytest.skip(reason)
    return found


class Served:
    """A running ``rtconfig serve`` process."""

    def __init__(self, proc: subprocess.Popen[str], url: str, line: str, folder: Path) -> None:
        self.proc = proc
        self.url = url
        self.startup_line = line
        self.folder = folder
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.pumps: list[threading.Thread] = []

    @property
    def audit_path(self) -> Path:
        return self.folder / ".rtconfig" / "audit.jsonl"

    def audit(self, event: str | None = None) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        records = [json.loads(line) for line in self.audit_path.read_text().splitlines() if line]
        return [r for r in records if event is None or r["event"] == event]

    def wait_audit(self, event: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.audit(event)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} {event!r} records in {self.audit()}")

    def audit_for(self, request_id: str, timeout: float = 10) -> dict[str, Any]:
        """The serve.request record of one request (waiting for it to be written)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.audit("serve.request"):
                if record.get("request_id") == request_id:
                    return record
            time.sleep(0.05)
        raise AssertionError(f"no serve.request record for {request_id}")

    def access_log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout if line.startswith("{")]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        finally:
            _close(self.proc, self.pumps)


def _close(proc: subprocess.Popen[str], pumps: list[threading.Thread]) -> None:
    """Let the pumps read to the end, then close the pipes."""
    for pump in pumps:
        pump.join(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _pump(stream: Any, sink: list[str]) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))


def start_server(
    folder: Path,
    toml: str,
    environ: Mapping[str, str],
    *args: str,
    timeout: float = 30,
) -> Served | subprocess.CompletedProcess[str]:
    """Start ``rtconfig serve`` in ``folder``; the running server, or the finished process when
    it refused to start."""
    path = folder / "sessions.toml"
    path.write_text(textwrap.dedent(toml), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("RTCONFIG", "OPENAI"))}
    env.update(environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtconfig", "serve", str(path), "--port", "0", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr: list[str] = []
    stdout: list[str] = []
    pumps = [
        threading.Thread(target=_pump, args=(proc.stderr, stderr), daemon=True),
        threading.Thread(target=_pump, args=(proc.stdout, stdout), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stderr:
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].split(";", 1)[0]
                served = Served(proc, url, line, folder)
                served.stdout, served.stderr, served.pumps = stdout, stderr, pumps
                return served
        if proc.poll() is not None:
            _close(proc, pumps)
            return subprocess.CompletedProcess(
                proc.args, proc.returncode, "\n".join(stdout), "\n".join(stderr)
            )
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    _close(proc, pumps)
    raise AssertionError(f"rtconfig serve did not start: {stderr}")


@contextmanager
def serving(folder: Path, toml: str, environ: Mapping[str, str], *args: str) -> Iterator[Served]:
    served = start_server(folder, toml, environ, *args)
    assert isinstance(served, Served), served
    try:
        yield served
    finally:
        served.stop()
