"""Test helpers shipped to users: a local OpenAI Realtime emulator and an audit capture.

::

    from rtconfig.testing import Emulator, Fault, capture_audit

    with Emulator() as api:                       # http://127.0.0.1:<ephemeral>/v1
        api.inject(Fault.rate_limited(retry_after=1), Fault.server_error())
        ...  # point your deployment script at api.base_url with any "Bearer …" key
        assert api.requests[-1].json["model"] == "gpt-realtime"

The emulator answers the session-minting endpoints the way OpenAI's API does: it requires
``Authorization: Bearer …`` (401 otherwise), validates the body with rtconfig's own checks (400
with OpenAI's error shape, ``param`` naming the first offending field), rejects models the API
does not know (400 ``invalid_model``), returns the full session object the API returns (every
field, with the defaults the API fills in, ``sess_…`` id, ``object``, ``expires_at``) with a
random ``ek_…`` token, and sends ``x-request-id``. The beta endpoints still mint (they are
rtconfig's v1 endpoints; the real API shut them down, see ``docs/lifecycle.md``). Scripted faults
(statuses, ``Retry-After``, latency, dropped connections, garbage bodies, a 200 without a
token) are served in order, one per request.

It stays well-behaved under abuse: a missing, malformed or oversized ``Content-Length`` gets a
400 (``MAX_BODY_BYTES``), request history keeps the last ``history`` requests, and a connection
idle for ``idle_timeout_s`` is closed, so idle clients do not each hold a thread. Standard
library only.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rtconfig._emulated import answer_mint, endpoint_for, error_body
from rtconfig._emulated_calls import STATES as CALL_STATES
from rtconfig._emulated_calls import answer_call, call_route
from rtconfig._endpoints import Endpoint
from rtconfig._webhook_testing import (
    DeliveredWebhook,
    incoming_call_event,
    new_call_id,
    send_incoming_call,
    signed_incoming_call,
)
from rtconfig._webhooks import sign_webhook

__all__ = [
    "EMULATOR_API_KEY",
    "MAX_BODY_BYTES",
    "CapturedAudit",
    "DeliveredWebhook",
    "Emulator",
    "Fault",
    "RecordedRequest",
    "capture_audit",
    "incoming_call_event",
    "new_call_id",
    "send_incoming_call",
    "sign_webhook",
    "signed_incoming_call",
]

#: The dummy key ``rtconfig apply --emulate`` sends (the emulator accepts any bearer token).
EMULATOR_API_KEY = "emulator-key-not-a-real-secret"

#: The largest request body the emulator reads; a larger ``Content-Length`` is a 400.
MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, used for the next matching request.

    ``status``: answer with this status (OpenAI's error shape unless ``body`` is given);
    ``headers``: extra response headers (``Retry-After``, ``retry-after-ms``,
    ``x-should-retry``…); ``body``: raw body (bytes/str) or JSON (a mapping); ``delay_s``: wait
    before answering; ``drop``: close the connection without answering; ``no_token``: a 200
    session object without its token; ``not_json``: a 200 whose body is not JSON;
    ``endpoint``: only requests to this endpoint consume the fault; ``route``: only this call
    route consumes it (``"create"`` for ``/realtime/calls``, ``"accept"``, ``"reject"``,
    ``"hangup"``, ``"refer"``). A fault with neither is used by the next request of any kind.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | Mapping[str, Any] | None = None
    delay_s: float = 0.0
    drop: bool = False
    no_token: bool = False
    not_json: bool = False
    endpoint: Endpoint | None = None
    route: str | None = None

    @classmethod
    def rate_limited(
        cls, *, retry_after: float | str | None = None, retry_after_ms: float | None = None
    ) -> Fault:
        """429 with OpenAI's rate-limit error, optionally ``Retry-After``/``retry-after-ms``."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = (
                retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            )
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        return cls(status=429, headers=headers)

    @classmethod
    def server_error(cls, status: int = 500, **headers: str) -> Fault:
        return cls(status=status, headers={k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def dropped(cls) -> Fault:
        """The server closes the connection without answering."""
        return cls(drop=True)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        """A normal answer, ``delay_s`` late (longer than the client's timeout: a hang)."""
        return cls(delay_s=delay_s)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the emulator received (headers with lower-case names, raw body)."""

    method: str
    path: str
    endpoint: Endpoint | None
    headers: Mapping[str, str]
    body: bytes
    status: int
    fault: Fault | None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Emulator:
    """A loopback emulator of the three session-minting endpoints (see the module docstring).

    ``port=0`` picks a free port. ``validate=False`` skips body and model validation.
    ``api_keys``, when given, are the only bearer tokens accepted. ``latency_s`` delays every
    answer. ``models`` are accepted besides the models OpenAI lists (a model of your own
    fine-tune, a model newer than rtconfig). ``history`` bounds :attr:`requests` and
    :attr:`tokens` (the oldest are forgotten); ``idle_timeout_s`` closes a connection that sends
    nothing for that long.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        validate: bool = True,
        api_keys: Iterable[str] | None = None,
        latency_s: float = 0.0,
        models: Iterable[str] = (),
        history: int = 10_000,
        idle_timeout_s: float = 30.0,
    ) -> None:
        if history < 1 or idle_timeout_s <= 0:
            raise ValueError("history must be at least 1 and idle_timeout_s positive")
        self._validate = validate
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        self._models = frozenset(models)
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._requests: deque[RecordedRequest] = deque(maxlen=history)
        self._tokens: deque[str] = deque(maxlen=history)
        self._calls: dict[str, str] = {}  # call id -> state, the last ``history`` calls
        self._history = history
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = self
        self._server.idle_timeout_s = idle_timeout_s
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<Emulator {self.base_url}>"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="rtconfig-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`close` (or KeyboardInterrupt)."""
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._shutdown_connections()
            self._server.server_close()

    def close(self) -> None:
        """Stop serving, end open connections and pending faults' waits."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
            self._shutdown_connections()
            self._server.server_close()
        elif not self._server_closed():
            self._shutdown_connections()
            self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _server_closed(self) -> bool:
        return self._server.socket.fileno() == -1

    def _shutdown_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    # -- scripting and inspection ------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is used by the next request it matches, in order."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received (the last ``history`` of them), in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def tokens(self) -> list[str]:
        """The tokens handed out (the last ``history`` of them)."""
        with self._lock:
            return list(self._tokens)

    @property
    def calls(self) -> dict[str, str]:
        """Each call's state by id: ``incoming`` (a webhook was sent), ``active`` (created or
        accepted), ``rejected``, ``referred`` or ``ended`` (hung up)."""
        with self._lock:
            return dict(self._calls)

    def send_incoming_call(self, url: str, secret: str, **event: Any) -> DeliveredWebhook:
        """POST a signed ``realtime.call.incoming`` webhook to ``url`` (your receiver), as OpenAI
        does when a phone call reaches your SIP trunk; the call is then ``incoming`` here.
        ``event``: ``call_id``, ``sip_headers``, ``sip_media_security``, ``timestamp``…"""
        call_id = event.pop("call_id", None) or new_call_id()
        self._set_call(call_id, "incoming")
        return send_incoming_call(url, secret, call_id=call_id, **event)

    def _set_call(self, call_id: str, state: str) -> None:
        with self._lock:
            self._calls.pop(call_id, None)
            self._calls[call_id] = state
            while len(self._calls) > self._history:
                del self._calls[next(iter(self._calls))]

    def environ(self, api_key_env: str = "OPENAI_API_KEY") -> dict[str, str]:
        """An environment that holds a dummy key under ``api_key_env``."""
        return {api_key_env: EMULATOR_API_KEY}

    # -- request handling (called from handler threads) --------------------------------------

    def _take_fault(self, endpoint: Endpoint | None, route: str | None = None) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.endpoint is not None and fault.endpoint is not endpoint:
                    continue
                if fault.route is None or fault.route == route:
                    del self._faults[index]
                    return fault
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes | None, Fault | None, Endpoint | None]:
        """(status, headers, body or None to drop the connection, fault used, endpoint)."""
        endpoint = endpoint_for(path)
        self._wait(self.latency_s)
        route = call_route(path) if endpoint is None else None
        if route is not None and method == "POST":
            status, extra, payload, fault = self._answer_call(route, headers, body)
            return status, extra, payload, fault, None
        if method != "POST" or endpoint is None:
            status = 404 if endpoint is None else 405
            return status, {}, error_body(f"Invalid URL ({method} {path})"), None, endpoint
        fault = self._take_fault(endpoint)
        early = self._faulted(fault) or self._unauthorized(headers)
        if early is not None:
            return early[0], early[1], early[2], fault, endpoint
        status, extra, answer, token = answer_mint(
            endpoint,
            body,
            validate=self._validate,
            models=self._models,
            no_token=fault is not None and fault.no_token,
        )
        if token is not None:
            with self._lock:
                self._tokens.append(token)
        return status, extra, answer, fault, endpoint

    def _faulted(self, fault: Fault | None) -> tuple[int, dict[str, str], bytes | None] | None:
        """The scripted answer of ``fault`` (None: answer normally)."""
        if fault is None:
            return None
        self._wait(fault.delay_s)
        if fault.drop:
            return 0, {}, None
        if fault.status is not None:
            return fault.status, dict(fault.headers), _fault_body(fault)
        if fault.not_json:
            return 200, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"
        return None

    def _unauthorized(self, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes] | None:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return 401, {}, error_body(message)
        if self._api_keys is not None and token.strip() not in self._api_keys:
            message = "Incorrect API key provided."
            return 401, {}, error_body(message, code="invalid_api_key")
        return None

    def _answer_call(
        self, route: tuple[str, str | None], headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes | None, Fault | None]:
        """A call route's answer (``rtconfig._emulated_calls``), faults and auth first."""
        action, call_id = route
        fault = self._take_fault(None, action)
        early = self._faulted(fault) or self._unauthorized(headers)
        if early is not None:
            return early[0], early[1], early[2], fault
        status, extra, payload, created = answer_call(
            action,
            call_id,
            headers,
            body,
            validate=self._validate,
            models=self._models,
            known=self.calls,
        )
        if 200 <= status < 300:
            target = created or call_id
            assert target is not None
            self._set_call(target, CALL_STATES[action])
        return status, extra, payload, fault


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator
    idle_timeout_s: float

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, Ctrl-C) mid-answer is normal here, not worth a trace.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        # A socket timeout bounds every read: a connection idle (or trickling) for longer is
        # closed by BaseHTTPRequestHandler, and its thread ends.
        super().setup()
        self.connection.settimeout(self.server.idle_timeout_s)
        emulator = self.server.emulator
        with emulator._lock:
            emulator._connections.add(self.connection)

    def finish(self) -> None:
        emulator = self.server.emulator
        with emulator._lock:
            emulator._connections.discard(self.connection)
        with suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def _handle(self, method: str) -> None:
        emulator = self.server.emulator
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        length, problem = _content_length(self.headers.get_all("Content-Length") or [])
        if problem is not None:
            # The body cannot be delimited (or is not worth reading): answer, then hang up.
            self.close_connection = True
            status, extra = 400, {"Connection": "close"}
            payload: bytes | None = error_body(problem)
            fault, endpoint = None, endpoint_for(path)
            body = b""
        else:
            body = self.rfile.read(length) if length > 0 else b""
            status, extra, payload, fault, endpoint = emulator._answer(method, path, headers, body)
        emulator._record(RecordedRequest(method, path, endpoint, headers, body, status, fault))
        if payload is None:  # drop: no status line, no body
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        names = {k.lower() for k in extra}
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", "req_" + secrets.token_hex(16))
        self.send_header("openai-processing-ms", "1")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _content_length(values: list[str]) -> tuple[int, str | None]:
    """The body's length, or why the header cannot be trusted (several, not a number, too big)."""
    if not values:
        return 0, None
    if len(set(values)) > 1 or not values[0].strip().isdigit() or not values[0].isascii():
        return 0, "Invalid Content-Length header: expected one non-negative integer."
    length = int(values[0])
    if length > MAX_BODY_BYTES:
        return 0, f"Request body too large: at most {MAX_BODY_BYTES} bytes are accepted."
    return length, None


