"""Audit sinks where platforms collect logs (issue 15, item 5): a FIFO, a pipe through
/dev/stdout, and stdlib logging, all with the file's redaction; none fsynced (nothing to sync)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rtconfig.audit import REDACTED, AuditLog, LoggingAudit

KEY = "sk-AUDITSINK-apikey-0123456789abcdef0123456789"
TOKEN = "ek_sinktoken0123456789abcdef"

SESSIONS = """\
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"

[templates.sales]
type = "realtime"
model = "gpt-realtime"
"""


def _apply(tmp_path: Path, audit: str, **popen: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "sessions.toml"
    path.write_text(SESSIONS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RTCONFIG", "OPENAI"))}
    return subprocess.run(
        [sys.executable, "-m", "rtconfig", "apply", str(path), "--emulate", "--audit-log", audit],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **popen,  # type: ignore[arg-type]
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_apply_writes_its_audit_to_a_fifo_a_collector_reads(tmp_path: Path) -> None:
    """`--audit-log` naming a FIFO (a log collector reading it) works: apply exits 0 and the
    reader gets whole JSON records, from apply.started to apply.finished."""
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    # The reader must be there before apply opens the FIFO (as a collector would be).
    thread = threading.Thread(target=read)
    thread.start()
    done = _apply(tmp_path, str(fifo))
    thread.join(timeout=60)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in received[0].decode().splitlines()]
    events = [record["event"] for record in records]
    assert events[0] == "apply.started" and events[-1] == "apply.finished"
    assert events.count("mint.succeeded") == 2
    assert fifo.exists() and not fifo.is_file()  # still a FIFO: not replaced, not chmod-ed


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_nobody_reads_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    """A FIFO without a reader would block apply forever: it is refused at once (exit 1,
    "nobody is reading"), not hung on."""
    fifo = tmp_path / "audit.fifo"
    os.mkfifo(fifo)
    done = _apply(tmp_path, str(fifo))
    assert done.returncode == 1, done.stderr
    assert "nobody is reading" in done.stderr
    assert "Traceback" not in done.stderr


def test_apply_writes_its_audit_to_dev_stdout(tmp_path: Path) -> None:
    """`--audit-log /dev/stdout` (stdout a pipe, as under a container runtime) works: the
    records go to stdout beside the results, and apply exits 0."""
    done = _apply(tmp_path, "/dev/stdout")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"timestamp"')]
    assert [json.loads(line)["event"] for line in lines][-1] == "apply.finished"


def test_a_regular_file_is_still_fsynced_and_a_pipe_is_not(tmp_path: Path) -> None:
    """AuditLog knows which it has: a regular file (fsynced) or a stream (never fsynced)."""
    with AuditLog(tmp_path / "audit.jsonl") as log:
        assert log.regular_file is True
        log.emit("x")
    read_fd, write_fd = os.pipe()
    try:
        with AuditLog(f"/dev/fd/{write_fd}") as stream:
            assert stream.regular_file is False
            stream.emit("through.a.pipe", n=1)
            stream.sync()  # no fsync of a pipe: nothing to raise
        record = json.loads(os.read(read_fd, 65536).decode().splitlines()[0])
        assert record["event"] == "through.a.pipe"
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_logging_sink_sends_the_same_redacted_records(caplog: pytest.LogCaptureFixture) -> None:
    """LoggingAudit logs each record as its JSON line on the `rtconfig.audit` logger (fields in
    `record.audit`), with the file's standard fields and the file's redaction: registered
    secrets, key-like values and credential-named keys never reach a handler."""
    caplog.set_level(logging.INFO, logger="rtconfig.audit")
    audit = LoggingAudit(actor="backend", environ={})
    audit.add_secret(TOKEN)
    audit.emit("mint.succeeded", template="support", note=f"got {TOKEN}", api_key=KEY, k=KEY)
    audit.close()
    (record,) = [r for r in caplog.records if r.name == "rtconfig.audit"]
    text = record.getMessage()
    assert TOKEN not in text and KEY not in text
    fields = record.audit  # type: ignore[attr-defined]
    assert json.loads(text) == fields
    assert fields["event"] == "mint.succeeded" and fields["actor"] == "backend"
    assert {"timestamp", "run_id", "event_id", "rtconfig_version"} <= set(fields)
    assert fields["api_key"] == REDACTED and REDACTED in fields["note"]
    assert KEY not in fields["k"]


def test_logging_sink_plugs_into_the_applier(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A backend passes LoggingAudit where AuditLog goes (the applier's `audit=`): its mints
    are logged, the minted token never is."""
    import rtconfig
    from rtconfig.testing import Emulator

    caplog.set_level(logging.INFO, logger="rtconfig.audit")
    file = tmp_path / "sessions.toml"
    file.write_text(SESSIONS)
    with Emulator() as api:
        plan = rtconfig.load(file).plan(environ=api.environ(), base_url=api.base_url)
        with rtconfig.Applier(environ=api.environ(), audit=LoggingAudit()) as applier:
            result = applier.mint(plan.templates[0])
    assert result.ok and result.client_secret
    logged = [r.getMessage() for r in caplog.records if r.name == "rtconfig.audit"]
    assert any('"event":"mint.succeeded"' in line for line in logged)
    assert not any(result.client_secret in line for line in logged)
