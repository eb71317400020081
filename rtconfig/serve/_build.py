"""Assemble the server: targets, applier, audit log, rate limiter, webhook verifier, routes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rtconfig._codes import DiagnosticCode as C
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
    from rtconfig._webhooks import WebhookVerifier

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
    transport: httpx.AsyncBaseTransport | None,
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
    applier = new_applier(
        environ=environ, concurrency=concurrency, audit=audit, transport=transport
    )
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


def _verifier(
    config: Config, settings: ServeSettings, environ: Mapping[str, str]
) -> WebhookVerifier | None:
    """The webhook verifier when ``webhook_secret_env`` is set (its variable must be)."""
    if settings.webhook_secret_env is None:
        return None
    from rtconfig._errors import WebhookError
    from rtconfig._webhooks import WebhookVerifier

    name = settings.webhook_secret_env
    secret = environ.get(name, "").strip()
    try:
        if secret:
            return WebhookVerifier(secret)
        problem = f"the variable {name} (webhook_secret_env) is not set"
    except WebhookError:  # its message never quotes the secret
        problem = f"the variable {name} does not hold a usable webhook secret ('whsec_…')"
    where: dict[str, Any] = {
        "file": config.path,
        "line": settings.line,
        "path": "serve.webhook_secret_env",
    }
    raise ConfigError([Diagnostic("error", problem, code=C.INVALID_SETTING, **where)])
