"""The apply use case, printing nothing: ``rtconfig.apply(plan, …) -> ApplyReport``.

Everything ``rtconfig apply`` does, as a library function: refuse the run up front when any
record cannot be sent (missing key, unsafe URL: nothing is sent, :class:`ConfigError`), check
the lock with ``locked=True``, open the audit log (fail-safe: a record that cannot be written
stops new mints, and every minted token is still returned), mint every record, stop gracefully
on SIGINT/SIGTERM when asked to handle signals, write ``output`` (0600, atomically), and say in
the report what happened, exit code included. The CLI composes this and prints.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from rtconfig._apply.engine import Applier, AuditSink
from rtconfig._apply.preflight import check_base_url
from rtconfig._apply.progress import MintRetrying
from rtconfig._apply.request import prepare
from rtconfig._apply.results import ApplyReport, MintResult
from rtconfig._apply.retry import RetryPolicy
from rtconfig._codes import DiagnosticCode as C
from rtconfig._environ import process_environ
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._plan.records import Plan, PlanRecord

__all__ = ["apply", "check_locked", "dry_run_requests", "write_private"]

EXIT_SIGNAL_BASE = 128


def _config_file(plan: Plan) -> str | None:
    return plan.config_path or plan.config_file


def check_locked(plan: Plan, records: Sequence[PlanRecord] | None = None) -> None:
    """Refuse (:class:`ConfigError`, nothing sent) unless every record's body is the one
    ``<stem>.lock.json`` beside the plan's TOML records."""
    from rtconfig._plan.lock import lock_path_for, read_lock
    from rtconfig._plan.render import locked_mismatches

    file = _config_file(plan)
    if file is None:
        raise ConfigError.single(
            "--locked: the plan does not name its TOML file; nothing was sent",
            code=C.LOCK_MISMATCH,
        )
    lock_path = lock_path_for(file)
    problems = locked_mismatches(
        list(plan.templates if records is None else records),
        read_lock(lock_path),
        lock_file=str(lock_path),
    )
    if problems:
        raise ConfigError(
            Diagnostic(
                "error",
                f"--locked: {problem}; nothing was sent",
                code=C.LOCK_MISMATCH,
                file=plan.config_file,
            )
            for problem in problems
        )


