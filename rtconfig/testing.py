"""Test helpers shipped to users: a local OpenAI Realtime emulator and an audit capture.

::

    from rtconfig.testing import Emulator, Fault, capture_audit

    with Emulator() as api:                       # http://127.0.0.1:<ephemeral>/v1
        api.inject(Fault.rate_limited(retry_after=1), Fault.server_error())
        ...  # point your deployment script at api.base_url with any "Bearer …" key
        assert api.requests[-1].json["model"] == "gpt-realtime"

The emulator answers the three session-minting endpoints the way OpenAI's API does: it requires
``Authorization: Bearer …`` (401 otherwise), validates the body with rtconfig's own checks (400
with OpenAI's error shape, ``param`` naming the first offending field), returns realistic
session objects with random ``ek_…`` tokens, and sends ``x-request-id``. Scripted faults
(statuses, ``Retry-After``, latency, dropped connections, garbage bodies, a 200 without a
token) are served in order, one per request. Standard library only.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._errors import format_path

__all__ = [
    "EMULATOR_API_KEY",
    "CapturedAudit",
    "Emulator",
    "Fault",
    "RecordedRequest",
    "capture_audit",
]

#: The dummy key ``rtconfig apply --emulate`` sends (the emulator accepts any bearer token).
EMULATOR_API_KEY = "emulator-key-not-a-real-secret"

_DEFAULT_TTL_S = {
    Endpoint.SESSIONS: 60,
    Endpoint.TRANSCRIPTION_SESSIONS: 60,
    Endpoint.CLIENT_SECRETS: 600,
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, used for the next matching request.

    ``status``: answer with this status (OpenAI's error shape unless ``body`` is given);
    ``headers``: extra response headers (``Retry-After``, ``retry-after-ms``,
    ``x-should-retry``…); ``body``: raw body (bytes/str) or JSON (a mapping); ``delay_s``: wait
    before answering; ``drop``: close the connection without answering; ``no_token``: a 200
    session object without its token; ``not_json``: a 200 whose body is not JSON;
    ``endpoint``: only requests to this endpoint consume the fault.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | Mapping[str, Any] | None = None
    delay_s: float = 0.0
    drop: bool = False
    no_token: bool = False
    not_json: bool = False
    endpoint: Endpoint | None = None

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

    ``port=0`` picks a free port. ``validate=False`` skips body validation. ``api_keys``, when
    given, are the only bearer tokens accepted. ``latency_s`` delays every answer.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        validate: bool = True,
        api_keys: Iterable[str] | None = None,
        latency_s: float = 0.0,
    ) -> None:
        self._validate = validate
        self._api_keys = frozenset(api_keys) if api_keys is not None else None
        self.latency_s = latency_s
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._tokens: list[str] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.emulator = self
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
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def tokens(self) -> list[str]:
        """Every token handed out so far."""
        with self._lock:
            return list(self._tokens)

    def environ(self, api_key_env: str = "OPENAI_API_KEY") -> dict[str, str]:
        """An environment that holds a dummy key under ``api_key_env``."""
        return {api_key_env: EMULATOR_API_KEY}

    # -- request handling (called from handler threads) --------------------------------------

    def _take_fault(self, endpoint: Endpoint | None) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.endpoint is None or fault.endpoint is endpoint:
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
        endpoint = _endpoint_for(path)
        self._wait(self.latency_s)
        if method != "POST" or endpoint is None:
            status = 404 if endpoint is None else 405
            return (
                status,
                {},
                _error(f"Invalid URL ({method} {path})", "invalid_request_error"),
                None,
                endpoint,
            )
        fault = self._take_fault(endpoint)
        if fault is not None:
            self._wait(fault.delay_s)
            if fault.drop:
                return 0, {}, None, fault, endpoint
            if fault.status is not None:
                return fault.status, dict(fault.headers), _fault_body(fault), fault, endpoint
            if fault.not_json:
                return (
                    200,
                    {"Content-Type": "text/html"},
                    b"<html>Bad gateway</html>",
                    fault,
                    endpoint,
                )
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return (
                401,
                {},
                _error(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                ),
                fault,
                endpoint,
            )
        if self._api_keys is not None and token.strip() not in self._api_keys:
            return (
                401,
                {},
                _error(
                    "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
                ),
                fault,
                endpoint,
            )
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            payload = None
        if not isinstance(payload, dict):
            return (
                400,
                {},
                _error(
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)",
                    "invalid_request_error",
                ),
                fault,
                endpoint,
            )
        if self._validate:
            problem = _first_error(endpoint, payload)
            if problem is not None:
                param, message = problem
                return (
                    400,
                    {},
                    _error(
                        f"Invalid '{param}': {message}",
                        "invalid_request_error",
                        param=param,
                        code="invalid_value",
                    ),
                    fault,
                    endpoint,
                )
        token_value = "ek_" + secrets.token_hex(24)
        response = _session_object(endpoint, payload, token_value)
        if fault is not None and fault.no_token:
            _strip_token(endpoint, response)
        else:
            with self._lock:
                self._tokens.append(token_value)
        return 200, {}, json.dumps(response).encode(), fault, endpoint


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, Ctrl-C) mid-answer is normal here, not worth a trace.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
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
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
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


def _endpoint_for(path: str) -> Endpoint | None:
    for endpoint in Endpoint:
        if path.rstrip("/") in (f"/v1/{endpoint.value}", f"/{endpoint.value}"):
            return endpoint
    return None


def _error(message: str, kind: str, *, param: str | None = None, code: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": kind, "param": param, "code": code}}
    ).encode()


def _fault_body(fault: Fault) -> bytes:
    assert fault.status is not None
    if isinstance(fault.body, bytes):
        return fault.body
    if isinstance(fault.body, str):
        return fault.body.encode()
    if fault.body is not None:
        return json.dumps(dict(fault.body)).encode()
    if fault.status == 429:
        return _error(
            "Rate limit reached for requests. Please try again later.",
            "requests",
            code="rate_limit_exceeded",
        )
    if fault.status >= 500:
        return _error("The server had an error while processing your request.", "server_error")
    return _error(f"Scripted fault: HTTP {fault.status}", "invalid_request_error")


def _first_error(endpoint: Endpoint, body: dict[str, Any]) -> tuple[str, str] | None:
    """``(param, message)`` of the first error rtconfig's checks find in ``body``, if any."""
    from rtconfig._checks import check_body

    for problem in check_body(endpoint, body):
        if problem.severity == "error":
            return format_path(problem.path) or "body", problem.message
    return None


