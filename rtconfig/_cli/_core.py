"""``validate``, ``render``, ``explain``, ``schema``: the commands that never touch the network."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from rtconfig._cli._common import (
    FORMAT_VERSION,
    echo_json,
    env_option,
    env_source,
    github_annotation,
    handle_errors,
    main,
    print_diagnostics,
    set_option,
)
from rtconfig._cli._complete import complete_templates
from rtconfig._codes import DiagnosticCode as C
from rtconfig._config import ALL_ENVIRONMENTS, load
from rtconfig._environ import process_environ
from rtconfig._errors import ConfigError
from rtconfig._keys import KeyPath, format_path, label
from rtconfig._origins import FieldRecord
from rtconfig._resolver import ResolvedTemplate

FILE = click.Path(dir_okay=False, path_type=str)


@main.command()
@click.argument("file", type=FILE)
@env_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: diagnostics on stderr; json: one JSON document on stdout; github: GitHub "
    "Actions annotations (::error file=…,line=…::) on stdout, one per problem.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (--format json).")
@click.option(
    "--strict/--no-strict",
    default=False,
    help="Treat warnings (unknown models, voices) as errors (the pre-commit hook's default).",
)
@set_option
@handle_errors
def validate(
    file: str,
    env: str | None,
    output_format: str,
    as_json: bool,
    strict: bool,
    sets: tuple[str, ...],
) -> None:
    """Check every template (in every environment unless --env) against its endpoint."""
    as_json = as_json or output_format == "json"
    try:
        config = load(file)
        check = config.check(
            envs=[env] if env else ALL_ENVIRONMENTS,
            environ=process_environ(),
            sets=sets,
            env_source=env_source(),
        )
        diagnostics = check.diagnostics
    except ConfigError as exc:  # unreadable or not TOML: still one answer in the asked format
        config, check, diagnostics = None, None, exc.diagnostics
    valid = not any(d.severity == "error" or strict for d in diagnostics)
    if as_json:
        echo_json(
            {
                "format_version": FORMAT_VERSION,
                "valid": valid,
                "diagnostics": [d.to_json() for d in diagnostics],
            }
        )
    else:
        if output_format == "github":
            for diagnostic in diagnostics:
                click.echo(github_annotation(diagnostic, strict=strict))
        else:
            print_diagnostics(diagnostics)
        if config is not None and check is not None and valid:
            envs = [env] if env else ["(default)", *config.environments]
            names = {t.name for t in check.templates}
            warnings = len(check.warnings)
            click.echo(
                f"{file} is valid: {len(names)} template{'s' * (len(names) != 1)} in "
                f"{', '.join(envs)}"
                + (f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""),
            )
        else:
            errors = sum(d.severity == "error" or strict for d in diagnostics)
            click.echo(f"{file} is invalid: {errors} problem{'s' * (errors != 1)}", err=True)
    sys.exit(0 if valid else 1)


@main.command()
@click.argument("file", type=FILE)
@click.argument("template", shell_complete=complete_templates)
@env_option
@set_option
@click.option(
    "--as",
    "carrier",
    type=click.Choice(["session.update", "call"]),
    default=None,
    help="Print what another carrier sends: the session.update client event, or the session "
    "object of a call (calls and SIP accept). Default: the minting request body.",
)
@handle_errors
def render(
    file: str, template: str, env: str | None, sets: tuple[str, ...], carrier: str | None
) -> None:
    """Print the exact JSON request body TEMPLATE would send, and nothing else."""
    from rtconfig._carriers import call_session_for, session_update

    resolved = load(file).resolve(
        template, env, environ=process_environ(), sets=sets, env_source=env_source()
    )
    if carrier == "session.update":
        output = session_update(resolved)
    elif carrier == "call":
        output = call_session_for(resolved)
    else:
        output = resolved.body
    print_diagnostics(resolved.warnings)
    echo_json(output)


@main.command()
@click.argument("file", type=FILE)
@click.argument("template", required=False, shell_complete=complete_templates)
@click.argument("path", required=False)
@env_option
@set_option
@click.option(
    "--settings",
    "show_settings",
    is_flag=True,
    help="Explain the [api] settings (base_url, endpoint, api_key_env, …) instead of the "
    "fields; TEMPLATE is then optional.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@handle_errors
def explain(
    file: str,
    template: str | None,
    path: str | None,
    env: str | None,
    sets: tuple[str, ...],
    show_settings: bool,
    as_json: bool,
) -> None:
    """Show each field's value, where it came from, and what it overrode.

    PATH narrows the output to one field or table (e.g. audio.output). With --settings, the
    same for the connection settings: rtconfig's defaults, OPENAI_ORG_ID/OPENAI_PROJECT_ID,
    [api], [environments.E.api], OPENAI_BASE_URL (and the template's own endpoint when TEMPLATE
    is given).
    """
    if template is None and not show_settings:
        raise click.UsageError("missing argument 'TEMPLATE' (or pass --settings)")
    if template is None and sets:
        raise click.UsageError(
            "--set sets a template's fields, not [api] settings: name the TEMPLATE to explain "
            "its settings with the override, or drop --set"
        )
    resolved, env_name, records = _explained(file, template, env, sets, show_settings)
    name = resolved.name if resolved is not None else None
    endpoint = resolved.endpoint.value if resolved is not None else None
    fields = [
        (format_path(leaf), record)
        for leaf, record in records.items()
        if path is None or _within(format_path(leaf), path)
    ]
    if path is not None and not fields:
        raise ConfigError.single(
            _not_found(None if show_settings else resolved, path),
            code=C.NOT_FOUND,
            file=file,
            template=template,
            env=env,
        )
    if as_json:
        key = "settings" if show_settings else "fields"
        echo_json(
            {
                "format_version": FORMAT_VERSION,
                "template": name,
                "env": env_name,
                "endpoint": endpoint,
                key: [_field_json(dotted, record) for dotted, record in fields],
            }
        )
        return
    title = label(name or "settings", env_name)
    if show_settings:
        click.echo(f"{title}: connection settings" if template else title)
    else:
        click.echo(f"{title} -> POST {endpoint}")
    _echo_records(fields)


def _explained(
    file: str, template: str | None, env: str | None, sets: tuple[str, ...], show_settings: bool
) -> tuple[ResolvedTemplate | None, str | None, dict[KeyPath, FieldRecord]]:
    """(template, environment, records) that ``explain`` shows: the template's fields, its
    connection settings (``--settings``), or the environment's settings (no TEMPLATE)."""
    config = load(file)
    environ = process_environ()
    if template is None:
        settings = config.resolve_settings(env, environ=environ, env_source=env_source())
        return None, settings.env, dict(sorted(settings.fields.items()))
    resolved = config.resolve(template, env, environ=environ, sets=sets, env_source=env_source())
    records = resolved.settings_records() if show_settings else dict(resolved.fields)
    return resolved, resolved.env, records


