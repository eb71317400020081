"""The ASGI application: thin routes over :mod:`rtconfig.serve._decide`, cross-cutting rules
(request ids, CORS, ``Cache-Control: no-store``, access log, latency) in one middleware."""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TextIO

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rtconfig._serve_settings import MAX_SDP_BYTES, ServeSettings
from rtconfig.serve import _cors
from rtconfig.serve._auth import Authorizer, Caller, Refused
from rtconfig.serve._decide import (
    AuditSink,
    Reply,
    error_reply,
    token_reply,
    upstream_failure_reply,
)
from rtconfig.serve._metrics import CONTENT_TYPE, Metrics
from rtconfig.serve._rate import RateLimiter
from rtconfig.serve._targets import AsyncApplier, MintResult, Target, mint

if TYPE_CHECKING:
    from rtconfig._webhooks import WebhookVerifier

__all__ = ["ServeState", "build_app"]

_MAX_EMPTY_BODY = 4096
AccessLog = Callable[[Mapping[str, Any]], None]


def json_lines(stream: TextIO | None = None) -> AccessLog:
    """An access log writing one JSON object per line to ``stream`` (stdout by default)."""

    def write(record: Mapping[str, Any]) -> None:
        out = stream if stream is not None else sys.stdout
        out.write(json.dumps(record, separators=(",", ":")) + "\n")
        out.flush()

    return write


class ServeState:
    """Everything the routes share, built once by :func:`rtconfig.serve.create_app`."""

    def __init__(
        self,
        *,
        settings: ServeSettings,
        targets: Mapping[str, Target],
        sip_targets: Mapping[str, Target],
        applier: AsyncApplier,
        audit: AuditSink,
        authorizer: Authorizer,
        limiter: RateLimiter,
        access_log: AccessLog | None,
        webhooks: WebhookVerifier | None = None,
        closers: tuple[Callable[[], Any], ...] = (),
    ) -> None:
        self.settings = settings
        self.targets = dict(targets)
        self.sip_targets = dict(sip_targets)
        self.applier = applier
        self.audit = audit
        self.authorizer = authorizer
        self.limiter = limiter
        self.access_log = access_log
        self.webhooks = webhooks
        self.metrics = Metrics()
        self.background: set[asyncio.Task[None]] = set()
        self._closers = closers
        self._closed = False

    def spawn(self, work: Awaitable[None]) -> None:
        """Run ``work`` after the answer is sent; :meth:`aclose` waits for it (drain)."""
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def aclose(self) -> None:
        """Wait for background work (SIP accepts), then release the applier and the audit log."""
        if self._closed:
            return
        self._closed = True
        if self.background:
            await asyncio.wait(set(self.background), timeout=60)
        await self.applier.aclose()
        self.emit("serve.stopped")
        for close in self._closers:
            result = close()
            if inspect.isawaitable(result):
                await result

    def emit(self, event: str, **fields: Any) -> None:
        self.audit.emit(event, **fields)


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.rtconfig
    return state


def _send(reply: Reply) -> Response:
    if isinstance(reply.body, bytes):
        return Response(reply.body, reply.status, dict(reply.headers or {}), reply.media_type)
    content = json.dumps(reply.body, separators=(",", ":")).encode()
    return Response(content, reply.status, dict(reply.headers or {}), "application/json")


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is (or announces itself) larger than ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def authorize(state: ServeState, request: Request) -> Caller | Reply:
    """The caller, or the reply refusing them (401, or what the authorizer's ``Refused`` says)."""
    try:
        found = state.authorizer(request)
        if inspect.isawaitable(found):
            found = await found
    except Refused as refused:
        status = refused.status if 400 <= refused.status < 500 else 401
        return error_reply(status, refused.message, "unauthorized", **_challenge(status))
    if found is None:
        return error_reply(401, "a valid bearer token is required", "unauthorized", **_challenge())
    return found if isinstance(found, Caller) else Caller(str(found))


def _challenge(status: int = 401) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="rtconfig"'} if status == 401 else {}