def _session_object(endpoint: Endpoint, body: dict[str, Any], token: str) -> dict[str, Any]:
    now = int(time.time())
    session_id = "sess_" + secrets.token_hex(12)
    if endpoint is Endpoint.CLIENT_SECRETS:
        lifetime = body.get("expires_after") or {}
        ttl = _seconds(lifetime, _DEFAULT_TTL_S[endpoint])
        session = dict(body.get("session") or {"type": "realtime"})
        kind = session.get("type", "realtime")
        session["id"] = session_id
        session["object"] = (
            "realtime.transcription_session" if kind == "transcription" else "realtime.session"
        )
        if kind != "transcription":
            session.setdefault("model", "gpt-realtime")
            session.setdefault("output_modalities", ["audio"])
            session.setdefault("instructions", "You are a friendly assistant.")
            session.setdefault("tools", [])
            session.setdefault("tool_choice", "auto")
            session.setdefault("max_output_tokens", "inf")
            session.setdefault("tracing", None)
            session.setdefault("truncation", "auto")
            session.setdefault("prompt", None)
        session.setdefault("include", None)
        session["expires_at"] = 0
        return {"value": token, "expires_at": now + ttl, "session": session}
    secret_params = body.get("client_secret") or {}
    key = endpoint.lifetime_path[1]
    ttl = _seconds(secret_params.get(key) or {}, _DEFAULT_TTL_S[endpoint])
    session = {k: v for k, v in body.items() if k != "client_secret"}
    session["id"] = session_id
    if endpoint is Endpoint.SESSIONS:
        session["object"] = "realtime.session"
        session.setdefault("model", "gpt-realtime")
        session.setdefault("modalities", ["audio", "text"])
        session.setdefault("voice", "alloy")
        session.setdefault("input_audio_format", "pcm16")
        session.setdefault("output_audio_format", "pcm16")
        session.setdefault("temperature", 0.8)
        session.setdefault("max_response_output_tokens", "inf")
        session.setdefault("tools", [])
        session.setdefault("tool_choice", "auto")
    else:
        session["object"] = "realtime.transcription_session"
        session.setdefault("input_audio_format", "pcm16")
    session["client_secret"] = {"value": token, "expires_at": now + ttl}
    return session


def _seconds(lifetime: Any, default: int) -> int:
    seconds = lifetime.get("seconds") if isinstance(lifetime, dict) else None
    return seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else default


def _strip_token(endpoint: Endpoint, response: dict[str, Any]) -> None:
    if endpoint is Endpoint.CLIENT_SECRETS:
        response.pop("value", None)
    else:
        response["client_secret"] = None


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