def _not_found(resolved: ResolvedTemplate | None, path: str) -> str:
    """Why ``explain``'s PATH shows nothing: not a field of the API, or set by no layer."""
    if resolved is None:
        return f"no setting at {path!r}: it is not set by any layer"
    from rtconfig._field_lookup import no_such_field

    session = resolved.body.get("session")
    kind = session.get("type") if isinstance(session, dict) else None
    problem = no_such_field(resolved.endpoint, kind, path)
    return problem or f"no field at {path!r}: it is not set by any layer (the API default applies)"


def _echo_records(fields: list[tuple[str, FieldRecord]]) -> None:
    for dotted, record in fields:
        click.echo(f"{dotted} = {_short(record.value)}")
        click.echo(f"    from {record.origin.describe()}")
        for value, origin in record.overridden:
            click.echo(f"    overrides {_short(value)} from {origin.describe()}")


def _within(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith((prefix + ".", prefix + "["))


def _field_json(dotted: str, record: FieldRecord) -> dict[str, Any]:
    return {
        "path": dotted,
        "value": record.value,
        "origin": record.origin.to_json(),
        "overridden": [
            {"value": value, "origin": origin.to_json()} for value, origin in record.overridden
        ],
    }


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@main.command()
@handle_errors
def schema() -> None:
    """Print the JSON Schema of sessions.toml, for editors (taplo, Even Better TOML)."""
    from rtconfig._file_schema import sessions_toml_schema

    echo_json(sessions_toml_schema())