async def _guard(state: ServeState, request: Request, route: str) -> tuple[Caller, Target] | Reply:
    """The checks every template route makes, in order: caller (401), template (404), rate
    (429). Unknown templates answer 404 only to an authorized caller."""
    caller = await authorize(state, request)
    if isinstance(caller, Reply):
        return caller
    request.scope["rtconfig.caller"] = caller.id
    name = request.path_params["template"]
    target = state.targets.get(name)
    if target is None:
        return error_reply(404, "no such template is served here", "not_found")
    request.scope["rtconfig.template"] = name
    try:
        decision = await state.limiter.hit(caller.id, "templates")
    except Exception as exc:  # Redis down: refuse (fail closed) rather than serve unlimited
        request.scope["rtconfig.error"] = f"rate storage: {type(exc).__name__}"
        return error_reply(503, "temporarily unavailable; try again later", "unavailable")
    if not decision.allowed:
        return error_reply(
            429,
            "rate limit exceeded; retry later",
            "rate_limited",
            **{"Retry-After": str(decision.retry_after_s)},
        )
    return caller, target


async def client_secret(request: Request) -> Response:
    """``POST /v1/templates/{template}/client_secret`` → the token, its expiry, the session id."""
    state = _state(request)
    started = time.monotonic()
    guarded = await _guard(state, request, "client_secret")
    if isinstance(guarded, Reply):
        return _audited(state, request, "client_secret", guarded, started)
    caller, target = guarded
    if await read_limited(request, _MAX_EMPTY_BODY) is None:
        reply = error_reply(413, "this route takes no request body", "request_too_large")
        return _audited(state, request, "client_secret", reply, started)
    result = await mint(state.applier, target, caller.id)
    state.metrics.mints.labels(target.name, "client_secret", _outcome(result)).inc()
    if result.ok and result.client_secret:
        reply = token_reply(result.client_secret, result.expires_at, result.session_id)
        return _audited(state, request, "client_secret", reply, started, result=result)
    # The failure's kind (a small closed set), never the server's error type: label values
    # must stay bounded.
    kind = result.error.kind.value if result.error else "unknown"
    state.metrics.failures.labels(target.name, kind).inc()
    return _audited(
        state, request, "client_secret", upstream_failure_reply(), started, result=result
    )


def _outcome(result: MintResult) -> str:
    return "ok" if result.ok else "failed"


def _audited(
    state: ServeState,
    request: Request,
    route: str,
    reply: Reply,
    started: float,
    *,
    result: MintResult | None = None,
    **extra: Any,
) -> Response:
    """Write the request's audit record (the details of a failure go here, never to the
    caller), count it, and send the reply."""
    template = request.scope.get("rtconfig.template")
    outcome = "ok" if reply.status < 400 else _OUTCOMES.get(reply.status, "error")
    fields: dict[str, Any] = {
        "route": route,
        "template": template,
        "env": state.targets[template].env if template in state.targets else None,
        "caller": request.scope.get("rtconfig.caller"),
        "outcome": outcome,
        "status": reply.status,
        "latency_ms": round((time.monotonic() - started) * 1000, 3),
        "request_id": request.scope.get("rtconfig.request_id"),
        **(
            {"problem": request.scope["rtconfig.error"]}
            if "rtconfig.error" in request.scope
            else {}
        ),
        **extra,
    }
    if result is not None:
        fields.update(
            upstream_status=result.http_status,
            upstream_request_id=result.request_id,
            session_id=result.session_id,
            error=result.error.to_json() if result.error else None,
        )
    request.scope["rtconfig.outcome"] = outcome
    state.emit("serve.request", **fields)
    state.metrics.requests.labels(route, template or "", outcome).inc()
    return _send(reply)


_OUTCOMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    502: "upstream_failed",
    503: "unavailable",
}


