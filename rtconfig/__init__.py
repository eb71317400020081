"""rtconfig: OpenAI Realtime session configuration as code.

::

    import rtconfig

    config = rtconfig.load("sessions.toml")
    support = config.resolve("support", env="production")
    support.body          # the exact JSON request body
    support.fields        # every leaf's value, origin and what it overrode

    plan = config.plan(env="production")         # what `rtconfig plan` shows: plan.templates
    report = rtconfig.apply(plan)                # what `rtconfig apply` does: report.results

Data flows one way: load → resolve → validate → plan → apply → audit. Importing this package
loads neither httpx nor structlog; the applier's names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtconfig._apply.results import ApplyReport, FailureKind, MintFailure, MintResult
from rtconfig._apply.retry import RetryPolicy
from rtconfig._config import ALL_ENVIRONMENTS, Check, Config, load
from rtconfig._endpoints import Endpoint
from rtconfig._errors import (
    ConfigError,
    Diagnostic,
    MintError,
    RtconfigError,
    StalePlanError,
    UsageError,
    WebhookError,
)
from rtconfig._origins import FieldRecord, Origin, OriginKind
from rtconfig._plan.records import Plan, PlanRecord
from rtconfig._resolver import ResolvedTemplate, body_sha256
from rtconfig._settings import Settings
from rtconfig._version import __version__
from rtconfig._webhooks import (
    IncomingCall,
    SipHeader,
    WebhookEvent,
    WebhookVerifier,
    verify_webhook,
)

if TYPE_CHECKING:
    from rtconfig._apply.engine import Applier, AsyncApplier, CallbackError
    from rtconfig._apply.run import apply

__all__ = [
    "ALL_ENVIRONMENTS",
    "Applier",
    "ApplyReport",
    "AsyncApplier",
    "CallbackError",
    "Check",
    "Config",
    "ConfigError",
    "Diagnostic",
    "Endpoint",
    "FailureKind",
    "FieldRecord",
    "IncomingCall",
    "MintError",
    "MintFailure",
    "MintResult",
    "Origin",
    "OriginKind",
    "Plan",
    "PlanRecord",
    "ResolvedTemplate",
    "RetryPolicy",
    "RtconfigError",
    "Settings",
    "SipHeader",
    "StalePlanError",
    "UsageError",
    "WebhookError",
    "WebhookEvent",
    "WebhookVerifier",
    "__version__",
    "apply",
    "body_sha256",
    "load",
    "verify_webhook",
]

_LAZY = {"Applier": "engine", "AsyncApplier": "engine", "CallbackError": "engine", "apply": "run"}


def __getattr__(name: str) -> Any:
    # The applier pulls in httpx and structlog: only pay for them when they are used.
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(f"rtconfig._apply.{module}"), name)
    raise AttributeError(f"module 'rtconfig' has no attribute {name!r}")
