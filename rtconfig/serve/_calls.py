"""The call routes: a browser's WebRTC offer (``/v1/templates/{t}/calls``) and OpenAI's SIP
webhook (``/v1/webhooks/openai``), over the carriers' applier methods (CONTRACT §10)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rtconfig._serve_settings import MAX_SDP_BYTES
from rtconfig._webhooks import MAX_WEBHOOK_BYTES
from rtconfig.serve._app import ServeState, _audited, _guard, _state, read_limited
from rtconfig.serve._decide import (
    Reply,
    call_problem,
    choose_sip_rule,
    error_reply,
    sdp_problem,
    upstream_failure_reply,
)
from rtconfig.serve._targets import CallOutcome, accept_call, create_call, reject_call

__all__ = ["ACCEPT_ATTEMPTS", "routes"]

#: How often a SIP accept is tried in the background (each try has the applier's own retries).
ACCEPT_ATTEMPTS = 3
_ACCEPT_BACKOFF_S = (0.5, 2.0)


def routes(state: ServeState) -> list[Route]:
    out = [Route("/v1/templates/{template}/calls", calls, methods=["POST"])]
    if state.webhooks is not None:
        out.append(Route("/v1/webhooks/openai", webhook, methods=["POST"]))
    return out


async def calls(request: Request) -> Response:
    """``POST /v1/templates/{template}/calls``: SDP offer in, 201 + SDP answer + ``Location``."""
    state = _state(request)
    started = time.monotonic()
    guarded = await _guard(state, request, "calls")
    if isinstance(guarded, Reply):
        return _audited(state, request, "calls", guarded, started)
    caller, target = guarded
    body = await read_limited(request, MAX_SDP_BYTES)
    if body is None:
        reply = error_reply(
            413, f"the SDP offer is larger than {MAX_SDP_BYTES // 1024} KiB", "request_too_large"
        )
        return _audited(state, request, "calls", reply, started)
    problem = sdp_problem(request.headers.get("content-type"), body) or call_problem(
        target.endpoint, target.session
    )
    if problem:
        status = 415 if "Content-Type" in problem else 400
        return _audited(
            state, request, "calls", error_reply(status, problem, "invalid_request"), started
        )
    outcome = await create_call(state.applier, target, caller.id, body.decode("utf-8"))
    state.metrics.mints.labels(target.name, "calls", "ok" if outcome.ok else "failed").inc()
    if not outcome.ok or outcome.sdp is None or outcome.call_id is None:
        state.metrics.failures.labels(target.name, outcome.error_type or "unknown").inc()
        return _audited(
            state,
            request,
            "calls",
            upstream_failure_reply(),
            started,
            upstream=outcome.audit_fields(),
        )
    reply = Reply(
        201,
        outcome.sdp.encode("utf-8"),
        {"Location": f"/v1/calls/{outcome.call_id}"},
        media_type="application/sdp",
    )
    return _audited(
        state,
        request,
        "calls",
        reply,
        started,
        call_id=outcome.call_id,
        upstream=outcome.audit_fields(),
    )


async def webhook(request: Request) -> Response:
    """``POST /v1/webhooks/openai``: verify, answer 200 at once, accept or reject in the
    background; 400 for anything unsigned, badly signed, stale or replayed."""
    from rtconfig._errors import WebhookError
    from rtconfig._webhooks import IncomingCall

    state = _state(request)
    started = time.monotonic()
    body = await read_limited(request, MAX_WEBHOOK_BYTES)
    if body is None:
        return _audited(
            state,
            request,
            "webhook",
            error_reply(413, "webhook body too large", "request_too_large"),
            started,
        )
    assert state.webhooks is not None  # the route exists only with a verifier
    try:
        event = state.webhooks.verify(body, request.headers)
    except WebhookError as exc:
        reply = error_reply(400, "webhook signature verification failed", "invalid_signature")
        return _audited(
            state, request, "webhook", reply, started, reason=getattr(exc, "reason", None)
        )
    if not isinstance(event, IncomingCall):
        return _audited(
            state,
            request,
            "webhook",
            Reply(200, {"status": "ignored"}),
            started,
            event_type=event.type,
        )
    headers: dict[str, str] = {}
    for header in event.sip_headers:
        headers.setdefault(header.name.lower(), header.value)
    rule = choose_sip_rule(state.settings.sip, headers)
    template = rule.template if rule else None
    request.scope["rtconfig.template"] = template
    state.spawn(_route_call(state, event.call_id, template, rule.line if rule else None))
    return _audited(
        state,
        request,
        "webhook",
        Reply(200, {"status": "ok"}),
        started,
        event_type=event.type,
        call_id=event.call_id,
        decision="accept" if rule else "reject",
        sip_rule_line=rule.line if rule else None,
    )


async def _route_call(
    state: ServeState, call_id: str, template: str | None, line: int | None
) -> None:
    """Accept the call with ``template`` (retrying), or reject it (603) when no rule matched."""
    if template is None:
        # A reject sends no template; it goes where the served templates go (their [api]).
        anyone = next(iter([*state.sip_targets.values(), *state.targets.values()]), None)
        rejected = await reject_call(state.applier, call_id, 603, anyone)
        state.metrics.mints.labels("", "sip_reject", "ok" if rejected.ok else "failed").inc()
        state.emit(
            "serve.sip",
            call_id=call_id,
            decision="reject",
            status_code=603,
            ok=rejected.ok,
            upstream=rejected.audit_fields(),
        )
        return
    target = state.sip_targets[template]
    outcome: CallOutcome | None = None
    for attempt in range(1, ACCEPT_ATTEMPTS + 1):
        outcome = await accept_call(state.applier, target, call_id)
        if outcome.ok:
            break
        if attempt < ACCEPT_ATTEMPTS and not outcome.permanent:
            await asyncio.sleep(_ACCEPT_BACKOFF_S[min(attempt - 1, len(_ACCEPT_BACKOFF_S) - 1)])
        else:
            break
    assert outcome is not None
    state.metrics.mints.labels(template, "sip_accept", "ok" if outcome.ok else "failed").inc()
    if not outcome.ok:
        state.metrics.failures.labels(template, outcome.error_type or "unknown").inc()
    fields: dict[str, Any] = {"template": template, "env": target.env, "sip_rule_line": line}
    state.emit(
        "serve.sip",
        call_id=call_id,
        decision="accept",
        ok=outcome.ok,
        attempts=attempt,
        upstream=outcome.audit_fields(),
        **fields,
    )
