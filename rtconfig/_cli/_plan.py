"""``plan``, ``lock`` and ``import``: what apply would send, the lock file, and templates from
session objects. None of them touches the network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from rtconfig._cli._common import (
    color_option,
    echo_json,
    env_option,
    env_source,
    handle_errors,
    main,
    print_diagnostics,
    set_option,
    templates_option,
    use_color,
)
from rtconfig._codes import DiagnosticCode
from rtconfig._codes import DiagnosticCode as C
from rtconfig._config import ALL_ENVIRONMENTS, load
from rtconfig._endpoints import Endpoint
from rtconfig._environ import process_environ
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._loader import MAX_NESTING_DEPTH, deeper_than

FILE = click.Path(dir_okay=False, path_type=str)

EXIT_SAME = 0
EXIT_ERROR = 1
EXIT_DIFFERS = 2


@main.command()
@click.argument("file", type=FILE)
@env_option
@templates_option("Plan")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the plan as JSON on stdout (indented on a terminal, one line when piped).",
)
@click.option(
    "--out",
    metavar="PLAN",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also save the plan (exact bodies and a fingerprint of every input) for `apply PLAN`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing differs from the lock file, 2 when something does (or there is "
    "no lock file), 1 on error.",
)
@click.option(
    "--explain",
    "-v",
    "--verbose",
    "explain",
    is_flag=True,
    help="Show where each value came from (with --json too), and the fields and templates "
    "hidden otherwise.",
)
@set_option
@color_option
@click.pass_context
@handle_errors
def plan(
    ctx: click.Context,
    file: str,
    env: str | None,
    templates: tuple[str, ...],
    as_json: bool,
    out: str | None,
    detailed_exitcode: bool,
    explain: bool,
    sets: tuple[str, ...],
) -> None:
    """Show what apply would send, field by field, against the spec's defaults and the lock file.

    Plans the environment given by --env (or $RTCONFIG_ENV), else the default environment.
    """
    from rtconfig._plan.render import plan_json, render_text

    the_plan = load(file).plan(
        # From RTCONFIG_ENV: let the library read it, so that an unknown one is reported there.
        env=None if env_source() else env,
        environ=process_environ(),
        templates=list(templates) or None,
        sets=sets,
    )
    print_diagnostics(the_plan.warnings)
    if out is not None:
        from rtconfig._plan.saved import write_saved_plan

        write_saved_plan(
            out,
            the_plan,
            config_path=file,
            environ=process_environ(),
            sets=sets,
            selected=list(templates) or None,
            env_from_variable=ctx.get_parameter_source("env") is ParameterSource.ENVIRONMENT,
        )
    if as_json:
        data = plan_json(the_plan, origins=explain)
        if sys.stdout.isatty():
            echo_json(data)
        else:
            # Piped, for a program: one line. The standard library indents in pure Python,
            # which costs more than planning itself on large files.
            click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    else:
        color = use_color(sys.stdout, process_environ())
        click.echo(render_text(the_plan, color=color, explain=explain), nl=False, color=color)
    if out is not None:
        click.echo(
            f"rtconfig: saved the plan to {out}; `rtconfig apply {out}` sends exactly these bodies",
            err=True,
        )
    if detailed_exitcode:
        sys.exit(EXIT_DIFFERS if the_plan.differs_from_lock else EXIT_SAME)


@main.command()
@click.argument("plan_file", metavar="PLAN", type=FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the saved plan as JSON on stdout.")
@click.option(
    "--explain",
    "-v",
    "--verbose",
    "explain",
    is_flag=True,
    help="Show where each value came from, and every field and template.",
)
@color_option
@handle_errors
def show(plan_file: str, as_json: bool, explain: bool) -> None:
    """Print a saved plan (from `plan --out`) as `plan` printed it, with nothing re-resolved.

    A note on stderr says when the plan is stale (`apply PLAN` would then refuse it).
    """
    from dataclasses import replace

    from rtconfig._plan.make import with_fields
    from rtconfig._plan.render import plan_json, render_text
    from rtconfig._plan.saved import read_saved_plan, stale_reasons

    saved = read_saved_plan(plan_file, process_environ(), check=False)
    the_plan = saved.plan(process_environ())
    # The records keep how each compared with the lock file when the plan was made; their
    # comparison with the spec's defaults is made again from the saved bodies.
    the_plan = replace(
        the_plan,
        templates=tuple(with_fields(t) for t in the_plan.templates),
        locked=any(t.lock_status is not None for t in the_plan.templates),
    )
    if as_json:
        echo_json(plan_json(the_plan, origins=explain) | {"saved_at": saved.created_at})
    else:
        envs = ", ".join(e if e is not None else "default environment" for e in saved.envs)
        title = (
            f"rtconfig show: {plan_file}, planned {saved.created_at} from "
            f"{saved.config_file} [{envs}]"
        )
        color = use_color(sys.stdout, process_environ())
        text = render_text(the_plan, color=color, explain=explain, title=title)
        click.echo(text, nl=False, color=color)
    reasons = stale_reasons(saved, process_environ())
    if reasons:
        click.echo(
            f"rtconfig: note: this plan is stale ({'; '.join(reasons)}): `rtconfig apply "
            f"{plan_file}` would refuse it; make it again with `rtconfig plan --out`",
            err=True,
        )


@main.command()
@click.argument("file", type=FILE)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 naming every stale, missing or removed pair.",
)
@handle_errors
def lock(file: str, check_only: bool) -> None:
    """Write <stem>.lock.json beside FILE: every (template, environment) body and its sha256."""
    from rtconfig._plan.lock import build_lock, lock_path_for, read_lock, write_lock
    from rtconfig._plan.records import PlanRecord
    from rtconfig._plan.render import lock_staleness

    config = load(file)
    result = config.check(envs=ALL_ENVIRONMENTS, environ=process_environ())
    result.raise_for_errors()
    print_diagnostics(result.warnings)
    overrides = sorted(v for v in process_environ() if v.upper().startswith("RTCONFIG__"))
    if overrides:
        click.echo(
            "rtconfig: note: these variables change the bodies and are part of the lock: "
            + ", ".join(overrides),
            err=True,
        )
    records = [PlanRecord.from_resolved(t) for t in result.templates]
    current = build_lock(records)
    path = lock_path_for(file)
    pairs = len(current.entries)
    if check_only:
        problems = lock_staleness(current, read_lock(path), str(path))
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            click.echo(
                f"rtconfig: {path} is stale ({len(problems)} problem"
                f"{'s' * (len(problems) != 1)}); run `rtconfig lock {file}` to update it",
                err=True,
            )
            sys.exit(EXIT_ERROR)
        click.echo(f"{path} is up to date ({pairs} template/environment pairs)")
        return
    if write_lock(path, current):
        click.echo(f"wrote {path} ({pairs} template/environment pairs)")
    else:
        click.echo(f"{path} is already up to date ({pairs} template/environment pairs)")


@main.command("import")
@click.argument(
    "session_file",
    metavar="SESSION.json",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=str),
)
@click.option("--name", metavar="N", help="Template name (default: from the file name).")
@click.option(
    "--endpoint",
    type=click.Choice([e.value for e in Endpoint]),
    help="The endpoint the session belongs to (default: inferred from its shape).",
)
@handle_errors
def import_(session_file: str, name: str | None, endpoint: str | None) -> None:
    """Print a TOML template made from a session object or response (- reads stdin).

    Response-only fields (ids, the token) and fields at their spec default are dropped.
    """
    from rtconfig._files import IMPORT_JSON, FileRefused, read_file, read_stream
    from rtconfig._importer import import_session, template_name_from, to_toml

    shown = "<stdin>" if session_file == "-" else session_file
    try:
        if session_file == "-":
            raw = read_stream(sys.stdin.buffer, IMPORT_JSON)
        else:
            raw = read_file(session_file, IMPORT_JSON)
        data = json.loads(raw.decode("utf-8"))
    except FileRefused as exc:
        raise ConfigError.single(exc.message, code=exc.code, file=shown) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError.single(f"not valid JSON: {exc}", code=C.TOML_SYNTAX, file=shown) from None
    except RecursionError:
        data = None
    if data is None or deeper_than(data, MAX_NESTING_DEPTH) is not None:
        raise ConfigError.single(
            f"the JSON nests more than {MAX_NESTING_DEPTH} levels deep (the limit)",
            code=C.LIMIT_EXCEEDED,
            file=shown,
        )
    imported = import_session(
        data,
        name=name or template_name_from(session_file),
        endpoint=Endpoint(endpoint) if endpoint else None,
        source=shown,
    )
    print_diagnostics(imported.warnings)
    text = to_toml(imported, source=shown)
    _refuse_what_validate_refuses(text, shown)
    click.echo(text, nl=False)


def _refuse_what_validate_refuses(text: str, shown: str) -> None:
    """Print no TOML that ``rtconfig validate`` would refuse (a key-like string, a value out of
    range): the errors are raised instead, naming the TOML that would have been written."""
    from rtconfig._config import Config
    from rtconfig._loader import parse_document
    from rtconfig._sources import read_sources

    display = f"{shown} (imported as TOML)"
    document = parse_document(text, display)
    check = Config(read_sources(document, Path.cwd())).check(environ={})
    errors = [d for d in check.diagnostics if d.severity == "error"]
    if errors:
        note = Diagnostic(
            "error",
            "the imported template would not pass `rtconfig validate`; nothing was printed",
            code=DiagnosticCode.INVALID_IMPORT,
            file=shown,
        )
        raise ConfigError([*errors, note])
