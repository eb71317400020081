"""``[serve]`` (CONTRACT §11): what ``rtconfig serve`` serves, read and checked with the file.

Pure: a table in, a :class:`ServeSettings` and diagnostics (file:line, key path, what to do)
out. Read by :func:`rtconfig._sources.read_sources`, so ``rtconfig validate`` reports a bad
``[serve]`` the way it reports a bad template; the server itself (``rtconfig.serve``) only
consumes the typed value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rtconfig._codes import DiagnosticCode as C
from rtconfig._errors import Diagnostic, format_path
from rtconfig._loader import Document, KeyPath
from rtconfig._suggest import did_you_mean

__all__ = [
    "DEFAULT_RATE",
    "MAX_SDP_BYTES",
    "SERVE_KEYS",
    "SIP_KEYS",
    "Rate",
    "ServeSettings",
    "SipRule",
    "parse_rate",
    "read_serve",
]

#: The largest SDP offer the calls route reads (CONTRACT §11).
MAX_SDP_BYTES = 64 * 1024
DEFAULT_RATE = "60/minute"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_RATE = re.compile(r"\s*(\d{1,6})\s*/\s*(second|minute|hour|day)s?\s*")
_PERIOD_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SIP_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")
_MAX_LIST = 1000
_MAX_PATTERN = 1000

SERVE_KEYS: dict[str, str] = {
    "templates": "the templates served (a list of names)",
    "allow_origins": "exact browser origins allowed by CORS (a list of 'https://host[:port]')",
    "tokens_env": "the NAME of a variable holding comma-separated bearer tokens",
    "rate": "requests per caller, e.g. '30/minute'",
    "burst": "at most this many requests at once per caller (an integer)",
    "rate_storage": "where rate limits are counted: 'memory://' or 'redis://host:port/db'",
    "webhook_secret_env": "the NAME of a variable holding the OpenAI webhook secret",
    "trace_caller": "templates whose tracing.metadata gets the caller's identity",
    "sip": "[[serve.sip]] routing rules",
}
SIP_KEYS = ("header", "match", "template")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` requests per ``period_s`` seconds, at most ``burst`` of them at once."""

    count: int
    period_s: int
    burst: int | None = None

    def __str__(self) -> str:
        unit = {v: k for k, v in _PERIOD_S.items()}[self.period_s]
        return f"{self.count}/{unit}" + (f" (burst {self.burst})" if self.burst else "")


@dataclass(frozen=True, slots=True)
class SipRule:
    """One ``[[serve.sip]]`` rule: when SIP header ``header`` matches ``match``, accept the call
    with ``template``. ``line`` is where the rule is written (for the audit log and errors)."""

    header: str
    match: re.Pattern[str]
    template: str
    line: int | None = None

    def matches(self, value: str | None) -> bool:
        return value is not None and self.match.search(value) is not None


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """A checked ``[serve]`` table (defaults where a key is absent)."""

    templates: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()
    tokens_env: str | None = None
    rate: Rate = Rate(60, 60)
    rate_storage: str = "memory://"
    webhook_secret_env: str | None = None
    trace_caller: tuple[str, ...] = ()
    sip: tuple[SipRule, ...] = ()
    line: int | None = None


def parse_rate(text: str) -> Rate | None:
    """``"30/minute"`` → ``Rate(30, 60)``; None when ``text`` is not a rate."""
    match = _RATE.fullmatch(text)
    if match is None or int(match[1]) < 1:
        return None
    return Rate(int(match[1]), _PERIOD_S[match[2]])


Report = Callable[[str, KeyPath], None]


def read_serve(
    document: Document, table: Any, templates: Mapping[str, bool]
) -> tuple[ServeSettings | None, list[Diagnostic]]:
    """Check ``[serve]``; ``templates`` maps every template name to whether it is abstract."""
    problems: list[Diagnostic] = []

    def report(message: str, at: KeyPath) -> None:
        found = document.position(at)
        problems.append(
            Diagnostic(
                "error",
                message,
                code=C.INVALID_SETTING,
                file=document.file,
                line=found[0] if found else None,
                col=found[1] if found else None,
                path=format_path(at),
            )
        )

    if not isinstance(table, dict):
        report("[serve] must be a table", ("serve",))
        return None, problems
    for key in table:
        if key not in SERVE_KEYS:
            report(
                f"unknown key {key!r}"
                + did_you_mean(key, list(SERVE_KEYS))
                + "; [serve] takes "
                + ", ".join(SERVE_KEYS),
                ("serve", key),
            )
    names = _names(report, table, "templates", templates, allow_abstract=False)
    traced = _names(report, table, "trace_caller", templates, allow_abstract=False)
    for name in traced:
        if name not in names:
            report(f"{name!r} is not in [serve].templates", ("serve", "trace_caller"))
    settings = ServeSettings(
        templates=names,
        allow_origins=_origins(report, table),
        tokens_env=_env_name(report, table, "tokens_env"),
        rate=_rate(report, table),
        rate_storage=_storage(report, table),
        webhook_secret_env=_env_name(report, table, "webhook_secret_env"),
        trace_caller=traced,
        sip=_sip_rules(report, document, table, templates),
        line=document.line(("serve",)),
    )
    if settings.sip and settings.webhook_secret_env is None:
        report(
            "[[serve.sip]] rules need webhook_secret_env (the webhook route is off without it)",
            ("serve", "sip"),
        )
    return settings, problems


