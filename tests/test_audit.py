"""The audit log (contract §7): fields, permissions, durability, redaction, local structlog."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from rtconfig._apply.engine import Applier
from rtconfig._apply.retry import RetryPolicy
from rtconfig._version import __version__
from rtconfig.audit import (
    REDACTED,
    AuditLog,
    Redactor,
    default_audit_path,
    read_audit_log,
    resolve_actor,
    secret_fingerprint,
)
from rtconfig.testing import Emulator, Fault
from tests._apply_helpers import API_KEY, FakeClock, Script, api_error, make_job

STANDARD = {"timestamp", "event", "run_id", "event_id", "actor", "rtconfig_version"}
MINT = {
    "template",
    "env",
    "endpoint",
    "base_url",
    "body_sha256",
    "attempt",
    "http_status",
    "request_id",
    "latency_ms",
}


def test_every_event_carries_the_contract_fields(tmp_path: Path) -> None:
    """apply.started, mint.retrying/succeeded/failed and apply.finished have every field."""
    log = tmp_path / "audit.jsonl"
    with Emulator() as api:
        api.inject(Fault.rate_limited(retry_after_ms=1))
        bad = make_job(template="bad", base_url=api.base_url, body={"session": {"type": "x"}})
        good = make_job(template="good", base_url=api.base_url, env="prod")
        with (
            AuditLog(log, run_id="run-1", environ={"RTCONFIG_ACTOR": "ci-bot"}) as audit,
            Applier(audit=audit, environ={"OPENAI_API_KEY": API_KEY}, concurrency=1) as applier,
        ):
            results = applier.mint_all([good, bad])
        token = api.tokens[0]
    records = read_audit_log(log, strict=True)
    assert [r["event"] for r in records] == [
        "apply.started",
        "mint.retrying",
        "mint.succeeded",
        "mint.failed",
        "apply.finished",
    ]
    for record in records:
        assert set(record) >= STANDARD, record
        assert record["run_id"] == "run-1" and record["actor"] == "ci-bot"
        assert record["rtconfig_version"] == __version__
        stamp = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
        assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert len({r["event_id"] for r in records}) == len(records)
    retrying, succeeded, failed = records[1:4]
    for record in (retrying, succeeded, failed):
        assert set(record) >= MINT, record
    assert (retrying["attempt"], retrying["http_status"]) == (1, 429)
    assert retrying["request_id"].startswith("req_") and retrying["delay_ms"] == 1.0
    assert succeeded["template"] == "good" and succeeded["env"] == "prod"
    assert succeeded["attempt"] == 2 and succeeded["http_status"] == 200
    assert succeeded["base_url"] == api.base_url
    assert succeeded["body_sha256"] == good.body_sha256
    assert succeeded["session_id"] == results[0].session_id
    assert succeeded["expires_at"] == results[0].expires_at
    assert succeeded["secret_fingerprint"] == hashlib.sha256(token.encode()).hexdigest()[:12]
    assert isinstance(succeeded["latency_ms"], float)
    assert failed["http_status"] == 400 and failed["error_type"] == "invalid_request_error"
    assert records[-1]["minted"] == 1 and records[-1]["failed"] == 1
    assert token not in log.read_text()


def test_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    """The default location is .rtconfig/audit.jsonl beside the file, 0600 in a 0700 dir."""
    path = default_audit_path(tmp_path / "sessions.toml")
    assert path == tmp_path.resolve() / ".rtconfig" / "audit.jsonl"
    with AuditLog(path) as audit:
        audit.emit("apply.started")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_loose_permissions_of_an_existing_log_are_tightened(tmp_path: Path) -> None:
    """An existing log readable by others is narrowed to 0600 when opened."""
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    path.chmod(0o644)
    AuditLog(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_parent_directories_are_created_0700(tmp_path: Path) -> None:
    """--audit-log into a new directory tree creates each level 0700."""
    path = tmp_path / "a" / "b" / "audit.jsonl"
    AuditLog(path).close()
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


SECRETS = [API_KEY, "ek_minted_token_0123456789", "my-weird-token-without-prefix"]


def test_redaction_keeps_secrets_out_of_every_field(tmp_path: Path) -> None:
    """Keys and tokens fed through every kind of field never reach the rendered record."""
    path = tmp_path / "audit.jsonl"

    class Boom(Exception):
        pass

    with AuditLog(path, secrets=[API_KEY]) as audit:
        audit.add_secret("ek_minted_token_0123456789")
        audit.add_secret("my-weird-token-without-prefix")
        for secret in SECRETS:
            audit.emit(
                "mint.failed",
                template=secret,
                error_message=f"upstream said: {secret}!",
                nested={"deep": [{"x": secret}, (secret, 1)], secret: "as a key"},
                headers={"Authorization": f"Bearer {secret}", "X-Other": "fine"},
                authorization="Bearer whatever-unregistered-value",
                api_key="unregistered-but-named",
                client_secret={"value": "unregistered", "expires_at": 1},
                raw=secret.encode(),
                exc=Boom(f"failed with {secret}"),
                unicode=f"\u202e{secret}\u0000",
            )
        audit.emit("apply.finished", note="sk-unregistered-looking-key-12345 and Bearer abc.def")
    raw = path.read_bytes()
    for secret in [*SECRETS, "whatever-unregistered-value", "unregistered-but-named"]:
        assert secret.encode() not in raw, secret
    assert b"unregistered" not in raw.replace(b"unregistered-", b"")
    assert b"sk-unregistered-looking-key" not in raw and b"abc.def" not in raw
    records = read_audit_log(path, strict=True)
    assert records[0]["headers"]["X-Other"] == "fine"
    assert records[0]["template"] == REDACTED
    assert records[0]["client_secret"] == REDACTED


def test_secret_fingerprint_is_twelve_hex_of_sha256() -> None:
    """The fingerprint names a token without revealing it."""
    assert secret_fingerprint("ek_abc") == hashlib.sha256(b"ek_abc").hexdigest()[:12]


def test_structlog_global_configuration_is_neither_used_nor_touched(tmp_path: Path) -> None:
    """A host app's structlog config does not see our records, nor shape them, nor change."""
    seen: list[dict[str, Any]] = []

    def host_processor(logger: Any, name: str, event_dict: Any) -> Any:
        seen.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(processors=[host_processor])
    try:
        before = structlog.get_config()
        path = tmp_path / "audit.jsonl"
        with AuditLog(path) as audit:
            audit.emit("apply.started", count=1)
        assert structlog.get_config() == before
        assert seen == []
        assert read_audit_log(path)[0]["count"] == 1
    finally:
        structlog.reset_defaults()


