"""What every command shares: the group, error handling, common options, diagnostic output."""

from __future__ import annotations

import functools
import gc
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, TypeVar

import click
from click.core import ParameterSource

from rtconfig._environ import process_environ, set_process_default
from rtconfig._errors import ConfigError, Diagnostic, RtconfigError, redact_key_like
from rtconfig._version import __version__

F = TypeVar("F", bound=Callable[..., Any])

# Which module registers each command: a run imports only its command's module.
COMMAND_MODULES = {
    "validate": "_core",
    "render": "_core",
    "explain": "_core",
    "schema": "_core",
    "plan": "_plan",
    "lock": "_plan",
    "show": "_plan",
    "import": "_plan",
    "apply": "_apply",
    "emulate": "_apply",
    "serve": "_serve",
    "call": "_call",
    "migrate": "_migrate",
}

#: Every ``--json`` output carries ``"format_version"`` (CONTRACT §13); bumped on a breaking change.
FORMAT_VERSION = 1


def _no_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[NO_COLOR_META] = True


NO_COLOR_META = "rtconfig.no_color"


def color_option(func: F) -> F:
    """``--no-color``, accepted on the group (``rtconfig --no-color plan``) and on commands."""
    return click.option(
        "--no-color",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_no_color,
        help="Never colour the output (also: NO_COLOR=1, TERM=dumb; FORCE_COLOR=1 forces it).",
    )(func)


def load_commands(name: str | None = None) -> None:
    """Import the module that registers command ``name`` (every command module by default)."""
    modules = {COMMAND_MODULES[name]} if name in COMMAND_MODULES else set(COMMAND_MODULES.values())
    for module in sorted(modules):
        importlib.import_module(f"rtconfig._cli.{module}")


class _LazyGroup(click.Group):
    """A group that imports a command's module when the command is looked up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            load_commands(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", "-V", prog_name="rtconfig")
@color_option
def main() -> None:
    """rtconfig: OpenAI Realtime session configuration as code.

    Declare session templates in sessions.toml; validate, render, explain, plan, lock and mint
    them.
    """
    # A CLI run is one short process that builds many small, acyclic objects (a 10,000-template
    # file makes millions): at the default thresholds the cyclic collector is half of validate's
    # time. Collect far less often; almost nothing here forms cycles, so memory stays bounded.
    gc.set_threshold(100_000, 50, 50)
    # pydantic scans installed packages for plugins on first use (~40 ms) and rtconfig uses none;
    # a user who wants plugins can still set the variable.
    set_process_default("PYDANTIC_DISABLE_PLUGINS", "__all__")


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Diagnostics go to stderr, one per line, in the contract's format."""
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)


def handle_errors(func: F) -> F:
    """Turn rtconfig's errors into messages and exit codes; anything else is reported as a bug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            print_diagnostics(exc.diagnostics)
            sys.exit(exc.exit_code)
        except RtconfigError as exc:
            click.echo(f"rtconfig: error: {redact_key_like(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (`rtconfig explain … | head`): stop quietly, like cat does.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except OSError as exc:
            text = f"{exc.strerror or exc}: {exc.filename or ''}"
            click.echo(f"rtconfig: error: {redact_key_like(text)}", err=True)
            sys.exit(1)
        except Exception as exc:  # a bug: say so, without a traceback unless asked for
            if process_environ().get("RTCONFIG_DEBUG"):
                raise
            click.echo(
                f"rtconfig: internal error ({type(exc).__name__}): this is a bug in rtconfig "
                f"{__version__}; please report it (set RTCONFIG_DEBUG=1 for the traceback)",
                err=True,
            )
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


ENV_VARIABLE = "RTCONFIG_ENV"


def _one_env(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """``--env`` at most once: a second one is refused, not silently taken over the first."""
    if ctx.get_parameter_source(param.name or "env") is ParameterSource.ENVIRONMENT:
        raw = process_environ().get(ENV_VARIABLE, "").strip()
        return raw or None
    if len(values) > 1:
        raise click.BadParameter(
            f"given {len(values)} times ({', '.join(map(repr, values))}); a command works on one "
            "environment: give --env once",
            ctx=ctx,
            param=param,
        )
    return values[0] if values else None


def env_option(func: F) -> F:
    from rtconfig._cli._complete import complete_environments

    return click.option(
        "--env",
        "-e",
        "env",
        metavar="E",
        envvar=ENV_VARIABLE,
        multiple=True,
        callback=_one_env,
        shell_complete=complete_environments,
        help="Environment to resolve for (default: $RTCONFIG_ENV, else none).",
    )(func)


def env_source() -> str | None:
    """``RTCONFIG_ENV`` when the running command's environment came from that variable (so an
    unknown one is reported there), else None."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.get_parameter_source("env") is ParameterSource.ENVIRONMENT:
        return ENV_VARIABLE
    return None


def use_color(stream: IO[Any], environ: Mapping[str, str]) -> bool:
    """Colour on a terminal unless told otherwise: ``--no-color`` or ``NO_COLOR``
    (https://no-color.org) turn it off, ``FORCE_COLOR`` (https://force-color.org) turns it on
    even when piped, and ``TERM=dumb`` turns it off on a terminal."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get(NO_COLOR_META):
        return False
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def templates_option(verb: str) -> Callable[[F], F]:
    """``-t/--template T`` (repeatable), shared by the commands that select templates."""
    from rtconfig._cli._complete import complete_templates

    return click.option(
        "-t",
        "--template",
        "templates",
        multiple=True,
        metavar="T",
        shell_complete=complete_templates,
        help=f"{verb} only this template (repeatable; default: every non-abstract template).",
    )


def set_option(func: F) -> F:
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="T.PATH=VALUE",
        help="Override a field (repeatable); VALUE is JSON, else a plain string.",
    )(func)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(diagnostic: Diagnostic, *, strict: bool = False) -> str:
    """One GitHub Actions workflow command (``::error file=…,line=…,col=…,title=…::message``),
    as ruff's ``--output-format github`` writes them: the job log shows it and the pull
    request's diff carries it on the line. A warning is an error under ``--strict`` (it fails
    the job)."""
    level = "error" if diagnostic.severity == "error" or strict else "warning"
    properties = []
    # Only real files: a diagnostic about a variable or --set names that in its message.
    file = diagnostic.file
    if file is not None and (diagnostic.line is not None or os.path.isfile(file)):
        properties.append(f"file={_escape_property(file)}")
        if diagnostic.line is not None:
            properties += [f"line={diagnostic.line}", f"col={diagnostic.col or 1}"]
    properties.append("title=rtconfig")
    return f"::{level} {','.join(properties)}::{_escape_data(str(diagnostic))}"


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
