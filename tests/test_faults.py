"""Faults during apply, against scripted loopback servers: for each one, the exit code, the
stdout JSON and the audit log agree on exactly which templates were minted, no record is lost
or duplicated, and no token the server issued is lost.

The emulator's ``Fault`` scripts HTTP-level misbehaviour; :class:`tests._robust.RawServer`
scripts what an HTTP server cannot (resets mid-response, truncated and trickled bodies,
accepts that never answer). Retry logic itself (backoff, Retry-After parsing, deadlines) is
proven with a fake clock in test_applier.py; the SIGINT path in test_cli_apply.py.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rtconfig._apply.engine import Applier
from rtconfig._apply.retry import RetryPolicy
from rtconfig._cli import main
from rtconfig._endpoints import Endpoint
from rtconfig._settings import Settings
from rtconfig.audit import read_audit_log, secret_fingerprint
from rtconfig.testing import Emulator, Fault
from tests._apply_helpers import job_of
from tests._robust import (
    CANARY_KEY,
    STATS,
    RawServer,
    assert_clean,
    check_run,
    read_request,
    rtconfig_command,
    subprocess_env,
)

NAMES = [f"t{i}" for i in range(6)]


def config(tmp_path: Path, *, count: int = 6, timeout_s: float = 5, retries: int = 1) -> Path:
    """Beta templates t0…t{count-1}; one retry each, a short timeout."""
    path = tmp_path / "sessions.toml"
    path.write_text(
        f'[api]\nendpoint = "realtime/sessions"\nmax_retries = {retries}\n'
        f"timeout_s = {timeout_s}\n"
        + "".join(f'\n[templates.t{i}]\nmodel = "gpt-realtime"\n' for i in range(count))
    )
    return path


def apply(path: Path, base_url: str, audit: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """`rtconfig apply` in-process, one mint at a time; its exit code and stdout JSON."""
    result = CliRunner().invoke(
        main,
        [
            *("apply", str(path), "--base-url", base_url),
            *("--audit-log", str(audit), "--concurrency", "1", *extra),
        ],
        env={"OPENAI_API_KEY": CANARY_KEY, "RTCONFIG_ACTOR": "ci"},
    )
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed=(0, 3))
    return result.exit_code, json.loads(result.stdout)


# -- HTTP-level faults (the emulator) ----------------------------------------------------------

EMULATED: dict[str, tuple[list[Fault], list[str]]] = {
    # name: (faults, in request order with one mint at a time; templates expected minted)
    "non-JSON body": ([Fault(not_json=True)], NAMES[1:]),
    "200 without a token": ([Fault(no_token=True)], NAMES[1:]),
    "429 storm with Retry-After": ([Fault.rate_limited(retry_after=0)] * 4, NAMES[2:]),
    "429 storm with retry-after-ms": ([Fault.rate_limited(retry_after_ms=1)] * 4, NAMES[2:]),
    "429 without Retry-After, then through": ([Fault.rate_limited(), Fault()], NAMES),
    "5xx burst": (
        [Fault.server_error(s, retry_after_ms="1") for s in (500, 502, 503, 504, 500)],
        ["t2", "t3", "t4", "t5"],
    ),
    "dropped connections": (
        [Fault.dropped(), Fault(), Fault.dropped(), Fault.dropped()],
        ["t0", *NAMES[2:]],
    ),
    "x-should-retry false": ([Fault.server_error(503, x_should_retry="false")], NAMES[1:]),
    "slow answer inside the timeout": ([Fault.slow(0.3)], NAMES),
}


@pytest.mark.parametrize("case", list(EMULATED))
def test_http_faults_leave_exit_code_stdout_and_audit_log_in_agreement(
    tmp_path: Path, case: str
) -> None:
    """Scripted statuses, storms, bursts, drops and bad bodies: everything agrees, and every
    token the server issued reached stdout."""
    faults, expected = EMULATED[case]
    path, audit = config(tmp_path), tmp_path / "audit.jsonl"
    with Emulator() as api:
        api.inject(*faults)
        exit_code, document = apply(path, api.base_url, audit)
        issued = api.tokens
    STATS["faults injected"] += len(faults)
    outcome = check_run(exit_code, document, audit, issued)
    assert outcome["minted"] == expected


# -- transport-level faults (a raw socket server) ----------------------------------------------


def ok_response(token: str) -> bytes:
    body = json.dumps(
        {"id": "sess_raw", "client_secret": {"value": token, "expires_at": 1_900_000_000}}
    ).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"x-request-id: req_raw\r\n\r\n" + body


Behaviour = Callable[[socket.socket], bool]  # False: the connection is finished


class Script:
    """Per-request behaviours for a RawServer, in arrival order; answers normally when empty."""

    def __init__(self, *behaviours: Behaviour) -> None:
        self._behaviours = list(behaviours)
        self._lock = threading.Lock()
        self.issued: list[str] = []
        self.requests = 0
        self.release = threading.Event()  # ends every hang when the test is done

    def __call__(self, conn: socket.socket) -> None:
        while True:
            if not read_request(conn):
                return
            with self._lock:
                self.requests += 1
                behaviour = self._behaviours.pop(0) if self._behaviours else None
            if behaviour is None:
                token = f"ek_RAWCANARY_{len(self.issued):03d}_" + "f" * 24
                conn.sendall(ok_response(token))
                with self._lock:
                    self.issued.append(token)
            elif not behaviour(conn):
                return

    def hang(self, conn: socket.socket) -> bool:
        """Accept the request and never answer."""
        self.release.wait(30)
        return False


def reset_mid_response(conn: socket.socket) -> bool:
    """Half a status line and headers, then a TCP reset (RST, not FIN)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


