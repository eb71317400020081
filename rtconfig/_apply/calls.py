"""The call carriers' attempts (CONTRACT §10): a :class:`~rtconfig._carriers.CallRequest` in,
a :class:`Call` out, with the minting rules — preflight, retries on connection errors,
timeouts, 408/409/429/5xx (``Retry-After`` honoured), one deadline, the key scrubbed from every
message — and its own audit events: ``call.created``, ``call.accepted``, ``call.rejected``,
``call.hung_up``, ``call.referred``, ``call.retrying``, ``call.failed``. No I/O of its own: the
engines send and wait (as for :class:`~rtconfig._apply.attempts.Mint`).

Audit records carry the template, environment, call id, the hash of the body sent
(``body_sha256``: the session's ``session_sha256`` for ``create`` and ``accept``), status,
request id and latency — never the SDP offer or answer, the key or a token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rtconfig._apply.attempts import Core, SendFailed
from rtconfig._apply.preflight import preflight
from rtconfig._apply.request import USER_AGENT, PreparedRequest
from rtconfig._apply.responses import Outcome, Response, api_failure, locate, scrub
from rtconfig._apply.results import FailureKind, MintFailure
from rtconfig._apply.retry import should_retry
from rtconfig._carriers import CallRequest, parse_call_location
from rtconfig._endpoints import Endpoint
from rtconfig._errors import MintError
from rtconfig._origins import Origin
from rtconfig._settings import Settings

__all__ = ["EVENTS", "Call", "CallAttempts"]

Path = tuple[str | int, ...]

#: The audit event of each action's success.
EVENTS = {
    "create": "call.created",
    "accept": "call.accepted",
    "reject": "call.rejected",
    "hangup": "call.hung_up",
    "refer": "call.referred",
}


@dataclass(frozen=True, slots=True)
class Call:
    """The outcome of one call request. A failed request is a result (``ok`` False, ``error``
    says why), never an exception. ``sdp`` is the SDP answer of ``create`` (hidden from repr)."""

    action: str
    ok: bool
    call_id: str | None = None
    sdp: str | None = field(default=None, repr=False)
    template: str | None = None
    env: str | None = None
    error: MintFailure | None = None
    attempts: int = 0
    http_status: int | None = None
    request_id: str | None = None
    latency_ms: float | None = None
    session_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON (what ``rtconfig call`` prints); the SDP answer included."""
        return {
            "action": self.action,
            "ok": self.ok,
            "call_id": self.call_id,
            "template": self.template,
            "env": self.env,
            "sdp": self.sdp,
            "session_sha256": self.session_sha256,
            "attempts": self.attempts,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "latency_ms": self.latency_ms,
            "error": self.error.to_json() if self.error is not None else None,
        }

    def raise_for_error(self) -> Call:
        """Return self when the request succeeded, else raise :class:`~rtconfig.MintError`."""
        if not self.ok:
            raise MintError(f"call {self.action} {self.call_id or ''}: {self.error}".strip())
        return self


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def _note(failure: MintFailure, note: str) -> MintFailure:
    return replace(failure, message=f"{failure.message} ({note})")


def prepare_call(request: CallRequest, settings: Settings, key: str) -> PreparedRequest:
    """The HTTP request of a call request: ``POST {base_url}/{path}`` with the key."""
    headers = [("Authorization", f"Bearer {key}")]
    if request.content_type is not None:
        headers.append(("Content-Type", request.content_type))
    headers += [("Accept", request.accept), ("User-Agent", USER_AGENT)]
    if settings.organization:
        headers.append(("OpenAI-Organization", settings.organization))
    if settings.project:
        headers.append(("OpenAI-Project", settings.project))
    url = settings.base_url.rstrip("/") + "/" + request.path
    return PreparedRequest("POST", url, tuple(headers), request.content or b"")