def dry_run_requests(plan: Plan, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The requests apply would send, as ``--dry-run`` shows them (the key redacted; a key
    that is not set shown as such). :class:`ConfigError` for a base URL apply would refuse."""
    environ = _environ(plan, environ)
    problems = sorted(
        {p for p in (check_base_url(r.settings.base_url) for r in plan.templates) if p}
    )
    if problems:
        raise ConfigError.single("; ".join(problems), code=C.PREFLIGHT_REFUSED)
    out = []
    for record in plan.templates:
        prepared = prepare(record, None)
        headers = prepared.shown_headers()
        name = record.settings.api_key_env
        key_set = bool(environ.get(name, "").strip())
        if not key_set:
            headers["Authorization"] = f"Bearer <${name} is not set>"
        out.append(
            {
                "template": record.name,
                "env": record.env,
                "endpoint": record.endpoint.value,
                "method": prepared.method,
                "url": prepared.url,
                "headers": headers,
                "body": json.loads(prepared.content),
                "body_sha256": record.body_sha256,
                "key_set": key_set,
            }
        )
    return out


def _environ(plan: Plan, environ: Mapping[str, str] | None) -> Mapping[str, str]:
    if environ is not None:
        return environ
    return plan.environ if plan.environ is not None else process_environ()


def apply(
    plan: Plan,
    *,
    audit_log: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    concurrency: int | None = None,
    output: str | os.PathLike[str] | None = None,
    locked: bool = False,
    transport: Any = None,
    retry: RetryPolicy | None = None,
    on_result: Callable[[MintResult], None] | None = None,
    on_progress: Callable[[MintRetrying], None] | None = None,
    handle_signals: bool = False,
    run_id: str | None = None,
    audit: AuditSink | None = None,
    started: Mapping[str, Any] | None = None,
) -> ApplyReport:
    """Mint every record of ``plan``; never raises for a failed mint (see ``report.ok``).

    ``environ`` defaults to the one the plan was made with (where the key is read).
    ``audit_log`` defaults to ``.rtconfig/audit.jsonl`` beside the plan's TOML; ``audit`` replaces
    the log with another sink. ``concurrency`` defaults to ``[api].concurrency``. ``on_result``
    is called with each result as it finishes, ``on_progress`` with a :class:`MintRetrying` when
    a mint waits to try again. Raises
    :class:`ConfigError` (nothing sent) when a record cannot be sent or, with ``locked``, is
    not the locked body; :class:`TypeError` for arguments of the wrong type.
    """
    from rtconfig.audit import new_run_id

    if not isinstance(plan, Plan):
        raise TypeError(f"apply() takes a Plan (config.plan(...)), not {type(plan).__name__}")
    environ = _environ(plan, environ)
    records = list(plan.templates)
    size = concurrency or min((r.settings.concurrency for r in records), default=1)
    _refuse(plan, environ, size, transport, locked)
    run_id = run_id or new_run_id()
    audit, audit_path = _audit_sink(plan, audit, audit_log, run_id, environ)
    fields = {"file": os.path.abspath(_config_file(plan) or "."), "concurrency": size}
    fields.update(started or {})
    try:
        with (
            Applier(
                audit=audit,
                environ=environ,
                concurrency=size,
                transport=transport,
                retry=retry,
                on_progress=on_progress,
            ) as applier,
            _graceful_stop(applier, handle_signals) as received,
        ):
            results = applier.mint_all(records, on_result=on_result, **fields)
    finally:
        close_error = _close(audit)
    report = ApplyReport(
        run_id=run_id,
        results=tuple(results),
        audit_log=str(audit_path) if audit_path is not None else None,
        audit_error=applier.audit_error or close_error,
        output=os.fspath(output) if output is not None else None,
        signal=received[0] if received else None,
        emulated=bool(fields.get("emulated")),
    )
    if output is None:
        return report
    return replace(report, output_error=_write_output(output, report, audit_path))


def _audit_sink(
    plan: Plan,
    audit: AuditSink | None,
    audit_log: str | os.PathLike[str] | None,
    run_id: str,
    environ: Mapping[str, str],
) -> tuple[AuditSink, Path | None]:
    """The caller's sink, else the audit log at ``audit_log`` (by default
    ``.rtconfig/audit.jsonl`` beside the plan's TOML) and its path."""
    from rtconfig.audit import AuditLog, default_audit_path

    if audit is not None:
        return audit, None
    path = Path(audit_log or default_audit_path(_config_file(plan) or "sessions.toml"))
    return AuditLog(path, run_id=run_id, environ=environ), path


def _refuse(
    plan: Plan, environ: Mapping[str, str], size: int, transport: Any, locked: bool
) -> None:
    """Refuse the whole run, before anything is sent, when any record cannot be sent."""
    with Applier(environ=environ, concurrency=size, transport=transport) as probe:
        refusals = probe.preflight(plan.templates)
    if refusals:
        raise ConfigError.single(
            "; ".join(f.message for f in refusals) + " (nothing was sent)",
            code=C.PREFLIGHT_REFUSED,
        )
    if locked:
        check_locked(plan)


def _close(audit: AuditSink) -> BaseException | None:
    close = getattr(audit, "close", None)
    if close is None:
        return None
    try:
        close()
    except Exception as exc:
        return exc
    return None


def write_private(
    path: str | os.PathLike[str], text: str, *, not_onto: tuple[Path, ...] = ()
) -> None:
    """Write ``text`` to ``path`` atomically (temp file + rename) with mode 0600.

    A device node, FIFO or directory at ``path``, or a file in ``not_onto`` (the audit log), is
    refused with an ``OSError`` naming why.
    """
    from rtconfig._files import FileRefused, atomic_write

    try:
        atomic_write(path, text, mode=0o600, not_onto=not_onto)
    except FileRefused as exc:
        raise OSError(errno.EINVAL, f"it {exc.message}") from None


def _write_output(
    output: str | os.PathLike[str], report: ApplyReport, audit_path: Path | None
) -> OSError | None:
    text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    try:
        write_private(output, text, not_onto=(audit_path,) if audit_path is not None else ())
    except OSError as exc:  # after minting: the tokens are in the report, not lost
        return exc
    return None


@contextmanager
def _graceful_stop(applier: Applier, enabled: bool) -> Iterator[list[int]]:
    """On SIGINT/SIGTERM: stop starting mints, let in-flight ones finish; a second signal
    exits at once, also after the block ends. Yields the signal number once one arrived."""
    received: list[int] = []
    previous: dict[signal.Signals, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        if received:
            os.write(2, b"rtconfig: second interrupt: exiting now\n")
            os._exit(EXIT_SIGNAL_BASE + signum)
        received.append(signum)
        applier.stop()
        os.write(
            2,
            b"rtconfig: interrupted: starting no new mints; waiting for the ones in flight "
            b"(interrupt again to exit at once)\n",
        )

    if enabled and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handle)
    try:
        yield received
    finally:
        # Once interrupted, the caller is winding down: a further signal, even one that arrives
        # after the mints have finished (while --output and the audit log are written), still
        # exits at once with 128 + signal rather than meeting Python's default handler.
        for signum, handler in previous.items():
            signal.signal(signum, handle if received else handler)
