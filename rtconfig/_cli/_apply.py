"""``apply`` (mint sessions) and ``emulate`` (a local OpenAI emulator in the foreground).

httpx and structlog are imported inside the commands, never at module level: importing this
module (which ``rtconfig validate`` does, to register the commands) must stay cheap.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from rtconfig._cli._common import (
    env_option,
    handle_errors,
    main,
    print_diagnostics,
    set_option,
    templates_option,
)
from rtconfig._errors import ConfigError, Diagnostic, UsageError

if TYPE_CHECKING:
    from rtconfig._applier import Applier, MintFailure, MintJob, MintResult
    from rtconfig._planner import Lockable
    from rtconfig._resolver import ResolvedTemplate
    from rtconfig.audit import AuditLog

FILE = click.Path(dir_okay=False, path_type=str)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_MINT_FAILED = 3
EXIT_SIGNAL_BASE = 128  # 130 after SIGINT, 143 after SIGTERM, as shells report them

# Past this many templates on a terminal, successes update one progress line instead of one each.
PROGRESS_BAR_THRESHOLD = 20


@main.command()
@click.argument("file", metavar="FILE|PLAN", type=FILE)
@env_option
@templates_option("Mint")
@set_option
@click.option("--base-url", metavar="URL", help="Send to this API base URL instead.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    metavar="N",
    help="Mints in flight at once (default: [api].concurrency).",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=str),
    metavar="P",
    help="Append audit records here (default: .rtconfig/audit.jsonl beside FILE).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=str),
    metavar="P",
    help="Also write the result JSON (tokens included) to P, mode 0600, atomically.",
)
@click.option(
    "--locked",
    is_flag=True,
    help="Refuse templates whose body differs from the lock file.",
)
@click.option("--dry-run", is_flag=True, help="Send nothing; print what would be sent.")
@click.option(
    "--emulate",
    is_flag=True,
    help="Mint against an in-process emulator (offline; the tokens are not real).",
)
@handle_errors
def apply(
    file: str,
    env: str | None,
    templates: tuple[str, ...],
    sets: tuple[str, ...],
    base_url: str | None,
    concurrency: int | None,
    audit_log: str | None,
    output: str | None,
    locked: bool,
    dry_run: bool,
    emulate: bool,
) -> None:
    """Mint one session per selected template and print the results as JSON.

    Exit 0 when every mint succeeded, 1 when the configuration is invalid (nothing is sent),
    3 when one or more mints failed, 130 when interrupted (Ctrl-C).
    """
    if emulate and base_url:
        raise UsageError("--emulate and --base-url cannot be combined")
    if output and not Path(output).resolve().parent.is_dir():
        raise UsageError(f"--output {output}: directory {Path(output).parent} does not exist")
    if output:
        from rtconfig.audit import default_audit_path

        check_output_path(output, Path(audit_log) if audit_log else default_audit_path(file))
    if _is_saved_plan(file):
        if sets or base_url:
            raise UsageError(
                "--set and --base-url cannot change a saved plan: it records exactly what is "
                "sent; make a new plan instead"
            )
        resolved = None
        jobs = _jobs_from_saved_plan(file, env=env, templates=templates, locked=locked)
    else:
        resolved = _resolve(file, env, templates, sets, base_url)
        if locked:
            _check_locked(file, resolved)
        from rtconfig._applier import MintJob

        jobs = [MintJob.from_resolved(template) for template in resolved]

    from rtconfig.audit import new_run_id

    run_id = new_run_id()
    if dry_run:
        _dry_run(run_id, jobs, output)
        return
    sys.exit(_mint(file, run_id, jobs, concurrency, audit_log, output, emulate))


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 to listen on (0: any free port).",
)
@handle_errors
def emulate(port: int) -> None:
    """Serve a local emulator of OpenAI's session-minting endpoints until Ctrl-C.

    It requires a bearer token (any value), validates bodies like the API, and returns
    realistic sessions with random, useless ek_… tokens. Prints its base URL on stdout.
    """
    from rtconfig.testing import Emulator

    emulator = Emulator(port=port)
    click.echo(emulator.base_url)
    click.echo(
        f"rtconfig: emulating POST {emulator.base_url}/realtime/{{sessions,client_secrets,"
        "transcription_sessions} (tokens are emulated; any Bearer key is accepted)\n"
        f"rtconfig: try: rtconfig apply sessions.toml --base-url {emulator.base_url}  "
        "(with any value in OPENAI_API_KEY); Ctrl-C stops",
        err=True,
    )
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        click.echo("rtconfig: emulator stopped", err=True)
    finally:
        emulator.close()


# ---------------------------------------------------------------------------------------------
# Selecting what to mint
# ---------------------------------------------------------------------------------------------


def _resolve(
    file: str,
    env: str | None,
    templates: Sequence[str],
    sets: Sequence[str],
    base_url: str | None,
) -> tuple[ResolvedTemplate, ...]:
    from rtconfig._config import load

    check = load(file).check(
        envs=[env],
        templates=list(templates) or None,
        environ=os.environ,
        sets=sets,
        base_url=base_url,
    )
    if check.errors:
        raise ConfigError(check.diagnostics)
    print_diagnostics(check.warnings)
    return check.templates


def _is_saved_plan(file: str) -> bool:
    from rtconfig._saved_plan import is_saved_plan

    # A .json that is not a plan goes down the plan path too, to be told what it is not.
    return file.endswith(".json") or is_saved_plan(file)


def _jobs_from_saved_plan(
    file: str, *, env: str | None, templates: Sequence[str], locked: bool
) -> list[MintJob]:
    """The exact planned bodies of a ``plan --out`` file; a stale plan is refused, naming what
    changed. API errors still point at TOML lines: the plan's inputs are unchanged, so its
    templates are resolved again for their provenance."""
    from rtconfig._applier import MintJob
    from rtconfig._saved_plan import read_saved_plan, resolve_saved_plan

    saved = read_saved_plan(file, os.environ)
    if env is not None and env not in saved.envs:
        shown = ", ".join(e or "(default)" for e in saved.envs)
        raise UsageError(f"{file} was planned for {shown}, not {env!r}; make a plan for {env!r}")
    planned = list(saved.templates)
    if templates:
        known = {t.name for t in planned}
        unknown = [name for name in templates if name not in known]
        if unknown:
            raise UsageError(
                f"{file} does not plan {', '.join(map(repr, unknown))}"
                f" (it plans {', '.join(sorted(known))})"
            )
        planned = [t for t in planned if t.name in templates]
    if locked:
        _refuse_unlocked(str(saved.config_path), planned)
    origins = {(r.name, r.env): r.origin_of for r in resolve_saved_plan(saved, os.environ)}
    return [
        MintJob(
            template=t.name,
            env=t.env,
            endpoint=t.endpoint,
            body=dict(t.body),
            settings=t.settings,
            locate=origins.get((t.name, t.env)),
        )
        for t in planned
    ]


def _check_locked(file: str, resolved: Sequence[ResolvedTemplate]) -> None:
    """``--locked``: refuse the run unless every body is the one ``<stem>.lock.json`` records."""
    _refuse_unlocked(file, resolved)


def _refuse_unlocked(file: str, templates: Sequence[Lockable]) -> None:
    from rtconfig._lockfile import lock_path_for, read_lock
    from rtconfig._planner import locked_mismatches

    lock_path = lock_path_for(file)
    problems = locked_mismatches(templates, read_lock(lock_path), lock_file=str(lock_path))
    if problems:
        raise ConfigError(
            Diagnostic("error", f"--locked: {problem}; nothing was sent", file=file)
            for problem in problems
        )


# ---------------------------------------------------------------------------------------------
# Dry run
# ---------------------------------------------------------------------------------------------


def _dry_run(run_id: str, jobs: Sequence[MintJob], output: str | None) -> None:
    from rtconfig._applier import USER_AGENT, check_base_url

    problems = [p for p in {check_base_url(job.settings.base_url) for job in jobs} if p]
    if problems:
        raise ConfigError.single("; ".join(sorted(problems)))
    requests = []
    for job in jobs:
        key_set = bool(os.environ.get(job.settings.api_key_env, "").strip())
        headers = {
            "Authorization": "Bearer [REDACTED]"
            if key_set
            else f"Bearer <${job.settings.api_key_env} is not set>",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if job.settings.organization:
            headers["OpenAI-Organization"] = job.settings.organization
        if job.settings.project:
            headers["OpenAI-Project"] = job.settings.project
        requests.append(
            {
                "template": job.template,
                "env": job.env,
                "endpoint": job.endpoint.value,
                "method": "POST",
                "url": job.url,
                "headers": headers,
                "body": dict(job.body),
                "body_sha256": job.body_sha256,
            }
        )
        if not key_set:
            click.echo(
                f"rtconfig: warning: {_label(job)}: {job.settings.api_key_env} is not set; "
                "a real apply would refuse to start",
                err=True,
            )
    document = {"run_id": run_id, "dry_run": True, "results": [], "requests": requests}
    if output:
        write_private(output, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    click.echo(f"rtconfig: dry run: {len(requests)} request(s) shown, nothing sent", err=True)


# ---------------------------------------------------------------------------------------------
# Minting
# ---------------------------------------------------------------------------------------------


def _mint(
    file: str,
    run_id: str,
    jobs: list[MintJob],
    concurrency: int | None,
    audit_log: str | None,
    output: str | None,
    emulate: bool,
) -> int:
    from rtconfig._applier import Applier
    from rtconfig.audit import AuditLog, default_audit_path

    emulator = None
    environ: Mapping[str, str] = os.environ
    if emulate:
        from rtconfig.testing import EMULATOR_API_KEY, Emulator

        emulator = Emulator().start()
        jobs = [
            replace(job, settings=replace(job.settings, base_url=emulator.base_url)) for job in jobs
        ]
        environ = {job.settings.api_key_env: EMULATOR_API_KEY for job in jobs}
        click.echo(
            f"rtconfig: --emulate: minting against the in-process emulator at "
            f"{emulator.base_url}; the tokens are EMULATED and will not work with OpenAI",
            err=True,
        )
    try:
        size = concurrency or min((job.settings.concurrency for job in jobs), default=1)
        probe = Applier(environ=environ, concurrency=size)
        refusals = probe.preflight(jobs)
        probe.close()
        if refusals:
            raise ConfigError.single("; ".join(f.message for f in refusals) + " (nothing was sent)")
        audit_path = Path(audit_log) if audit_log else default_audit_path(file)
        audit = _FailSafeAudit(AuditLog(audit_path, run_id=run_id, environ=os.environ))
        try:
            with Applier(audit=audit, environ=environ, concurrency=size) as applier:
                audit.on_failure = applier.stop
                progress = _Progress(len(jobs))
                with _graceful_stop(applier) as stopped_by:
                    results = applier.mint_all(
                        jobs,
                        on_result=progress.report,
                        file=os.path.abspath(file),
                        emulated=emulate,
                        concurrency=size,
                    )
                progress.done()
        finally:
            audit.close()
    finally:
        if emulator is not None:
            emulator.close()
    signum = stopped_by[0] if stopped_by else None
    document: dict[str, Any] = {
        "run_id": run_id,
        "results": [result.to_json() for result in results],
        "emulated": emulate,
        "interrupted": signum is not None,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    click.echo(text)  # first: if --output fails now, the tokens are not lost
    output_error: OSError | None = None
    if output:
        try:
            write_private(output, text + "\n", not_onto=(audit_path,))
        except OSError as exc:  # after minting: not exit 1 ("nothing was sent")
            output_error = exc
    minted = sum(result.ok for result in results)
    failed = len(results) - minted
    click.echo(
        f"rtconfig: {minted} minted, {failed} failed"
        + (" (interrupted)" if signum is not None else "")
        + f"; run {run_id}; audit log {audit_path}",
        err=True,
    )
    if audit.error is not None:
        click.echo(
            f"rtconfig: error: the audit log {audit_path} could not be written "
            f"({audit.error.strerror or audit.error}): no mint was started after that; the "
            "results above are complete, but the log is missing records of this run",
            err=True,
        )
    if output_error is not None:
        click.echo(
            f"rtconfig: error: --output {output} could not be written "
            f"({output_error.strerror or output_error}); the results are on stdout only",
            err=True,
        )
    if signum is not None:
        return EXIT_SIGNAL_BASE + signum
    if failed or audit.error is not None or output_error is not None:
        return EXIT_MINT_FAILED
    return EXIT_OK


class _FailSafeAudit:
    """The run's audit log, failing safe: when a record cannot be written (a full disk, a
    failed fsync), no new mint starts — it could not be audited — and the run still ends by
    printing every result, so that no token already minted is lost. Exits 3."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self.error: OSError | None = None
        self.on_failure: Callable[[], None] = lambda: None
        self._lock = threading.Lock()

    def emit(self, event: str, /, **fields: Any) -> None:
        try:
            self._audit.emit(event, **fields)
        except OSError as exc:
            self._failed(exc)

    def add_secret(self, secret: str) -> None:
        self._audit.add_secret(secret)

    def close(self) -> None:
        try:
            self._audit.close()
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.on_failure()


