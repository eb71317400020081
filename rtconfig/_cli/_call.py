"""``rtconfig call accept|reject|hangup|refer``: the SIP call carriers (CONTRACT §10), with
apply's settings, retries, audit log and exit codes (0 done; 1 invalid, nothing sent; 3 the
request failed). httpx is imported inside the commands only."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rtconfig._cli._common import env_option, handle_errors, main, print_diagnostics, set_option
from rtconfig._config import load
from rtconfig._environ import process_environ

if TYPE_CHECKING:
    from rtconfig._apply.calls import Call
    from rtconfig._apply.engine import Applier

FILE = click.Path(dir_okay=False, path_type=str)


def _call_id_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--call-id",
        required=True,
        metavar="ID",
        help="The call's id (rtc_…), from the realtime.call.incoming webhook's data.call_id.",
    )(func)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--audit-log",
        type=click.Path(dir_okay=False, path_type=str),
        metavar="P",
        help="Append audit records here (default: .rtconfig/audit.jsonl beside FILE).",
    )(func)
    func = click.option("--base-url", metavar="URL", help="Send to this API base URL instead.")(
        func
    )
    return env_option(func)


@main.group()
def call() -> None:
    """Answer SIP calls (realtime.call.incoming): accept with a template, reject, hang up,
    transfer. Prints the result as JSON; exit 0 done, 1 invalid (nothing sent), 3 failed."""


def _run(file: str, audit_log: str | None, send: Callable[[Applier], Call]) -> None:
    from rtconfig._apply.engine import Applier
    from rtconfig.audit import AuditLog, default_audit_path

    path = Path(audit_log) if audit_log else default_audit_path(file)
    audit = AuditLog(path, environ=process_environ())
    try:
        with Applier(environ=process_environ(), audit=audit) as applier:
            result = send(applier)
    finally:
        audit.close()
    click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    label = f"call {result.action} {result.call_id or ''}".strip()
    if result.ok:
        click.echo(f"rtconfig: {label}: done; audit log {path}", err=True)
        sys.exit(0)
    click.echo(f"rtconfig: error: {label}: {result.error}; audit log {path}", err=True)
    sys.exit(3)


@call.command()
@click.argument("file", type=FILE)
@click.argument("template")
@_call_id_option
@_common
@set_option
@click.option("--locked", is_flag=True, help="Refuse a session that differs from the lock file.")
@handle_errors
def accept(
    file: str,
    template: str,
    call_id: str,
    env: str | None,
    base_url: str | None,
    audit_log: str | None,
    sets: tuple[str, ...],
    locked: bool,
) -> None:
    """Accept call ID with TEMPLATE's session (POST /realtime/calls/ID/accept)."""
    from rtconfig._carriers import call_session_for, check_call_id

    check_call_id(call_id)
    plan = load(file).plan(
        env=env,
        environ=process_environ(),
        templates=[template],
        sets=sets,
        base_url=base_url,
        compare_lock=locked,
    )
    print_diagnostics(plan.warnings)
    (record,) = plan.templates
    call_session_for(record)  # refuses beta, transcription and translation templates: exit 1
    if locked:
        from rtconfig._apply.run import check_locked

        check_locked(plan)
    _run(file, audit_log, lambda applier: applier.accept_call(record, call_id))


def _settings(file: str, env: str | None, base_url: str | None) -> Any:
    return load(file).settings(env=env, environ=process_environ(), base_url=base_url)


@call.command()
@click.argument("file", type=FILE)
@_call_id_option
@click.option(
    "--status",
    type=click.IntRange(400, 699),
    default=603,
    show_default=True,
    help="The SIP status sent to the caller (603 Decline, 486 Busy Here…).",
)
@_common
@handle_errors
def reject(
    file: str,
    call_id: str,
    status: int,
    env: str | None,
    base_url: str | None,
    audit_log: str | None,
) -> None:
    """Reject incoming call ID (POST /realtime/calls/ID/reject)."""
    from rtconfig._carriers import check_call_id

    check_call_id(call_id)
    settings = _settings(file, env, base_url)
    _run(file, audit_log, lambda a: a.reject_call(call_id, status, settings=settings))


@call.command()
@click.argument("file", type=FILE)
@_call_id_option
@_common
@handle_errors
def hangup(
    file: str, call_id: str, env: str | None, base_url: str | None, audit_log: str | None
) -> None:
    """Hang up call ID (POST /realtime/calls/ID/hangup)."""
    from rtconfig._carriers import check_call_id

    check_call_id(call_id)
    settings = _settings(file, env, base_url)
    _run(file, audit_log, lambda a: a.hangup_call(call_id, settings=settings))


@call.command()
@click.argument("file", type=FILE)
@_call_id_option
@click.option("--target", required=True, metavar="URI", help="tel:+1… or sip:…")
@_common
@handle_errors
def refer(
    file: str,
    call_id: str,
    target: str,
    env: str | None,
    base_url: str | None,
    audit_log: str | None,
) -> None:
    """Transfer call ID to URI (POST /realtime/calls/ID/refer)."""
    from rtconfig._carriers import check_call_id, refer_call_request

    check_call_id(call_id)
    refer_call_request(call_id, target)  # a bad target: exit 2 before anything is sent
    settings = _settings(file, env, base_url)
    _run(file, audit_log, lambda a: a.refer_call(call_id, target, settings=settings))