def truncated_body(conn: socket.socket) -> bool:
    """A 200 promising 500 bytes of JSON, sending 20, then closing."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + b'{"client_secret": {"v')
    return False


def garbage_status_line(conn: socket.socket) -> bool:
    """Bytes that are not HTTP at all."""
    conn.sendall(b"\x00\xffSSH-2.0-OpenSSH_9.6\r\n\r\n")
    return False


@pytest.mark.parametrize(
    ("case", "build", "expected"),
    [
        ("reset mid-response", lambda s: [reset_mid_response], NAMES),
        ("reset twice", lambda s: [reset_mid_response, reset_mid_response], NAMES[1:]),
        ("truncated body", lambda s: [truncated_body], NAMES),
        ("not HTTP", lambda s: [garbage_status_line, garbage_status_line], NAMES[1:]),
        ("accept and hang", lambda s: [s.hang], NAMES),
        ("accept and hang twice", lambda s: [s.hang, s.hang], NAMES[1:]),
    ],
)
def test_transport_faults_leave_exit_code_stdout_and_audit_log_in_agreement(
    tmp_path: Path, case: str, build: Callable[[Script], list[Behaviour]], expected: list[str]
) -> None:
    """Resets mid-response, truncated bodies, garbage and silent servers (the client's read
    timeout): retried, then reported; everything agrees and no issued token is lost."""
    script = Script()
    script._behaviours = build(script)
    STATS["faults injected"] += len(script._behaviours)
    path, audit = config(tmp_path, timeout_s=0.4), tmp_path / "audit.jsonl"
    with RawServer(script) as server:
        try:
            exit_code, document = apply(path, server.base_url, audit)
        finally:
            script.release.set()
    outcome = check_run(exit_code, document, audit, script.issued)
    assert outcome["minted"] == expected
    errors = {r["error"]["type"] for r in document["results"] if not r["ok"]}
    assert errors <= {"connection_error", "timeout"}


def test_connection_refused_fails_every_mint_and_records_each_once(tmp_path: Path) -> None:
    """Nothing listening: each template is retried, fails with connection_error, exit 3."""
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # the port is now refused
    path, audit = config(tmp_path, count=3), tmp_path / "audit.jsonl"
    exit_code, document = apply(path, f"http://127.0.0.1:{port}/v1", audit)
    STATS["faults injected"] += 6
    outcome = check_run(exit_code, document, audit, [])
    assert outcome["failed"] == ["t0", "t1", "t2"]
    assert {r["error"]["type"] for r in document["results"]} == {"connection_error"}


def test_a_listener_that_never_accepts_times_out(tmp_path: Path) -> None:
    """A full accept queue nobody drains (the kernel completes the handshake): read timeout,
    retried, reported; the run ends in bounded time."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=8)
    try:
        path, audit = config(tmp_path, count=2, timeout_s=0.3), tmp_path / "audit.jsonl"
        started = time.monotonic()
        exit_code, document = apply(path, f"http://127.0.0.1:{silent.getsockname()[1]}/v1", audit)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    STATS["faults injected"] += 4
    check_run(exit_code, document, audit, [])
    assert {r["error"]["type"] for r in document["results"]} == {"timeout"}
    assert elapsed < 10