async def healthz(request: Request) -> Response:
    """``GET /healthz``: 200 while the server runs (and its Redis answers, if it has one)."""
    state = _state(request)
    try:
        ok = await asyncio.wait_for(state.limiter.check_storage(), timeout=2)
    except Exception:  # a health check reports, it never fails with a traceback
        ok = False
    if not ok:
        return _send(Reply(503, {"status": "unavailable", "rate_storage": "unreachable"}))
    return _send(Reply(200, {"status": "ok"}))


async def metrics(request: Request) -> Response:
    """``GET /metrics``: Prometheus text."""
    return Response(_state(request).metrics.render(), 200, media_type=CONTENT_TYPE)


class Middleware:
    """Request ids, CORS (exact origins), ``Cache-Control: no-store``, the access log and the
    latency histogram, for every HTTP request."""

    def __init__(self, app: ASGIApp, state: ServeState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        request_id = uuid.uuid4().hex
        scope["rtconfig.request_id"] = request_id
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        origin = headers.get("origin")
        allowed = self.state.settings.allow_origins
        if scope["method"] == "OPTIONS":
            decision = _cors.preflight(
                path,
                origin,
                headers.get("access-control-request-method"),
                headers.get("access-control-request-headers"),
                allowed,
            )
        else:
            decision = _cors.actual(path, origin, allowed)
        status_box: list[int] = [500]
        extra = {
            "cache-control": "no-store",
            "x-request-id": request_id,
            **{k.lower(): v for k, v in decision.headers.items()},
        }

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                raw = [
                    (k, v) for k, v in message.get("headers", []) if k.decode().lower() not in extra
                ]
                raw.extend((k.encode(), v.encode()) for k, v in extra.items())
                message = {**message, "headers": raw}
            await send(message)

        if decision.status is not None:
            body = (
                b""
                if decision.status == 204
                else b'{"error":{"message":"origin not allowed","type":"forbidden"}}'
            )
            response = Response(body, decision.status, media_type="application/json")
            await response(scope, receive, send_with_headers)
            if decision.status == 403 and _cors.is_cors_route(path):
                self.state.emit(
                    "serve.request",
                    route=_route_name(path),
                    outcome="forbidden_origin",
                    status=403,
                    origin=(origin or "")[:200],
                    latency_ms=round((time.monotonic() - started) * 1000, 3),
                    request_id=request_id,
                )
        else:
            await self.app(scope, receive, send_with_headers)
        self._log(scope, started, status_box[0], request_id)

    def _log(self, scope: Scope, started: float, status: int, request_id: str) -> None:
        elapsed = time.monotonic() - started
        route = _route_name(scope["path"])
        self.state.metrics.latency.labels(route).observe(elapsed)
        if self.state.access_log is None:
            return
        client = scope.get("client")
        self.state.access_log(
            {
                "event": "http.request",
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "method": scope["method"],
                "path": scope["path"][:200],
                "route": route,
                "status": status,
                "latency_ms": round(elapsed * 1000, 3),
                "request_id": request_id,
                "caller": scope.get("rtconfig.caller"),
                "template": scope.get("rtconfig.template"),
                "client": client[0] if client else None,
            }
        )


def _route_name(path: str) -> str:
    """A bounded label for metrics (never the raw path: its values are the caller's)."""
    if path.startswith("/v1/templates/"):
        tail = path.rsplit("/", 1)[-1]
        return tail if tail in ("client_secret", "calls") else "other"
    return {"/healthz": "healthz", "/metrics": "metrics", "/v1/webhooks/openai": "webhook"}.get(
        path, "other"
    )


def build_app(state: ServeState, *, extra_routes: list[Route] | None = None) -> Starlette:
    """The Starlette app over ``state``; its lifespan closes ``state`` on shutdown."""
    routes = [
        Route("/v1/templates/{template}/client_secret", client_secret, methods=["POST"]),
        *(extra_routes or []),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        try:
            yield
        finally:
            await state.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.rtconfig = state
    app.add_middleware(Middleware, state=state)
    return app


__all__ += ["MAX_SDP_BYTES", "json_lines", "read_limited"]
