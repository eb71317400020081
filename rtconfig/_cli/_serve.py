"""``rtconfig serve``: the token-vending and call-setup server (CONTRACT §11)."""

from __future__ import annotations

import importlib.util
import sys

import click

from rtconfig._cli._common import env_option, handle_errors, main
from rtconfig._config import load

_NEEDS = ("starlette", "uvicorn", "prometheus_client", "limits", "redis")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@env_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--audit-log",
    metavar="P",
    default=None,
    help="Audit log path (default: .rtconfig/audit.jsonl beside FILE).",
)
@handle_errors
def serve(file: str, env: str | None, host: str, port: int, audit_log: str | None) -> None:
    """Serve FILE's [serve] templates over HTTP: tokens, WebRTC calls and SIP webhooks.

    Needs the serve extra. Every template is validated before the server listens; SIGTERM
    drains in-flight requests, then exits 0.
    """
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        from rtconfig.serve import install_hint

        click.echo(
            f"rtconfig: error: rtconfig serve needs the serve extra (missing: "
            f"{', '.join(missing)}); install it with: {install_hint()}",
            err=True,
        )
        sys.exit(1)
    from rtconfig.serve._server import run

    config = load(file)
    sys.exit(run(config, env=env, host=host, port=port, audit_log=audit_log))
