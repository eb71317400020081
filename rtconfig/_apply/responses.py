"""Reading the server's answer (pure): a token, or a failure that says why and whether to retry.

- 2xx: the token and its expiry, at ``value`` (``realtime/client_secrets``) or
  ``client_secret.value`` (beta endpoints); an answer without one is a failure, never retried
  (a session may have been minted);
- 3xx: never followed (the key would go with it);
- 4xx/5xx: OpenAI's ``error.message`` and ``error.type``; ``error.param`` is mapped back to the
  template path and the line of ``sessions.toml`` that set it.

Server text is scrubbed of the key before it is kept anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from rtconfig._apply.results import FailureKind, MintFailure, MintResult, MintSuccess
from rtconfig._apply.retry import should_retry
from rtconfig._endpoints import GA_WRAPPED, Endpoint, template_path
from rtconfig._errors import format_path
from rtconfig._origins import Origin
from rtconfig._plan.records import PlanRecord

__all__ = ["MintOutcome", "Outcome", "Response", "api_failure", "classify", "parse_param", "scrub"]

Path = tuple[str | int, ...]
REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP answer, read whole: status, headers (names in lower case), body bytes."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """One attempt's result, before the retry decision: a result (a minted session, a call)
    or a failure."""

    latency_ms: float
    status: int | None = None
    headers: dict[str, str] | None = None
    result: R | None = None
    failure: MintFailure | None = None
    retryable: bool = False

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id") if self.headers is not None else None


#: A mint attempt's outcome.
MintOutcome = Outcome[MintResult]


def scrub(text: str, *secrets: str) -> str:
    """Remove secrets from text that came from outside (a server's message, an exception)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep JSON: unreadable too
        return _NOT_JSON


_NOT_JSON: Any = object()


def classify(
    record: PlanRecord, key: str, response: Response, latency_ms: float, now: float
) -> MintOutcome:
    """The outcome of one answer; ``now`` (wall clock) reads an HTTP-date ``Retry-After``."""
    status, headers = response.status, dict(response.headers)
    base: MintOutcome = Outcome(latency_ms=latency_ms, status=status, headers=headers)
    if 200 <= status < 300:
        body = response.body
        if len(key) >= 8 and key.encode() in body:
            # The answer quotes our key (a proxy echoing headers): it is never kept or printed.
            body = body.replace(key.encode(), REDACTED.encode())
        data = _json(body)
        if data is _NOT_JSON:
            kind = headers.get("content-type", "no content type")
            message = f"HTTP {status} with a body that is not JSON ({scrub(kind, key)})"
            failure = MintFailure(FailureKind.INVALID_RESPONSE, message, http_status=status)
            return replace(base, failure=failure)
        return _from_payload(record, data, base)
    if 300 <= status < 400:
        location = scrub(headers.get("location", "(no Location)"), key)
        message = (
            f"the server answered a redirect to {location}; redirects are not followed (the "
            "API key would go with it): check base_url"
        )
        failure = MintFailure(FailureKind.REDIRECT, message, http_status=status)
        return replace(base, failure=failure)
    failure = _api_error(record, key, response)
    return replace(base, failure=failure, retryable=should_retry(status, headers, now))


def _from_payload(record: PlanRecord, data: Any, base: MintOutcome) -> MintOutcome:
    token: Any = None
    expires_at: Any = None
    session_id: Any = None
    if isinstance(data, dict):
        if record.endpoint in GA_WRAPPED:
            token, expires_at = data.get("value"), data.get("expires_at")
            session = data.get("session")
            session_id = session.get("id") if isinstance(session, dict) else None
        else:
            secret = data.get("client_secret")
            if isinstance(secret, dict):
                token, expires_at = secret.get("value"), secret.get("expires_at")
            session_id = data.get("id")
    if not isinstance(token, str) or not token:
        where = "value" if record.endpoint in GA_WRAPPED else "client_secret.value"
        message = f"HTTP {base.status} without a client secret at {where}: no session was minted"
        failure = MintFailure(FailureKind.INVALID_RESPONSE, message, http_status=base.status)
        return replace(base, failure=failure)
    valid_expiry = isinstance(expires_at, int) and not isinstance(expires_at, bool)
    result = MintSuccess(
        template=record.name,
        env=record.env,
        endpoint=record.endpoint,
        ok=True,
        client_secret=token,
        expires_at=expires_at if valid_expiry and expires_at >= 0 else None,
        session_id=session_id if isinstance(session_id, str) else None,
        response=data,
        http_status=base.status,
    )
    return replace(base, result=result)


def api_failure(response: Response, key: str) -> MintFailure:
    """An error answer as a failure: OpenAI's ``error`` object (message, type, code, param),
    or ``HTTP <status> <reason>`` when the body has none; ``key`` scrubbed from every part.
    Shared by mints and calls (each locates ``param`` in its own body)."""
    status = response.status
    payload = _json(response.body)
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = {}
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status} {response.reason}".strip()
    kind, code, param = error.get("type"), error.get("code"), error.get("param")
    return MintFailure(
        FailureKind.HTTP_ERROR,
        scrub(message, key),
        http_status=status,
        type=scrub(kind, key) if isinstance(kind, str) and kind else "",
        code=scrub(code, key) if isinstance(code, str) else None,
        param=scrub(param, key) if isinstance(param, str) and param else None,
    )


def _api_error(record: PlanRecord, key: str, response: Response) -> MintFailure:
    failure = api_failure(response, key)
    if failure.param is not None:
        failure = locate(record.endpoint, record.origin_of, failure, failure.param)
    return failure


def parse_param(param: str) -> Path:
    """OpenAI's ``error.param`` as a body path: ``session.tools[0].name`` → ``(session, tools,
    0, name)``."""
    path: list[str | int] = []
    for part in param.split("."):
        while part:
            head, bracket, rest = part.partition("[")
            if head:
                path.append(head)
            if not bracket:
                break
            index, _, part = rest.partition("]")
            path.append(int(index) if index.isdigit() else index)
    return tuple(path)


def locate(
    endpoint: Endpoint,
    origin_of: Callable[[Path], Origin | None],
    failure: MintFailure,
    param: str,
) -> MintFailure:
    """Point a failure naming a body field at the template path and the line that set it."""
    body_path = parse_param(param)
    if not body_path:
        return failure
    tpath = template_path(endpoint, body_path)
    origin = origin_of(tpath) if tpath else None
    return replace(
        failure,
        path=format_path(tpath) if tpath else None,
        location=origin.location() if origin is not None else None,
        file=origin.file if origin is not None else None,
        line=origin.line if origin is not None else None,
    )