class _graceful_stop:
    """On SIGINT/SIGTERM: stop starting mints, let in-flight ones finish; a second signal
    exits at once. Yields a list that holds the signal number once one arrived."""

    def __init__(self, applier: Applier) -> None:
        self._applier = applier
        self._received: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> list[int]:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self._received

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._received:
            os.write(2, b"rtconfig: second interrupt: exiting now\n")
            os._exit(EXIT_SIGNAL_BASE + signum)
        self._received.append(signum)
        self._applier.stop()
        os.write(
            2,
            b"rtconfig: interrupted: starting no new mints; waiting for the ones in flight "
            b"(interrupt again to exit at once)\n",
        )


class _Progress:
    """One human line per template on stderr (a counter line instead, for many on a TTY)."""

    def __init__(self, total: int) -> None:
        self._total = total
        self._done = 0
        self._lock = threading.Lock()
        self._bar = total > PROGRESS_BAR_THRESHOLD and sys.stderr.isatty()

    def report(self, result: MintResult) -> None:
        with self._lock:
            self._done += 1
            line = _describe(result)
            if self._bar:
                if not result.ok:
                    click.echo("\r\x1b[K" + line, err=True)
                click.echo(f"\r\x1b[Kminting: {self._done}/{self._total}", err=True, nl=False)
            else:
                click.echo(line, err=True)

    def done(self) -> None:
        if self._bar:
            click.echo("", err=True)


def _describe(result: MintResult) -> str:
    label = f"{result.template}" + (f" [{result.env}]" if result.env else "")
    if result.ok:
        attempts = f", {result.attempts} attempts" if result.attempts > 1 else ""
        expires = f", expires {_utc(result.expires_at)}" if result.expires_at is not None else ""
        return (
            f"minted  {label} ({result.endpoint.value}): session {result.session_id}"
            f"{expires}, {result.latency_ms:g} ms{attempts}"
        )
    assert result.error is not None
    verb = "skipped" if result.error.type == "cancelled" else "FAILED "
    return f"{verb} {label} ({result.endpoint.value}): {_failure_text(result.error)}"


def _utc(timestamp: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _failure_text(error: MintFailure) -> str:
    return str(error)


def _label(job: MintJob) -> str:
    return job.template + (f" [{job.env}]" if job.env else "")


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


def check_output_path(output: str, audit_path: Path) -> None:
    """Refuse, before anything is sent, an ``--output`` that is no place for tokens."""
    from rtconfig._files import FileRefused, refuse_unwritable

    try:
        refuse_unwritable(output, not_onto=(audit_path,))
    except FileRefused as exc:
        raise UsageError(f"--output {output}: it {exc.message}") from None
