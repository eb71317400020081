"""The audit log's durability: written at emit, survives kill -9, fsynced in groups, on close."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rtconfig.audit import AuditLog, read_audit_log

KILLED_AFTER_EMIT = """
import os, signal, sys
from rtconfig.audit import AuditLog
audit = AuditLog(sys.argv[1], fsync_interval_s=3600)
for i in range(50):
    audit.emit("mint.succeeded", i=i)
os.kill(os.getpid(), signal.SIGKILL)
"""


class _CountingFsync:
    """Stands in for ``os.fsync`` (the OS boundary): counts calls, can fail."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self._real = os.fsync

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.fail:
            raise OSError(errno.EIO, "Input/output error")
        self._real(fd)


def test_every_record_survives_kill_9_right_after_emit(tmp_path: Path) -> None:
    """A record is in the file when emit returns, fsynced or not: kill -9 loses none."""
    path = tmp_path / "audit.jsonl"
    proc = subprocess.run([sys.executable, "-c", KILLED_AFTER_EMIT, str(path)], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert [r["i"] for r in read_audit_log(path, strict=True)] == list(range(50))


def test_records_share_fsyncs_and_close_syncs_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of records costs far fewer fsyncs than records; close() fsyncs what is pending."""
    fsync = _CountingFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    with AuditLog(tmp_path / "audit.jsonl", fsync_interval_s=10.0) as audit:
        for i in range(200):
            audit.emit("mint.succeeded", i=i)
        before_close = fsync.calls
    # The syncer's first fsync (then it waits out the interval), and close()'s last one.
    assert fsync.calls <= 2
    assert fsync.calls > before_close
    assert len(read_audit_log(tmp_path / "audit.jsonl", strict=True)) == 200


def test_sync_fsyncs_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sync() puts everything emitted so far on stable storage before it returns."""
    fsync = _CountingFsync()
    with AuditLog(tmp_path / "audit.jsonl", fsync_interval_s=10.0) as audit:
        audit.emit("apply.started")
        monkeypatch.setattr(os, "fsync", fsync)
        audit.sync()
        assert fsync.calls == 1


def test_interval_zero_fsyncs_each_record_before_emit_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync_interval_s=0 keeps one fsync per record, inside emit."""
    fsync = _CountingFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    with AuditLog(tmp_path / "audit.jsonl", fsync_interval_s=0) as audit:
        for i in range(5):
            audit.emit("mint.succeeded", i=i)
            assert fsync.calls == i + 1


def test_fsync_false_never_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fsync=False writes every record and never fsyncs, not even on close."""
    fsync = _CountingFsync()
    monkeypatch.setattr(os, "fsync", fsync)
    with AuditLog(tmp_path / "audit.jsonl", fsync=False) as audit:
        audit.emit("apply.started")
        audit.sync()
    assert fsync.calls == 0
    assert len(read_audit_log(tmp_path / "audit.jsonl")) == 1


def test_a_failed_background_fsync_is_raised_by_the_next_emit_and_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An fsync error is never silent: the next emit raises it, and so does close."""
    fsync = _CountingFsync(fail=True)
    monkeypatch.setattr(os, "fsync", fsync)
    audit = AuditLog(tmp_path / "audit.jsonl", fsync_interval_s=0.001)
    audit.emit("apply.started")
    deadline = time.monotonic() + 10
    with pytest.raises(OSError, match="audit log fsync failed"):
        while time.monotonic() < deadline:  # until the background fsync has failed
            audit.emit("mint.succeeded")
            time.sleep(0.005)
    with pytest.raises(OSError, match="audit log fsync failed"):
        audit.close()
    events = [r["event"] for r in read_audit_log(tmp_path / "audit.jsonl", strict=True)]
    assert events[0] == "apply.started" and events[1:] == ["mint.succeeded"] * (len(events) - 1)


def test_negative_interval_is_refused(tmp_path: Path) -> None:
    """fsync_interval_s < 0 is a programming error, refused before the file is opened."""
    with pytest.raises(ValueError, match="fsync_interval_s"):
        AuditLog(tmp_path / "audit.jsonl", fsync_interval_s=-1)
    assert not (tmp_path / "audit.jsonl").exists()


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_every_mint_is_in_the_file_when_mint_all_returns(tmp_path: Path, engine: str) -> None:
    """Both engines write each mint's record before handing its token back: when mint_all
    returns, with the log still open, the file holds one success per token, none fsync-gated."""
    import asyncio

    from rtconfig import Applier, AsyncApplier
    from rtconfig._endpoints import Endpoint
    from rtconfig.audit import secret_fingerprint
    from rtconfig.testing import Emulator
    from tests._apply_helpers import API_KEY, make_job

    path = tmp_path / "audit.jsonl"
    with Emulator() as api, AuditLog(path, fsync_interval_s=3600) as audit:
        job = make_job(base_url=api.base_url, endpoint=Endpoint.CLIENT_SECRETS)
        environ = {"OPENAI_API_KEY": API_KEY}
        if engine == "async":

            async def run() -> list[str]:
                async with AsyncApplier(audit=audit, environ=environ, concurrency=8) as a:
                    results = await a.mint_all([job] * 24)
                return [r.client_secret for r in results if r.client_secret]

            tokens = asyncio.run(run())
        else:
            with Applier(audit=audit, environ=environ, concurrency=8) as a:
                tokens = [r.client_secret for r in a.mint_all([job] * 24) if r.client_secret]
        records = read_audit_log(path, strict=True)  # before close(): no final fsync yet
    assert len(tokens) == 24
    succeeded = [r["secret_fingerprint"] for r in records if r["event"] == "mint.succeeded"]
    assert sorted(succeeded) == sorted(secret_fingerprint(t) for t in tokens)
    assert [r["event"] for r in records][:: len(records) - 1] == ["apply.started", "apply.finished"]