def test_a_trickled_body_cannot_hold_a_mint_past_its_deadline() -> None:
    """A server sending its body a byte at a time, each inside the read timeout, is cut off at
    the mint's deadline (the read timeout alone would wait for ever)."""

    def trickle(conn: socket.socket) -> bool:
        body = ok_response("ek_TRICKLE_" + "a" * 32)
        head, _, rest = body.partition(b"\r\n\r\n")
        conn.sendall(head + b"\r\n\r\n")
        for byte in rest:
            if script.release.wait(0.05):
                return False
            conn.sendall(bytes([byte]))
        return False

    script = Script(trickle, trickle)
    with RawServer(script) as server:
        settings = Settings(base_url=server.base_url, timeout_s=0.5, max_retries=1)
        job = job_of("t", None, Endpoint.SESSIONS, {"model": "gpt-realtime"}, settings)
        policy = RetryPolicy(initial_backoff_s=0.01, deadline_s=1.5)
        started = time.monotonic()
        try:
            with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}, retry=policy) as applier:
                result = applier.mint(job)
        finally:
            script.release.set()
        elapsed = time.monotonic() - started
    STATS["faults injected"] += 2
    assert not result.ok and result.error is not None and result.error.type == "timeout"
    assert elapsed < 1.5 + 0.5 + 1.0  # the deadline, one read timeout, slack


# -- the audit log cannot be written -----------------------------------------------------------

FILE_SIZE_LIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (2500, 2500))
sys.argv = ["rtconfig", *sys.argv[1:]]
runpy.run_module("rtconfig", run_name="__main__")
"""


def test_a_full_disk_stops_new_mints_but_loses_no_minted_token(tmp_path: Path) -> None:
    """When the audit log cannot be written (here: a file size limit, as a full disk), no mint
    starts after that, every minted token still reaches stdout, and the run exits 3."""
    path, audit = config(tmp_path), tmp_path / "audit.jsonl"
    with Emulator() as api:
        proc = subprocess.run(
            [
                *(sys.executable, "-c", FILE_SIZE_LIMITED, "apply", str(path)),
                *("--base-url", api.base_url, "--audit-log", str(audit), "--concurrency", "1"),
            ],
            env=subprocess_env(OPENAI_API_KEY=CANARY_KEY, RTCONFIG_ACTOR="ci"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        issued = api.tokens
    STATS["faults injected"] += 1
    assert_clean(proc.returncode, proc.stdout, proc.stderr, allowed=(3,))
    assert "could not be written" in proc.stderr
    results = json.loads(proc.stdout)["results"]
    minted = [r["client_secret"] for r in results if r["ok"]]
    assert 1 <= len(issued) < len(NAMES) and sorted(minted) == sorted(issued)
    assert {r["error"]["type"] for r in results if not r["ok"]} == {"cancelled"}
    records = read_audit_log(audit)  # what made it to disk is intact (a torn line is skipped)
    STATS["audit records checked"] += len(records)
    fingerprints = {secret_fingerprint(t) for t in issued}
    assert all(
        r["secret_fingerprint"] in fingerprints for r in records if r["event"] == "mint.succeeded"
    )


# -- signals -----------------------------------------------------------------------------------


@pytest.fixture
def slow_api() -> Iterator[Emulator]:
    with Emulator(latency_s=0.3) as api:
        yield api


def start_apply(path: Path, api: Emulator, audit: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *rtconfig_command("apply", str(path), "--base-url", api.base_url),
            *("--concurrency", "2", "--audit-log", str(audit)),
        ],
        env=subprocess_env(OPENAI_API_KEY=CANARY_KEY, RTCONFIG_ACTOR="ci"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_requests(api: Emulator, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(api.requests) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sigterm_mid_run_finishes_in_flight_mints_and_exits_143(
    tmp_path: Path, slow_api: Emulator
) -> None:
    """SIGTERM (a CI runner cancelling the job) stops new mints, lets in-flight ones finish,
    and exit code, stdout and audit log agree; no issued token is lost."""
    path, audit = config(tmp_path, count=10), tmp_path / "audit.jsonl"
    proc = start_apply(path, slow_api, audit)
    wait_for_requests(slow_api, 3)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    time.sleep(0.4)  # let the emulator finish answering what it accepted
    STATS["faults injected"] += 1
    assert_clean(proc.returncode, stdout.decode(), stderr.decode(), allowed=(143,))
    outcome = check_run(
        proc.returncode, json.loads(stdout), audit, slow_api.tokens, signum=signal.SIGTERM
    )
    assert 3 <= len(outcome["minted"]) < 10


def test_a_second_signal_exits_at_once_and_the_log_stays_readable(
    tmp_path: Path, slow_api: Emulator
) -> None:
    """A second Ctrl-C exits immediately (130): the audit log is still whole JSON lines, each
    success recorded once and matching a token the server issued."""
    path, audit = config(tmp_path, count=10), tmp_path / "audit.jsonl"
    proc = start_apply(path, slow_api, audit)
    wait_for_requests(slow_api, 2)
    # The emulator records a request as it answers it: give the next two mints time to be
    # sent, so that some are in flight (0.3 s) when the signals come; otherwise the run could
    # end between the two signals and the second would find no process to interrupt.
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    STATS["faults injected"] += 2
    assert proc.returncode == 130 and b"second interrupt" in stderr
    assert_audit_intact(audit, slow_api)


def assert_audit_intact(audit: Path, api: Emulator) -> None:
    """Every line but possibly a torn last one is a record; successes are unique and real."""
    lines = audit.read_bytes().split(b"\n")
    complete = [line for line in lines[:-1] if line.strip()]
    for line in complete:
        json.loads(line)  # every complete line is a whole record
    records = read_audit_log(audit, strict=True)
    STATS["audit records checked"] += len(records)
    assert len(records) >= len(complete) - 1
    ids = [r["event_id"] for r in records]
    assert len(ids) == len(set(ids))
    succeeded = [r for r in records if r["event"] == "mint.succeeded"]
    assert len({r["template"] for r in succeeded}) == len(succeeded)
    fingerprints = {secret_fingerprint(t) for t in api.tokens}
    assert {r["secret_fingerprint"] for r in succeeded} <= fingerprints


def test_kill_9_mid_run_leaves_valid_json_lines(tmp_path: Path, slow_api: Emulator) -> None:
    """kill -9 in the middle of a run: at most the record being written is incomplete, the
    reader tolerates it, and every recorded success is a real, unique mint."""
    path, audit = config(tmp_path, count=10), tmp_path / "audit.jsonl"
    proc = start_apply(path, slow_api, audit)
    wait_for_requests(slow_api, 4)
    time.sleep(0.15)
    proc.kill()
    proc.communicate(timeout=60)
    STATS["faults injected"] += 1
    assert proc.returncode == -signal.SIGKILL
    assert_audit_intact(audit, slow_api)
    records = read_audit_log(audit)
    assert records[0]["event"] == "apply.started"
    assert not any(r["event"] == "apply.finished" for r in records)


def test_kill_9_while_a_record_is_half_written_is_tolerated(tmp_path: Path) -> None:
    """A torn last line (a writer killed mid-record) is skipped by the reader, and the next
    run's first record starts on a line of its own."""
    path, audit = config(tmp_path, count=2), tmp_path / "audit.jsonl"
    audit.write_bytes(b'{"event": "apply.started", "run_id": "dead"}\n{"event": "mint.succ')
    with Emulator() as api:
        exit_code, document = apply(path, api.base_url, audit)
        issued = api.tokens
    check_run(exit_code, document, audit, issued, strict=False)
    records = read_audit_log(audit, strict=False)
    assert records[0]["run_id"] == "dead" and records[1]["event"] == "apply.started"