def _fault_body(fault: Fault) -> bytes:
    assert fault.status is not None
    if isinstance(fault.body, bytes):
        return fault.body
    if isinstance(fault.body, str):
        return fault.body.encode()
    if fault.body is not None:
        return json.dumps(dict(fault.body)).encode()
    if fault.status == 429:
        return error_body(
            "Rate limit reached for requests. Please try again later.",
            "requests",
            code="rate_limit_exceeded",
        )
    if fault.status >= 500:
        return error_body("The server had an error while processing your request.", "server_error")
    return error_body(f"Scripted fault: HTTP {fault.status}")


# ---------------------------------------------------------------------------------------------
# Audit capture
# ---------------------------------------------------------------------------------------------


class CapturedAudit:
    """An in-memory audit sink: ``records`` holds ``{"event": …, **fields}`` dicts in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.secrets: list[str] = []

    def emit(self, event: str, /, **fields: Any) -> None:
        with self._lock:
            self.records.append({"event": event, **fields})

    def add_secret(self, secret: str) -> None:
        with self._lock:
            self.secrets.append(secret)

    def events(self) -> list[str]:
        with self._lock:
            return [record["event"] for record in self.records]

    def of(self, event: str) -> list[dict[str, Any]]:
        with self._lock:
            return [record for record in self.records if record["event"] == event]


@contextmanager
def capture_audit() -> Iterator[CapturedAudit]:
    """``with capture_audit() as audit: Applier(audit=audit)…`` then inspect ``audit.records``."""
    yield CapturedAudit()