class CallAttempts:
    """One call request across its attempts; the engines loop over it like over a mint.

    ``refused`` is set (and audited) when nothing can be sent: the run was stopped, the base URL
    is unsafe, or the key is missing.
    """

    def __init__(
        self,
        core: Core,
        request: CallRequest,
        settings: Settings,
        *,
        template: str | None = None,
        env: str | None = None,
        origin_of: Callable[[Path], Origin | None] | None = None,
    ) -> None:
        self.core, self.request, self.settings = core, request, settings
        self.template, self.env, self.origin_of = template, env, origin_of
        self.attempt = 0
        self.t0 = 0.0
        self.refused: Call | None = None
        self.key = ""
        policy = core.policy
        self.max_retries = (
            policy.max_retries if policy.max_retries is not None else settings.max_retries
        )
        self.deadline = core.clock.monotonic() + policy.deadline_s
        if core.stop_event.is_set():
            cancelled = MintFailure(FailureKind.CANCELLED, "not attempted: the run was stopped")
            self.refused = self.fail(cancelled, None)
            return
        key, refusal = preflight(settings, core.environ, core.proxies)
        if refusal is not None:
            self.refused = self.fail(refusal, None)
            return
        assert key is not None
        core.add_secret(key)
        self.key = key
        self.prepared = prepare_call(request, settings, key)

    # -- the loop ------------------------------------------------------------------------------

    def begin(self) -> tuple[float, float]:
        """Start an attempt: its timeout, and the monotonic time its body must arrive by."""
        self.attempt += 1
        now = self.core.clock.monotonic()
        self.t0 = now
        remaining = self.deadline - now
        return max(0.001, min(self.settings.timeout_s, remaining)), now + remaining

    def outcome(self, answer: Response | SendFailed) -> Outcome[Call]:
        latency = _ms(self.core.clock.monotonic() - self.t0)
        if not isinstance(answer, Response):
            failure = MintFailure(
                answer.kind, scrub(answer.message, self.key), http_status=answer.status
            )
            return Outcome(latency, answer.status, failure=failure, retryable=answer.retryable)
        return self._classify(answer, latency)

    def decide(self, outcome: Outcome[Call]) -> Call | float:
        """The call to return, or how long to wait before the next attempt."""
        core = self.core
        if outcome.result is not None:
            call = replace(outcome.result, attempts=self.attempt)
            core.emit(EVENTS[self.request.action], **self._fields(outcome))
            return call
        failure = outcome.failure
        assert failure is not None
        step = core.after_failure(outcome, self.attempt, self.max_retries, self.deadline)
        if isinstance(step, float):
            core.emit(
                "call.retrying",
                **self._fields(outcome),
                error_type=failure.type,
                error_message=failure.message,
                delay_ms=round(step * 1000.0, 1),
            )
            return step
        if step is not None:
            failure = _note(failure, step)
        return self.fail(failure, outcome)

    def interrupted(self, outcome: Outcome[Call]) -> Call:
        assert outcome.failure is not None
        return self.fail(_note(outcome.failure, "interrupted before the next retry"), outcome)

    def fail(self, failure: MintFailure, outcome: Outcome[Call] | None) -> Call:
        self.core.emit(
            "call.failed",
            **self._fields(outcome),
            error_type=failure.type,
            error_message=failure.message,
            error_param=failure.param,
            error_location=failure.location,
        )
        return self._call(False, outcome, error=failure)

    # -- pieces --------------------------------------------------------------------------------

    def _body_sha256(self) -> str | None:
        request = self.request
        if request.session_sha256 is not None:
            return request.session_sha256
        if request.content is None or request.action == "create":
            return None
        return hashlib.sha256(request.content).hexdigest()

    def _fields(self, outcome: Outcome[Call] | None) -> dict[str, Any]:
        call_id = outcome.result.call_id if outcome is not None and outcome.result else None
        return {
            "action": self.request.action,
            "template": self.template,
            "env": self.env,
            "call_id": call_id or self.request.call_id,
            "base_url": self.settings.base_url,
            "body_sha256": self._body_sha256(),
            "attempt": self.attempt,
            "http_status": outcome.status if outcome is not None else None,
            "request_id": outcome.request_id if outcome is not None else None,
            "latency_ms": outcome.latency_ms if outcome is not None else None,
        }

    def _call(self, ok: bool, outcome: Outcome[Call] | None, **more: Any) -> Call:
        fields: dict[str, Any] = {
            "action": self.request.action,
            "ok": ok,
            "call_id": self.request.call_id,
            "template": self.template,
            "env": self.env,
            "attempts": self.attempt,
            "session_sha256": self.request.session_sha256,
        }
        if outcome is not None:
            fields.update(
                http_status=outcome.status,
                request_id=outcome.request_id,
                latency_ms=outcome.latency_ms,
            )
        fields.update(more)
        return Call(**fields)

    def _invalid(self, base: Outcome[Call], message: str) -> Outcome[Call]:
        failure = MintFailure(FailureKind.INVALID_RESPONSE, message, http_status=base.status)
        return replace(base, failure=failure)

    def _classify(self, response: Response, latency_ms: float) -> Outcome[Call]:
        status, headers = response.status, dict(response.headers)
        base: Outcome[Call] = Outcome(latency_ms, status, headers)
        if 200 <= status < 300:
            if self.request.action != "create":
                return replace(base, result=self._call(True, base))
            return self._created(base, response)
        if 300 <= status < 400:
            location = scrub(headers.get("location", "(no Location)"), self.key)
            message = (
                f"the server answered a redirect to {location}; redirects are not followed "
                "(the API key would go with it): check base_url"
            )
            return replace(base, failure=MintFailure(FailureKind.REDIRECT, message, status))
        failure = self._api_error(response)
        retryable = should_retry(status, headers, self.core.clock.time())
        return replace(base, failure=failure, retryable=retryable)

    def _created(self, base: Outcome[Call], response: Response) -> Outcome[Call]:
        # Never retried from here: the call may exist already.
        call_id = parse_call_location((base.headers or {}).get("location"))
        if call_id is None:
            return self._invalid(
                base,
                f"HTTP {base.status} without a call id in Location (the last path segment, "
                "rtc_…): the call may have been created; it is not retried",
            )
        try:
            sdp = response.body.decode("utf-8")
        except UnicodeDecodeError:
            sdp = ""
        if not sdp.lstrip().startswith("v="):
            return self._invalid(
                base, f"HTTP {base.status} for call {call_id} without an SDP answer in the body"
            )
        call = self._call(True, base, call_id=call_id, sdp=sdp)
        return replace(base, result=call)

    def _api_error(self, response: Response) -> MintFailure:
        failure = api_failure(response, self.key)
        if failure.param is not None and self.origin_of is not None:
            # accept's body is the session itself; create's session part is named "session".
            session_param = failure.param
            if self.request.action == "accept":
                session_param = "session." + session_param
            if session_param.startswith("session."):
                failure = locate(Endpoint.CLIENT_SECRETS, self.origin_of, failure, session_param)
        return failure


