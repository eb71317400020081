"""Shared doubles for the applier's tests: a fake clock, a scripted MockTransport, jobs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from rtconfig._apply.engine import Applier
from rtconfig._apply.retry import Clock, RetryPolicy
from rtconfig._endpoints import Endpoint
from rtconfig._origins import Origin
from rtconfig._plan.records import PlanRecord
from rtconfig._resolver import body_sha256
from rtconfig._settings import Settings

API_KEY = "sk-test-LEAKCHECK-0123456789abcdef"
BASE_URL = "https://api.example.test/v1"

GA_BODY: dict[str, Any] = {
    "expires_after": {"anchor": "created_at", "seconds": 600},
    "session": {"type": "realtime", "model": "gpt-realtime", "instructions": "Hi."},
}
BETA_BODY: dict[str, Any] = {"model": "gpt-realtime", "modalities": ["audio", "text"]}


@dataclass
class FakeClock:
    """Monotonic and wall time that only move when slept on; jitter fixed at ``rand``."""

    now: float = 1_000.0
    wall: float = 1_700_000_000.0
    rand: float = 0.5
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.wall += seconds

    def clock(self) -> Clock:
        return Clock(
            monotonic=lambda: self.now,
            time=lambda: self.wall,
            sleep=self.sleep,
            random=lambda: self.rand,
        )


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler that plays answers in order and records every request."""

    def __init__(self, answers: Iterable[Answer] = ()) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            answer = self.answers.pop(0) if self.answers else ok_ga()
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())


def ok_ga(token: str = "ek_" + "a" * 32, **extra: Any) -> httpx.Response:
    body = {
        "value": token,
        "expires_at": 1_900_000_000,
        "session": {"id": "sess_123", "object": "realtime.session", "type": "realtime"},
        **extra,
    }
    return httpx.Response(200, json=body, headers={"x-request-id": "req_ok"})


def ok_beta(token: str = "ek_" + "b" * 32) -> httpx.Response:
    body = {
        "id": "sess_456",
        "object": "realtime.session",
        "client_secret": {"value": token, "expires_at": 1_900_000_001},
    }
    return httpx.Response(200, json=body, headers={"x-request-id": "req_beta"})


def api_error(
    status: int,
    message: str = "boom",
    *,
    param: str | None = None,
    kind: str = "invalid_request_error",
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return httpx.Response(
        status, json=body, headers={"x-request-id": f"req_{status}", **(headers or {})}
    )


def make_job(
    *,
    endpoint: Endpoint = Endpoint.CLIENT_SECRETS,
    body: Mapping[str, Any] | None = None,
    template: str = "support",
    env: str | None = None,
    **settings: Any,
) -> PlanRecord:
    settings.setdefault("base_url", BASE_URL)
    if body is None:
        body = GA_BODY if endpoint is Endpoint.CLIENT_SECRETS else BETA_BODY
    return job_of(
        template,
        env,
        endpoint,
        json.loads(json.dumps(body)),
        Settings(endpoint=endpoint, **settings),
    )


def job_of(
    template: str,
    env: str | None,
    endpoint: Endpoint,
    body: Mapping[str, Any],
    settings: Settings | None = None,
    origins: Mapping[tuple[str | int, ...], Origin] | None = None,
) -> PlanRecord:
    """A plan record for a body made by hand (what the old MintJob(...) built)."""
    return PlanRecord(
        name=template,
        env=env,
        endpoint=endpoint,
        settings=settings or Settings(endpoint=endpoint),
        body=body,
        body_sha256=body_sha256(body),
        origins=origins if origins is not None else {},
    )


def make_applier(
    script: Script,
    clock: FakeClock | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Applier:
    return Applier(
        transport=script.transport(),
        environ={"OPENAI_API_KEY": API_KEY} if environ is None else environ,
        clock=(clock or FakeClock()).clock(),
        retry=kwargs.pop("retry", RetryPolicy()),
        **kwargs,
    )