def test_concurrent_mints_keep_records_whole_under_faults(tmp_path: Path) -> None:
    """Eight mints in flight against a server failing a third of requests: agreement holds."""
    path, audit = config(tmp_path, count=12), tmp_path / "audit.jsonl"
    faults = [
        Fault.server_error(503, retry_after_ms="1") if i % 3 == 0 else Fault() for i in range(30)
    ]
    with Emulator() as api:
        api.inject(*faults)
        result = CliRunner().invoke(
            main,
            [
                *("apply", str(path), "--base-url", api.base_url),
                *("--audit-log", str(audit), "--concurrency", "8"),
            ],
            env={"OPENAI_API_KEY": CANARY_KEY},
        )
        issued = api.tokens
    STATS["faults injected"] += sum(1 for f in faults if f.status)
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed=(0, 3))
    check_run(result.exit_code, json.loads(result.stdout), audit, issued)


def test_an_output_file_that_cannot_be_written_is_not_reported_as_nothing_sent(
    tmp_path: Path,
) -> None:
    """When --output fails after minting (a full disk), the tokens are still on stdout and the
    run exits 3, not 1 (which would say that nothing was sent)."""
    path = tmp_path / "sessions.toml"
    path.write_text(
        '[api]\nendpoint = "realtime/sessions"\n'
        + "".join(
            f'[templates.t{i}]\nmodel = "gpt-realtime"\ninstructions = "{"x" * 3000}"\n'
            for i in range(2)
        )
    )
    audit, output = tmp_path / "audit.jsonl", tmp_path / "tokens.json"
    limited = FILE_SIZE_LIMITED.replace("(2500, 2500)", "(5000, 5000)")  # the log fits
    with Emulator() as api:
        proc = subprocess.run(
            [
                *(sys.executable, "-c", limited, "apply", str(path), "--base-url", api.base_url),
                *("--audit-log", str(audit), "--output", str(output)),
            ],
            env=subprocess_env(OPENAI_API_KEY=CANARY_KEY, RTCONFIG_ACTOR="ci"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        issued = api.tokens
    STATS["faults injected"] += 1
    assert_clean(proc.returncode, proc.stdout, proc.stderr, allowed=(3,))
    assert f"--output {output} could not be written" in proc.stderr
    outcome = check_run(proc.returncode, json.loads(proc.stdout), audit, issued, expected_exit=3)
    assert outcome["minted"] == ["t0", "t1"]
    assert not output.exists() and [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
