"""Concurrency: `rtconfig apply` runs appending to the same audit log at the same time produce
interleaved but intact records: every line is a whole record, none lost or duplicated.

(test_audit.py proves the same for two bare AuditLog writers; here the real CLI runs, with its
worker threads, fsync thread and retries.)"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

from rtconfig.audit import read_audit_log
from rtconfig.testing import Emulator, Fault
from tests._robust import (
    CANARY_KEY,
    STATS,
    assert_clean,
    check_run,
    rtconfig_command,
    subprocess_env,
)

RUNS = 3
TEMPLATES = 30


def test_parallel_apply_runs_interleave_whole_records(tmp_path: Path) -> None:
    """Three apply processes (8 mints in flight each, some retried) share one audit log: their
    records interleave, every line parses, and each run's records agree with its stdout."""
    path = tmp_path / "sessions.toml"
    path.write_text(
        '[api]\nendpoint = "realtime/sessions"\nmax_retries = 2\n'
        + "".join(
            f'\n[templates.t{i:02d}]\nmodel = "gpt-realtime"\ninstructions = "{"x" * 300}"\n'
            for i in range(TEMPLATES)
        )
    )
    audit = tmp_path / "shared" / "audit.jsonl"
    with Emulator(latency_s=0.02) as api:
        api.inject(
            *[Fault.rate_limited(retry_after_ms=1) if i % 7 == 0 else Fault() for i in range(60)]
        )
        procs = [
            subprocess.Popen(
                [
                    *rtconfig_command("apply", str(path), "--base-url", api.base_url),
                    *("--concurrency", "8", "--audit-log", str(audit)),
                ],
                env=subprocess_env(OPENAI_API_KEY=CANARY_KEY, RTCONFIG_ACTOR=f"runner-{n}"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(RUNS)
        ]
        outputs = [proc.communicate(timeout=120) for proc in procs]
        issued = api.tokens
    STATS["faults injected"] += 9
    documents = []
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert_clean(proc.returncode, stdout, stderr, allowed=(0,))
        documents.append(json.loads(stdout))
    lines = audit.read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends with a complete line
    records = [json.loads(line) for line in lines[:-1]]  # every line is one whole record
    assert len(records) == len(read_audit_log(audit, strict=True))
    for document in documents:
        minted = [r["client_secret"] for r in document["results"]]
        run_issued = [token for token in issued if token in minted]
        check_run(0, document, audit, run_issued)
    order = [r["run_id"] for r in records]
    switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert switches > RUNS, "the runs did not overlap: nothing was proven about interleaving"
    assert len({r["event_id"] for r in records}) == len(records)