def _strings(report: Report, table: Mapping[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report(f"{key} must be a list of strings", ("serve", key))
        return []
    if len(value) > _MAX_LIST:
        report(f"{key} has {len(value)} items; at most {_MAX_LIST}", ("serve", key))
        return []
    return value


def _names(
    report: Report,
    table: Mapping[str, Any],
    key: str,
    templates: Mapping[str, bool],
    *,
    allow_abstract: bool,
) -> tuple[str, ...]:
    out: list[str] = []
    for index, name in enumerate(_strings(report, table, key)):
        at: KeyPath = ("serve", key, index)
        if name not in templates:
            mintable = [n for n, abstract in templates.items() if not abstract]
            report(f"unknown template {name!r}" + did_you_mean(name, mintable), at)
        elif templates[name] and not allow_abstract:
            report(
                f"template {name!r} is abstract (never minted by itself); serve a "
                "template that extends it",
                at,
            )
        elif name in out:
            report(f"template {name!r} is listed twice", at)
        else:
            out.append(name)
    return tuple(out)


def _origins(report: Report, table: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for index, origin in enumerate(_strings(report, table, "allow_origins")):
        problem = _origin_problem(origin)
        if problem:
            report(f"{origin!r}: {problem}", ("serve", "allow_origins", index))
        else:
            out.append(origin)
    return tuple(out)


def _origin_problem(origin: str) -> str | None:
    """Why ``origin`` is not an exact browser origin (``scheme://host[:port]``), or None."""
    if origin == "*" or "*" in origin:
        return "wildcards are refused: list each origin exactly"
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "not a URL origin"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be 'https://host' or 'http://host:port' (scheme and host)"
    if parts.path == "/" and not (parts.query or parts.fragment):
        return f"write it as browsers send it: {origin.rstrip('/')!r}"
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return "an origin has no path, query or user: write only 'scheme://host[:port]'"
    if origin != origin.lower():
        return f"write it as browsers send it: {origin.lower()!r}"
    return None


def _env_name(report: Report, table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not ENV_NAME.fullmatch(value):
        report(
            f"{key} must be the NAME of an environment variable (e.g. 'RTCONFIG_SERVE_TOKENS'), "
            "never the value itself",
            ("serve", key),
        )
        return None
    return value


def _rate(report: Report, table: Mapping[str, Any]) -> Rate:
    text = table.get("rate", DEFAULT_RATE)
    rate = parse_rate(text) if isinstance(text, str) else None
    if rate is None:
        report(
            f"rate must look like '30/minute' (a count per second, minute, hour or day); "
            f"got {text!r}",
            ("serve", "rate"),
        )
        rate = parse_rate(DEFAULT_RATE)
        assert rate is not None
    burst = table.get("burst")
    if burst is None:
        return rate
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= rate.count:
        report(
            f"burst must be an integer from 1 to the rate's count ({rate.count}); got {burst!r}",
            ("serve", "burst"),
        )
        return rate
    return Rate(rate.count, rate.period_s, burst)


def _storage(report: Report, table: Mapping[str, Any]) -> str:
    value = table.get("rate_storage", "memory://")
    scheme = urlsplit(value).scheme if isinstance(value, str) else ""
    if scheme not in ("memory", "redis", "rediss") or len(value) > 2048:
        report(
            "rate_storage must be 'memory://' (one process) or 'redis://host:port/db' / "
            f"'rediss://…' (shared by every replica); got {value!r}",
            ("serve", "rate_storage"),
        )
        return "memory://"
    return str(value)


def _sip_rules(
    report: Report, document: Document, table: Mapping[str, Any], templates: Mapping[str, bool]
) -> tuple[SipRule, ...]:
    raw = table.get("sip", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        report("sip must be an array of tables ([[serve.sip]])", ("serve", "sip"))
        return ()
    rules: list[SipRule] = []
    for index, rule in enumerate(raw[:_MAX_LIST]):
        parsed = _sip_rule(report, document, rule, ("serve", "sip", index), templates)
        if parsed is not None:
            rules.append(parsed)
    return tuple(rules)


def _sip_rule(
    report: Report,
    document: Document,
    rule: Mapping[str, Any],
    at: KeyPath,
    templates: Mapping[str, bool],
) -> SipRule | None:
    for key in rule:
        if key not in SIP_KEYS:
            report(f"unknown key {key!r}" + did_you_mean(key, SIP_KEYS), (*at, key))
    missing = [k for k in SIP_KEYS if not isinstance(rule.get(k), str)]
    if missing:
        report(f"[[serve.sip]] needs {', '.join(missing)} (strings)", at)
        return None
    header, pattern, template = rule["header"], rule["match"], rule["template"]
    ok = True
    if not _SIP_HEADER.fullmatch(header):
        report(f"header {header!r} is not a SIP header name (e.g. 'To')", (*at, "header"))
        ok = False
    compiled: re.Pattern[str] | None = None
    if len(pattern) > _MAX_PATTERN:
        report(f"match is longer than {_MAX_PATTERN} characters", (*at, "match"))
    else:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            report(f"match is not a valid regular expression: {exc}", (*at, "match"))
    if template not in templates or templates[template]:
        mintable = [n for n, abstract in templates.items() if not abstract]
        what = "abstract" if template in templates else "unknown"
        report(
            f"{what} template {template!r}" + did_you_mean(template, mintable),
            (*at, "template"),
        )
        ok = False
    if not ok or compiled is None:
        return None
    return SipRule(header, compiled, template, document.line(at))
