"""``apply`` (mint sessions) and ``emulate`` (a local OpenAI emulator in the foreground).

httpx and structlog are imported inside the commands, never at module level: importing this
module (which ``rtconfig validate`` does, to register the commands) must stay cheap.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rtconfig._cli._common import (
    env_option,
    env_source,
    handle_errors,
    main,
    print_diagnostics,
    set_option,
    templates_option,
)
from rtconfig._config import load
from rtconfig._environ import process_environ
from rtconfig._errors import UsageError
from rtconfig._plan.records import label
from rtconfig._redact import SecretRegistry, for_terminal, json_for_terminal

if TYPE_CHECKING:
    from rtconfig._apply.progress import MintRetrying
    from rtconfig._apply.results import ApplyReport, MintFailure, MintResult
    from rtconfig._plan.records import Plan

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
    help="Write the result JSON (tokens included) to P, mode 0600, atomically; stdout's JSON "
    'then shows every token as "(sensitive)".',
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
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress on stderr (retries, each template as it finishes); failures still show.",
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
    quiet: bool,
) -> None:
    """Mint one session per selected template and print the results as JSON.

    Exit 0 when every mint succeeded, 1 when the configuration is invalid (nothing is sent),
    3 when one or more mints failed, 130 when interrupted (Ctrl-C).
    """
    if emulate and base_url:
        raise UsageError("--emulate and --base-url cannot be combined")
    if output and not Path(output).absolute().parent.is_dir():
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
        the_plan = _saved_plan(file, env=env, templates=templates)
    else:
        the_plan = load(file).plan(
            env=None if env_source() else env,  # from RTCONFIG_ENV: reported there if unknown
            environ=process_environ(),
            templates=list(templates) or None,
            sets=sets,
            base_url=base_url,
            compare_lock=False,
        )
        print_diagnostics(the_plan.warnings)
    if locked:
        from rtconfig._apply.run import check_locked

        check_locked(the_plan)
    if dry_run:
        _dry_run(the_plan, output)
        return
    sys.exit(_mint(the_plan, concurrency, audit_log, output, emulate, quiet))


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


def _is_saved_plan(file: str) -> bool:
    from rtconfig._plan.saved import is_saved_plan

    # A .json that is not a plan goes down the plan path too, to be told what it is not.
    return file.endswith(".json") or is_saved_plan(file)


def _saved_plan(file: str, *, env: str | None, templates: Sequence[str]) -> Plan:
    """The exact records of a ``plan --out`` file (origins included: API errors still point
    at TOML lines); a stale plan is refused, naming what changed. Nothing is resolved again."""
    from rtconfig._plan.saved import read_saved_plan

    saved = read_saved_plan(file, process_environ())
    if env is not None and env not in saved.envs:
        shown = ", ".join(e or "(default)" for e in saved.envs)
        raise UsageError(f"{file} was planned for {shown}, not {env!r}; make a plan for {env!r}")
    plan = saved.plan(process_environ())
    if templates:
        known = {t.name for t in plan.templates}
        unknown = [name for name in templates if name not in known]
        if unknown:
            raise UsageError(
                f"{file} does not plan {', '.join(map(repr, unknown))}"
                f" (it plans {', '.join(sorted(known))})"
            )
        plan = replace(plan, templates=tuple(t for t in plan.templates if t.name in templates))
    return plan


# ---------------------------------------------------------------------------------------------
# Dry run
# ---------------------------------------------------------------------------------------------


def _dry_run(plan: Plan, output: str | None) -> None:
    from rtconfig._apply.run import dry_run_requests, write_private
    from rtconfig.audit import new_run_id

    environ = process_environ()
    requests = dry_run_requests(plan, environ)
    for request in requests:
        if not request.pop("key_set"):
            name = next(
                t.settings.api_key_env
                for t in plan.templates
                if (t.name, t.env) == (request["template"], request["env"])
            )
            click.echo(
                f"rtconfig: warning: {label(request['template'], request['env'])}: {name} is "
                "not set; a real apply would refuse to start",
                err=True,
            )
    document = {
        "format_version": 1,
        "run_id": new_run_id(),
        "dry_run": True,
        "results": [],
        "requests": requests,
    }
    # The same redaction as apply's stdout: a key that reached a body, a header or the URL
    # (through --set, a variable, a base URL) is cut out, in every encoding it may take.
    keys = SecretRegistry(environ.get(t.settings.api_key_env, "") for t in plan.templates)
    text = keys.scrub(json.dumps(document, indent=2, ensure_ascii=False))
    if output:
        write_private(output, text + "\n")
    click.echo(json_for_terminal(text))
    click.echo(f"rtconfig: dry run: {len(requests)} request(s) shown, nothing sent", err=True)


# ---------------------------------------------------------------------------------------------
# Minting
# ---------------------------------------------------------------------------------------------


def _mint(
    plan: Plan,
    concurrency: int | None,
    audit_log: str | None,
    output: str | None,
    emulate: bool,
    quiet: bool,
) -> int:
    import rtconfig

    emulator = None
    environ: Mapping[str, str] = process_environ()
    if emulate:
        from rtconfig.testing import EMULATOR_API_KEY, Emulator

        emulator = Emulator().start()
        plan = replace(
            plan,
            templates=tuple(
                replace(t, settings=replace(t.settings, base_url=emulator.base_url))
                for t in plan.templates
            ),
        )
        environ = {t.settings.api_key_env: EMULATOR_API_KEY for t in plan.templates}
        click.echo(
            f"rtconfig: --emulate: minting against the in-process emulator at "
            f"{emulator.base_url}; the tokens are EMULATED and will not work with OpenAI",
            err=True,
        )
    keys = [environ.get(t.settings.api_key_env, "") for t in plan.templates]
    progress = _Progress(len(plan.templates), SecretRegistry(keys), quiet=quiet)
    try:
        report = rtconfig.apply(
            plan,
            audit_log=audit_log,
            environ=environ,
            concurrency=concurrency,
            output=output,
            on_result=progress.report,
            on_progress=progress.retrying,
            handle_signals=True,
            started={"emulated": emulate},
        )
    finally:
        if emulator is not None:
            emulator.close()
    progress.done()
    # With --output the tokens are in the file only; on stdout each is "(sensitive)" (CONTRACT
    # §13) — unless the file could not be written, when stdout is the only copy. stdout never
    # holds the key, nor terminal controls left raw.
    sensitive = output is None or report.output_error is not None
    text = json.dumps(report.to_json(sensitive=sensitive), indent=2, ensure_ascii=False)
    click.echo(json_for_terminal(SecretRegistry(keys).scrub(text)))
    if not (quiet and report.ok):
        _summary(report, output)
    return report.exit_code


def _summary(report: ApplyReport, output: str | None) -> None:
    click.echo(
        f"rtconfig: {report.minted} minted, {report.failed} failed"
        + (" (interrupted)" if report.interrupted else "")
        + f"; run {report.run_id}; audit log {report.audit_log}",
        err=True,
    )
    if report.audit_error is not None:
        error = report.audit_error
        reason = getattr(error, "strerror", None) or error
        click.echo(
            f"rtconfig: error: the audit log {report.audit_log} could not be written "
            f"({reason}): no mint was started after that; the "
            "results above are complete, but the log is missing records of this run",
            err=True,
        )
    if report.output_error is not None:
        click.echo(
            f"rtconfig: error: --output {output} could not be written "
            f"({report.output_error.strerror or report.output_error}); the results are on "
            "stdout only",
            err=True,
        )


class _Progress:
    """Progress on stderr, as Terraform reports it: a line when a mint waits to retry, one line
    per template as it finishes (on a TTY with many templates, a counter line instead of the
    successes). Plain lines when stderr is not a TTY; ``quiet``: failures only."""

    def __init__(self, total: int, secrets: SecretRegistry, *, quiet: bool = False) -> None:
        self._secrets = secrets  # the key, then each token as its result arrives
        self._total = total
        self._done = 0
        self._lock = threading.Lock()
        self._quiet = quiet
        self._bar = total > PROGRESS_BAR_THRESHOLD and sys.stderr.isatty() and not quiet

    def retrying(self, event: MintRetrying) -> None:
        """``support [production]: still minting (attempt 2 after 429, waiting 2 s)``."""
        if self._quiet:
            return
        line = (
            f"{event.label}: still minting (attempt {event.attempt} after {event.reason}, "
            f"waiting {event.delay_s:.2g} s)"
        )
        with self._lock:
            click.echo(("\r\x1b[K" if self._bar else "") + line, err=True)

    def report(self, result: MintResult) -> None:
        with self._lock:
            self._done += 1
            # Server text: every secret of the run cut out, control characters escaped.
            line = for_terminal(_describe(result), self._secrets)
            if result.client_secret:
                self._secrets.add(result.client_secret)
            if self._quiet:
                if not result.ok:
                    click.echo(line, err=True)
            elif self._bar:
                if not result.ok:
                    click.echo("\r\x1b[K" + line, err=True)
                click.echo(f"\r\x1b[Kminting: {self._done}/{self._total}", err=True, nl=False)
            else:
                click.echo(line, err=True)

    def done(self) -> None:
        if self._bar:
            click.echo("", err=True)


def _describe(result: MintResult) -> str:
    label = result.label
    if result.ok:
        attempts = f", {result.attempts} attempts" if result.attempts > 1 else ""
        expires = f", expires {_utc(result.expires_at)}" if result.expires_at is not None else ""
        return (
            f"minted  {label} ({result.endpoint.value}): session {result.session_id}"
            f"{expires}, {result.latency_ms:g} ms{attempts}"
        )
    assert result.error is not None
    verb = "skipped" if result.error.kind == "cancelled" else "FAILED "
    return f"{verb} {label} ({result.endpoint.value}): {_failure_text(result.error)}"


def _utc(timestamp: int) -> str:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(timestamp)


def _failure_text(error: MintFailure) -> str:
    return str(error)


def check_output_path(output: str, audit_path: Path) -> None:
    """Refuse, before anything is sent, an ``--output`` that is no place for tokens."""
    from rtconfig._files import FileRefused, refuse_unwritable

    try:
        refuse_unwritable(output, not_onto=(audit_path,))
    except FileRefused as exc:
        raise UsageError(f"--output {output}: it {exc.message}") from None
