"""``rtconfig serve`` as a library: the token-vending and call-setup ASGI app (CONTRACT §11).

::

    import rtconfig
    from rtconfig.serve import create_app

    app = create_app(rtconfig.load("sessions.toml"), env="production")   # a Starlette app
    # mount it in FastAPI/Starlette: outer.mount("/rt", app)
    # or plug in your own sessions/JWTs: create_app(config, authorizer=my_authorizer)

An *authorizer* gets the Starlette ``Request`` and returns the caller's identity (a
:class:`Caller` or a string; it may be async) or refuses: returns None (401) or raises
:class:`Refused`. Without one, callers present a bearer token from ``[serve] tokens_env``.

Needs the ``serve`` extra (starlette, uvicorn, prometheus-client, limits[redis]).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rtconfig._codes import DiagnosticCode as C
from rtconfig._environ import process_environ
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._serve_settings import ServeSettings
from rtconfig.serve._auth import Authorizer, Caller, Refused, TokenAuthorizer, anonymous

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from rtconfig._config import Config
    from rtconfig.serve._app import AccessLog
    from rtconfig.serve._decide import AuditSink

__all__ = ["Authorizer", "Caller", "Refused", "ServeSettings", "TokenAuthorizer", "create_app"]

DEFAULT_CONCURRENCY = 256


def create_app(
    config: Config,
    *,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
    authorizer: Authorizer | None = None,
    allow_anonymous: bool = False,
    audit_log: str | os.PathLike[str] | AuditSink | None = None,
    access_log: AccessLog | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Starlette:
    """The ASGI app serving ``config``'s ``[serve]`` templates for ``env``.

    Every served template is resolved and validated here (:class:`~rtconfig.ConfigError` with
    every problem at its file:line otherwise). Callers authenticate with ``authorizer``, else
    with the serve tokens ``[serve] tokens_env`` names; with neither, ``allow_anonymous=True``
    (loopback development) is required. ``audit_log``: a path or an audit sink (default
    ``.rtconfig/audit.jsonl`` beside the file). ``access_log``: called with one JSON-ready
    record per request (none by default). ``transport``: an ``httpx.AsyncBaseTransport`` for
    the upstream requests (``httpx.MockTransport`` in tests; default: rtconfig's own pool).
    """
    from rtconfig.serve._build import build

    environ = process_environ() if environ is None else environ
    settings = config.sources.serve
    if settings is None or (not settings.templates and not settings.sip):
        raise ConfigError(
            [
                Diagnostic(
                    "error",
                    "nothing to serve: add a [serve] table with templates = [...] "
                    "(or [[serve.sip]] rules)",
                    code=C.INVALID_SETTING,
                    file=config.path,
                )
            ]
        )
    config.check(envs=[env], templates=[], environ=environ).raise_for_errors()
    chosen = authorizer or _token_authorizer(config, settings, environ, allow_anonymous)
    return build(
        config,
        settings,
        env=env,
        environ=environ,
        authorizer=chosen,
        audit_log=audit_log,
        access_log=access_log,
        transport=transport,
        concurrency=concurrency,
    )


def _token_authorizer(
    config: Config, settings: ServeSettings, environ: Mapping[str, str], allow_anonymous: bool
) -> Authorizer:
    from rtconfig.serve._auth import parse_tokens, token_problem

    where: dict[str, Any] = {"file": config.path, "line": settings.line, "path": "serve.tokens_env"}
    if settings.tokens_env is None:
        if allow_anonymous:
            return anonymous
        raise ConfigError(
            [
                Diagnostic(
                    "error",
                    "no tokens_env: without serve tokens the server only runs on a loopback "
                    "address (127.0.0.1, ::1) for local development; set tokens_env = "
                    '"RTCONFIG_SERVE_TOKENS" and put comma-separated tokens in that variable',
                    code=C.INVALID_SETTING,
                    **where,
                )
            ]
        )
    tokens = parse_tokens(environ.get(settings.tokens_env, ""))
    problem = (
        f"the variable {settings.tokens_env} is not set or empty"
        if not tokens
        else (f"{settings.tokens_env} {p}" if (p := token_problem(tokens)) else None)
    )
    if problem:
        raise ConfigError([Diagnostic("error", problem, code=C.INVALID_SETTING, **where)])
    return TokenAuthorizer(tokens)


def install_hint() -> str:
    """How to install the server's dependencies (the distribution's own name, whatever it is)."""
    from importlib.metadata import packages_distributions

    dists = packages_distributions().get("rtconfig") or ["rtconfig"]
    return f"pip install '{dists[0]}[serve]'"
