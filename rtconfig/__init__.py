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
imports nothing but its version; each name is imported on first use.
"""

from rtconfig._version import __version__

# typing.TYPE_CHECKING without importing typing, which `rtconfig --version` would pay for
# (type checkers treat any name TYPE_CHECKING as true); deleted below, so it is not exported.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from rtconfig._apply.calls import Call
    from rtconfig._apply.engine import Applier, AsyncApplier, CallbackError
    from rtconfig._apply.results import (
        ApplyReport,
        FailureKind,
        MintFailure,
        MintResult,
        MintSuccess,
    )
    from rtconfig._apply.retry import RetryPolicy
    from rtconfig._apply.run import apply
    from rtconfig._carriers import session_update
    from rtconfig._codes import DiagnosticCode
    from rtconfig._config import ALL_ENVIRONMENTS, Check, Config, load
    from rtconfig._endpoints import Endpoint
    from rtconfig._errors import (
        ConfigError,
        ConfigFileNotFoundError,
        Diagnostic,
        MintError,
        RtconfigError,
        StalePlanError,
        UsageError,
        WebhookError,
    )
    from rtconfig._origins import FieldRecord, Origin, OriginKind
    from rtconfig._plan.records import Plan, PlanRecord
    from rtconfig._resolver import ResolvedSettings, ResolvedTemplate, body_sha256
    from rtconfig._settings import Settings
    from rtconfig._webhooks import (
        IncomingCall,
        SipHeader,
        WebhookEvent,
        WebhookVerifier,
        verify_webhook,
    )

__all__ = [
    "ALL_ENVIRONMENTS",
    "Applier",
    "ApplyReport",
    "AsyncApplier",
    "Call",
    "CallbackError",
    "Check",
    "Config",
    "ConfigError",
    "ConfigFileNotFoundError",
    "Diagnostic",
    "DiagnosticCode",
    "Endpoint",
    "FailureKind",
    "FieldRecord",
    "IncomingCall",
    "MintError",
    "MintFailure",
    "MintResult",
    "MintSuccess",
    "Origin",
    "OriginKind",
    "Plan",
    "PlanRecord",
    "ResolvedSettings",
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
    "session_update",
    "verify_webhook",
]

# Every name is imported on first use, from the module that defines it: `rtconfig --version`
# and the CLI's start-up pay only for what they use, and importing the package loads neither
# httpx nor structlog (the applier's stack). A name added to __all__ is added here too
# (tests/test_public_api.py resolves every one).
_LAZY = {
    "rtconfig._apply.calls": ("Call",),
    "rtconfig._apply.engine": ("Applier", "AsyncApplier", "CallbackError"),
    "rtconfig._apply.results": (
        "ApplyReport",
        "FailureKind",
        "MintFailure",
        "MintResult",
        "MintSuccess",
    ),
    "rtconfig._apply.retry": ("RetryPolicy",),
    "rtconfig._apply.run": ("apply",),
    "rtconfig._carriers": ("session_update",),
    "rtconfig._codes": ("DiagnosticCode",),
    "rtconfig._config": ("ALL_ENVIRONMENTS", "Check", "Config", "load"),
    "rtconfig._endpoints": ("Endpoint",),
    "rtconfig._errors": (
        "ConfigError",
        "ConfigFileNotFoundError",
        "Diagnostic",
        "MintError",
        "RtconfigError",
        "StalePlanError",
        "UsageError",
        "WebhookError",
    ),
    "rtconfig._origins": ("FieldRecord", "Origin", "OriginKind"),
    "rtconfig._plan.records": ("Plan", "PlanRecord"),
    "rtconfig._resolver": ("ResolvedSettings", "ResolvedTemplate", "body_sha256"),
    "rtconfig._settings": ("Settings",),
    "rtconfig._webhooks": (
        "IncomingCall",
        "SipHeader",
        "WebhookEvent",
        "WebhookVerifier",
        "verify_webhook",
    ),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}
del TYPE_CHECKING


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'rtconfig' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
