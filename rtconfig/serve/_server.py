"""``rtconfig serve``: the app on uvicorn (one process), one startup line, SIGTERM drains.

The socket is bound here before uvicorn starts, so the startup line states the real address
(``--port 0`` picks a free one) and nothing is served before every template is validated.
"""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Mapping
from types import FrameType
from typing import TextIO

from rtconfig._config import Config
from rtconfig._environ import process_environ
from rtconfig._errors import RtconfigError
from rtconfig.serve._decide import is_loopback_host

__all__ = ["GRACEFUL_SHUTDOWN_S", "bind", "run", "startup_line"]

#: How long SIGTERM waits for in-flight requests before closing them.
GRACEFUL_SHUTDOWN_S = 30


class BindError(RtconfigError):
    exit_code = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        raise BindError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def startup_line(
    url: str, templates: list[str], tokens_env: str | None, custom_auth: bool, sip: int
) -> str:
    """The one line a deployment's log shows when the server is up."""
    if custom_auth:
        auth = "callers authorized by a custom authorizer"
    elif tokens_env:
        auth = f"bearer tokens required ({tokens_env})"
    else:
        auth = "NO tokens required (loopback only, for local development)"
    served = ", ".join(templates) if templates else "(none)"
    routed = f"; SIP webhook on, {sip} rule{'s' * (sip != 1)}" if sip else ""
    return f"rtconfig serve: listening on {url}; templates: {served}; {auth}{routed}"


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except that SIGTERM ends in exit 0 after draining: uvicorn re-raises
        the signal once shut down (the process would die of it, status 143); a deployment's
        orchestrator stopping a replica is a normal stop."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                self._captured_signals = [s for s in self._captured_signals if s != sig]

    return Server


def run(
    config: Config,
    *,
    env: str | None,
    host: str,
    port: int,
    audit_log: str | None,
    environ: Mapping[str, str] | None = None,
    err: TextIO | None = None,
) -> int:
    """Validate, bind, serve until SIGTERM/SIGINT, drain; the exit code (0)."""
    import uvicorn

    _Server = _server_class()
    from rtconfig.serve import create_app
    from rtconfig.serve._app import json_lines

    environ = process_environ() if environ is None else environ
    app = create_app(
        config,
        env=env,
        environ=environ,
        allow_anonymous=is_loopback_host(host),
        audit_log=audit_log,
        access_log=json_lines(sys.stdout),
    )
    sock = bind(host, port)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    settings = app.state.rtconfig.settings
    line = startup_line(
        f"http://{shown}:{bound[1]}",
        list(settings.templates),
        settings.tokens_env,
        custom_auth=False,
        sip=len(settings.sip) if app.state.rtconfig.webhooks is not None else 0,
    )
    uv_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
        date_header=True,
    )
    server = _Server(uv_config)
    stream = err if err is not None else sys.stderr
    app.state.rtconfig.emit("serve.started", url=line.split(" ")[4].rstrip(";"), env=env)
    print(line, file=stream, flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    print("rtconfig serve: stopped (in-flight requests drained)", file=stream, flush=True)
    return 0
