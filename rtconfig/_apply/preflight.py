"""Safety checks before anything is sent (pure): where the key may go, and whether it can go.

- ``https://`` always (TLS verified); ``http://`` only to a loopback host, and only when no proxy
  from the environment would carry it beyond this machine: the key would travel in clear;
- the key's variable must be set, and the key, ``organization`` and ``project`` must be valid
  header values (``rtconfig._headers``: printable ASCII, no CR/LF): a key pasted with smart
  quotes is refused here, with a message that never quotes it.

Every check returns a :class:`~rtconfig._apply.results.MintFailure` (or None); nothing is sent
for a refused record.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from rtconfig._apply.results import FailureKind, MintFailure
from rtconfig._headers import header_value_problem, url_has_credentials
from rtconfig._settings import Settings

__all__ = [
    "check_base_url",
    "check_headers",
    "environment_proxy",
    "find_key",
    "is_loopback_host",
    "preflight",
]

NOTHING_SENT = "; nothing was sent"


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(base_url: str) -> SplitResult | None:
    try:
        url = urlsplit(base_url)
        url.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return None
    return url


@functools.lru_cache(maxsize=64)
def check_base_url(base_url: str) -> str | None:
    """None when requests may go to ``base_url``; else why not (nothing is sent then)."""
    if not isinstance(base_url, str) or url_has_credentials(base_url):
        # Asked first: every message below quotes the URL.
        return "base_url must be a string without credentials (user:password@ or a key)"
    url = _split(base_url)
    if url is None or not url.hostname:
        return f"base_url {base_url!r} is not a valid URL"
    if url.scheme == "https":
        return None
    if url.scheme == "http":
        if is_loopback_host(url.hostname):
            return None
        return (
            f"base_url {base_url!r} uses http:// to a host that is not loopback: the API key "
            "would travel in clear (use https://, or http:// only to localhost/127.0.0.1/::1)"
        )
    return f"base_url {base_url!r} must be an https:// URL"


def environment_proxy(url: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy a request to ``url`` goes through, given ``urllib.request.getproxies()``-style
    settings (``http``, ``https``, ``all``, and ``no`` as a comma-separated NO_PROXY list)."""
    parts = _split(url)
    if parts is None or not parts.hostname:
        return None
    host = parts.hostname.lower()
    for pattern in (p.strip().lower() for p in proxies.get("no", "").split(",")):
        if not pattern:
            continue
        if pattern == "*":
            return None
        pattern = pattern.split(":", 1)[0] if pattern.count(":") == 1 else pattern
        bare = pattern.lstrip(".").lstrip("*.")
        if host == bare or host.endswith("." + bare):
            return None
    return proxies.get(parts.scheme) or proxies.get("all") or None


def check_proxy(base_url: str, proxies: Mapping[str, str]) -> str | None:
    """None unless an ``http://`` base URL would be sent through a proxy that is not on this
    machine: the key would then travel in clear after all."""
    if not base_url.lower().startswith("http://"):
        return None
    proxy = environment_proxy(base_url, proxies)
    if proxy is None:
        return None
    parts = _split(proxy if "://" in proxy else "http://" + proxy)
    host = parts.hostname if parts is not None and parts.hostname else proxy
    if is_loopback_host(host):
        return None
    target = _split(base_url)
    name = target.hostname if target is not None else base_url
    return (
        f"base_url {base_url!r} uses http:// and the environment (HTTP_PROXY or ALL_PROXY) "
        f"sends it through the proxy at {host}: the API key would travel in clear beyond this "
        f"machine (add {name} to NO_PROXY, or use https://)"
    )


def find_key(
    settings: Settings, environ: Mapping[str, str]
) -> tuple[str | None, MintFailure | None]:
    """The API key from ``environ`` (stripped), or why there is none usable."""
    name = settings.api_key_env
    key = environ.get(name, "").strip()
    if not key:
        return None, MintFailure(
            FailureKind.MISSING_API_KEY,
            f"environment variable {name} is not set: it must hold the API key "
            f"([api].api_key_env names it){NOTHING_SENT}",
        )
    problem = header_value_problem(key, f"the API key in {name}")
    if problem is not None:  # httpx would raise deep in the transport; a CR/LF would inject
        return None, MintFailure(FailureKind.INVALID_HEADER, problem + NOTHING_SENT)
    return key, None


def check_headers(settings: Settings) -> MintFailure | None:
    """``organization`` and ``project`` must be valid header values."""
    for name, value in (("organization", settings.organization), ("project", settings.project)):
        if value is None:
            continue
        problem = header_value_problem(value, f"[api].{name}")
        if problem is not None:
            return MintFailure(FailureKind.INVALID_HEADER, problem + NOTHING_SENT)
    return None


def preflight(
    settings: Settings,
    environ: Mapping[str, str],
    proxies: Mapping[str, str] | None,
) -> tuple[str | None, MintFailure | None]:
    """The key to send with, or the refusal. ``proxies=None`` skips the proxy check (a caller's
    own transport decides where requests go)."""
    refusal = check_base_url(settings.base_url)
    if refusal is None and proxies is not None:
        refusal = check_proxy(settings.base_url, proxies)
    if refusal is not None:
        return None, MintFailure(FailureKind.INSECURE_URL, refusal + NOTHING_SENT)
    failure = check_headers(settings)
    if failure is not None:
        return None, failure
    return find_key(settings, environ)
