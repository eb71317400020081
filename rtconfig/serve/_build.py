"""Assemble the server: targets, applier, audit log, rate limiter, webhook verifier, routes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._serve_settings import ServeSettings
from rtconfig.audit import AuditLog, default_audit_path
from rtconfig.serve._app import AccessLog, ServeState, build_app
from rtconfig.serve._auth import Authorizer
from rtconfig.serve._decide import AuditSink
from rtconfig.serve._rate import RateLimiter
from rtconfig.serve._targets import new_applier, prepare_targets

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from rtconfig._config import Config

__all__ = ["build"]


def build(
    config: Config,
    settings: ServeSettings,
    *,
    env: str | None,
    environ: Mapping[str, str],
    authorizer: Authorizer,
    audit_log: str | os.PathLike[str] | AuditSink | None,
    access_log: AccessLog | None,
    client: httpx.Client | None,
    concurrency: int,
) -> Starlette:
    sip_names = [rule.template for rule in settings.sip]
    targets = prepare_targets(
        config, [*settings.templates, *sip_names], env, environ, settings.trace_caller
    )
    verifier = _verifier(config, settings, environ)
    closers: list[Any] = []
    if audit_log is None or isinstance(audit_log, (str, os.PathLike)):
        path = default_audit_path(config.path) if audit_log is None else audit_log
        log = AuditLog(path, environ=environ)
        audit: AuditSink = log
        closers.append(log.close)
    else:
        audit = audit_log
    applier = new_applier(environ=environ, concurrency=concurrency, audit=audit, client=client)
    state = ServeState(
        settings=settings,
        targets={n: targets[n] for n in settings.templates},
        sip_targets={n: targets[n] for n in sip_names},
        applier=applier,
        audit=audit,
        authorizer=authorizer,
        limiter=RateLimiter(settings.rate, settings.rate_storage),
        access_log=access_log,
        webhooks=verifier,
        closers=tuple(closers),
    )
    from rtconfig.serve._calls import routes

    return build_app(state, extra_routes=routes(state))


def _verifier(config: Config, settings: ServeSettings, environ: Mapping[str, str]) -> Any:
    """The webhook verifier when ``webhook_secret_env`` is set (its variable must be)."""
    if settings.webhook_secret_env is None:
        return None
    secret = environ.get(settings.webhook_secret_env, "").strip()
    if not secret:
        raise ConfigError(
            [
                Diagnostic(
                    "error",
                    f"the variable {settings.webhook_secret_env} (webhook_secret_env) is not set",
                    file=config.path,
                    line=settings.line,
                    path="serve.webhook_secret_env",
                )
            ]
        )
    # The carriers' verifier (CONTRACT §10), looked up by name until it is on main.
    import importlib

    return importlib.import_module("rtconfig._webhooks").WebhookVerifier(secret)