# --- building the attempts of each carrier (shared by both engines) ---------------------------


def _record_of(record: Any) -> Any:
    from rtconfig._plan.records import PlanRecord

    if not isinstance(record, PlanRecord):
        raise TypeError(f"expected a PlanRecord (plan.templates[i]), got {type(record).__name__}")
    return record


def _session_attempts(core: Core, record: Any, build: Callable[..., CallRequest]) -> CallAttempts:
    from rtconfig._carriers import call_session_for

    record = _record_of(record)
    session = call_session_for(record)  # ConfigError: this template cannot take calls
    request = build(session, session_sha256=record.session_sha256)
    return CallAttempts(
        core,
        request,
        record.settings,
        template=record.name,
        env=record.env,
        origin_of=record.origin_of,
    )


def create_attempts(core: Core, record: Any, sdp_offer: str | bytes) -> CallAttempts:
    """``calls``: the record's session and the caller's offer (checked before anything)."""
    from rtconfig._carriers import check_sdp_offer, create_call_request

    check_sdp_offer(sdp_offer)
    return _session_attempts(
        core, record, lambda session, **kw: create_call_request(session, sdp_offer, **kw)
    )


def accept_attempts(core: Core, record: Any, call_id: str) -> CallAttempts:
    """``accept``: the record's session, flat, for an incoming SIP call."""
    from rtconfig._carriers import accept_call_request, check_call_id

    check_call_id(call_id)
    return _session_attempts(
        core, record, lambda session, **kw: accept_call_request(session, call_id, **kw)
    )


def control_attempts(
    core: Core, request: CallRequest, settings: Settings | None, record: Any
) -> CallAttempts:
    """``reject``/``hangup``/``refer``: no session; settings from ``record`` or ``settings``
    (default: the API's own base URL and ``OPENAI_API_KEY``)."""
    if record is not None:
        record = _record_of(record)
        return CallAttempts(core, request, record.settings, template=record.name, env=record.env)
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"settings must be a rtconfig.Settings, not {type(settings).__name__}")
    return CallAttempts(core, request, settings or Settings())