def test_reader_tolerates_a_torn_last_line_and_next_writer_starts_fresh(tmp_path: Path) -> None:
    """A half-written last record is skipped; the next record starts on its own line."""
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        audit.emit("apply.started")
    with open(path, "ab") as handle:
        handle.write(b'{"event": "mint.succ')
    assert [r["event"] for r in read_audit_log(path, strict=True)] == ["apply.started"]
    with AuditLog(path) as audit:
        audit.emit("apply.finished")
    records = read_audit_log(path)
    assert [r["event"] for r in records] == ["apply.started", "apply.finished"]
    with pytest.raises(ValueError, match=":2:"):
        read_audit_log(path, strict=True)


WRITER = """
import sys
from rtconfig.audit import AuditLog
with AuditLog(sys.argv[1], run_id=sys.argv[2], fsync=False) as audit:
    for i in range(300):
        audit.emit("mint.succeeded", i=i, padding="x" * 2000)
"""


def test_concurrent_runs_interleave_whole_lines(tmp_path: Path) -> None:
    """Two processes appending at once produce only intact records, none lost."""
    path = tmp_path / "audit.jsonl"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), run_id])
        for run_id in ("run-a", "run-b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    for run_id in ("run-a", "run-b"):
        assert [r["i"] for r in records if r["run_id"] == run_id] == list(range(300))


def test_each_record_is_on_disk_when_emit_returns(tmp_path: Path) -> None:
    """A record is readable by another reader as soon as emit() returns (no buffering)."""
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        audit.emit("apply.started")
        assert [r["event"] for r in read_audit_log(path)] == ["apply.started"]
        audit.emit("apply.finished")
        assert len(read_audit_log(path)) == 2


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RTCONFIG_ACTOR": "alice", "GITHUB_ACTOR": "bob"}, "alice"),
        ({"GITHUB_ACTOR": "bob", "GITLAB_USER_LOGIN": "carol"}, "bob"),
        ({"GITLAB_USER_LOGIN": "carol"}, "carol"),
    ],
)
def test_actor_precedence(environ: dict[str, str], expected: str) -> None:
    """RTCONFIG_ACTOR wins over CI variables."""
    assert resolve_actor(environ) == expected


def test_actor_falls_back_to_user_at_host() -> None:
    """With no variables the actor is user@host."""
    actor = resolve_actor({})
    assert "@" in actor and actor.split("@")[1]


def test_retrying_and_failed_records_never_hold_the_key_even_if_the_server_echoes_it(
    tmp_path: Path,
) -> None:
    """A server message quoting the API key is redacted in results and in the log."""
    path = tmp_path / "audit.jsonl"
    echo = api_error(401, f"Incorrect API key provided: {API_KEY}")
    script = Script([api_error(500, f"oops {API_KEY}"), echo])
    with (
        AuditLog(path) as audit,
        Applier(
            transport=script.transport(),
            audit=audit,
            environ={"OPENAI_API_KEY": API_KEY},
            clock=FakeClock().clock(),
            retry=RetryPolicy(),
        ) as applier,
    ):
        result = applier.mint(make_job())
    assert result.error is not None and API_KEY not in str(result.error)
    assert API_KEY.encode() not in path.read_bytes()
    assert [r["event"] for r in read_audit_log(path)] == ["mint.retrying", "mint.failed"]


def test_redactor_memory_is_bounded_and_keeps_the_key_in_use() -> None:
    """Only the most recent secrets are remembered; re-registering (the key) refreshes one."""
    redactor = Redactor(max_secrets=3)
    redactor.add(API_KEY)
    for i in range(5):
        redactor.add(f"tok-{i:030d}")
        redactor.add(API_KEY)  # the applier registers its key on every mint
    text = f"{API_KEY} tok-{0:030d} tok-{4:030d}"
    assert redactor.scrub(text) == f"{REDACTED} tok-{0:030d} {REDACTED}"


def test_redactor_cuts_secrets_out_of_longer_runs_and_escaped_forms() -> None:
    """A secret glued to other token characters, or JSON-escaped, is still cut out."""
    redactor = Redactor(["plain-secret-0123456789", 'quo"ted-secret-0123456789'])
    assert redactor.scrub("xxplain-secret-0123456789yy") == f"xx{REDACTED}yy"
    assert REDACTED in redactor.scrub(json.dumps({"v": 'quo"ted-secret-0123456789'}))
