"""Prometheus metrics, on a registry of the app's own (two apps in one process never mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """``rtconfig_serve_requests_total{route,template,outcome}``,
    ``rtconfig_serve_mints_total{template,outcome}`` (tokens, calls and SIP accepts),
    ``rtconfig_serve_upstream_failures_total{template,kind}`` and
    ``rtconfig_serve_request_duration_seconds{route}``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "rtconfig_serve_requests",
            "HTTP requests answered, by route, template and outcome.",
            ["route", "template", "outcome"],
            registry=self.registry,
        )
        self.mints = Counter(
            "rtconfig_serve_mints",
            "Upstream requests (token mints, calls, SIP accepts and rejects) by template and "
            "outcome.",
            ["template", "carrier", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "rtconfig_serve_upstream_failures",
            "Upstream failures by template and kind.",
            ["template", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rtconfig_serve_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
