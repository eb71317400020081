"""rtconfig: OpenAI Realtime session configuration as code.

::

    import rtconfig

    config = rtconfig.load("sessions.toml")
    support = config.resolve("support", env="production")
    support.body          # the exact JSON request body
    support.fields        # every leaf's value, origin and what it overrode

Data flows one way: load → resolve → validate → plan → apply → audit. Importing this package
loads neither httpx nor structlog; the applier's names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    from rtconfig._applier import Applier, AsyncApplier, MintJob, MintResult

__all__ = [
    "ALL_ENVIRONMENTS",
    "Applier",
    "AsyncApplier",
    "Check",
    "Config",
    "ConfigError",
    "Diagnostic",
    "Endpoint",
    "FieldRecord",
    "IncomingCall",
    "MintError",
    "MintJob",
    "MintResult",
    "Origin",
    "OriginKind",
    "ResolvedTemplate",
    "RtconfigError",
    "Settings",
    "SipHeader",
    "StalePlanError",
    "UsageError",
    "WebhookError",
    "WebhookEvent",
    "WebhookVerifier",
    "__version__",
    "body_sha256",
    "load",
    "verify_webhook",
]

_LAZY = {"Applier", "AsyncApplier", "MintJob", "MintResult"}


def __getattr__(name: str) -> Any:
    # The applier pulls in httpx and structlog: only pay for them when they are used.
    if name in _LAZY:
        from rtconfig import _applier as applier

        return getattr(applier, name)
    raise AttributeError(f"module 'rtconfig' has no attribute {name!r}")
