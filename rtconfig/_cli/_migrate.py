"""``migrate``: rewrite a sessions.toml's beta templates for the GA endpoint (CONTRACT §9)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rtconfig._cli._common import handle_errors, main, print_diagnostics
from rtconfig._codes import DiagnosticCode as C
from rtconfig._environ import process_environ
from rtconfig._errors import Diagnostic

FILE = click.Path(dir_okay=False, path_type=str)


@main.command()
@click.argument("file", type=FILE)
@click.option("--write", is_flag=True, help="Rewrite FILE in place (atomically).")
@click.option(
    "--check", is_flag=True, help="Print nothing on stdout; exit 1 when FILE would change."
)
@click.option(
    "--models",
    is_flag=True,
    help="Also replace every model with an announced shutdown by its replacement.",
)
@handle_errors
def migrate(file: str, write: bool, check: bool, models: bool) -> None:
    """Rewrite FILE's beta templates into the GA realtime/client_secrets shape.

    Keeps comments, key order and formatting wherever a key does not change. Without --write,
    prints a unified diff and changes nothing. What cannot be carried over (temperature, both
    modalities, RTCONFIG__ variables and lock entries naming beta paths) is reported on stderr
    at its file:line.
    """
    from rtconfig._files import atomic_write
    from rtconfig._loader import read_document
    from rtconfig._migrate import migrate_text

    if write and check:
        raise click.UsageError("--write and --check cannot be used together")
    path = Path(file)
    text = read_document(path, display=file).text  # refuses FIFOs, huge files, bad UTF-8
    result = migrate_text(
        text,
        file,
        base_dir=path.resolve().parent,
        models=models,
        environ=process_environ(),
        lock_path=path.with_name(f"{path.stem}.lock.json"),
    )
    print_diagnostics(result.diagnostics)
    if not result.ok:
        shut_down = any(
            d.severity == "error" and (d.path or "").endswith("model") for d in result.diagnostics
        )
        hint = (
            " (`rtconfig migrate --models` replaces a model that was shut down)"
            if shut_down and not models
            else ""
        )
        print_diagnostics(
            [
                Diagnostic(
                    "error",
                    "not migrated: fix the errors above (nothing was written)" + hint,
                    code=C.MIGRATE_REFUSED,
                    file=file,
                )
            ]
        )
        sys.exit(1)
    if check:
        sys.exit(1 if result.changed else 0)
    if not result.changed:
        click.echo(f"{file}: nothing to migrate", err=True)
        return
    if write:
        atomic_write(path, result.migrated)
        click.echo(f"{file}: migrated to realtime/client_secrets", err=True)
    else:
        click.echo(result.diff(), nl=False)
