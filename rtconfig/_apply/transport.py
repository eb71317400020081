"""The transport: the only module that imports httpx.

One seam, an httpx transport (``httpx.BaseTransport`` / ``httpx.AsyncBaseTransport``), is used
the same way in production and in tests: :class:`Sender` / :class:`AsyncSender` turn a
:class:`~rtconfig._apply.request.PreparedRequest` into an ``httpx.Request``, hand it to the
transport, read the body (bounded in size and time) and return a plain :class:`Response`, or
raise :class:`TransportFailure`. httpx's exceptions are translated here and nowhere else. Tests
pass ``httpx.MockTransport`` and so exercise the real send path.

In production the transport is a :class:`ConnectionPool` (or :class:`AsyncConnectionPool`):
single-connection transports, each lent whole to one request at a time. Why not one transport
with N connections: httpcore's shared pool rescans every connection and every waiting request
under one lock, twice per request, which costs about as much CPU as the HTTP exchange at 32 in
flight, and makes ``httpx.AsyncClient`` collapse past ~24 in flight (encode/httpx#3215; figures
in ``docs/performance.md``).

Each single connection is a public ``httpcore`` pool of one (httpcore is httpx's own HTTP
layer). The async ones connect through :class:`_AsyncioBackend`, an ``httpcore``
``AsyncNetworkBackend`` on asyncio's own streams: httpcore's default backend goes through AnyIO,
which opens a cancel scope per read and write and resolves even ``127.0.0.1`` with
``getaddrinfo`` in a worker thread (40 at a time), so that a burst of fresh connections queued
behind each other. Through a proxy, ``httpx.HTTPTransport`` / ``httpx.AsyncHTTPTransport``
(one connection each) are used as they are. Only public httpx and httpcore API is used.
Redirects are never followed (transports do not follow them); TLS is always verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from rtconfig._apply.preflight import environment_proxy
from rtconfig._apply.responses import Response
from rtconfig._apply.results import FailureKind
from rtconfig._apply.retry import should_retry

if TYPE_CHECKING:
    import ssl

    from rtconfig._apply.request import PreparedRequest

__all__ = [
    "MAX_RESPONSE_BYTES",
    "AsyncConnectionPool",
    "AsyncSender",
    "ConnectionPool",
    "Response",
    "Sender",
    "TransportFailure",
    "tls_context",
]

# Session objects are a few kilobytes: a bigger answer is refused rather than held in memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

#: One connection lent whole: a pool of one (httpcore's, or httpx's through a proxy).
AnyTransport = (
    httpcore.ConnectionPool
    | httpcore.AsyncConnectionPool
    | httpx.BaseTransport
    | httpx.AsyncBaseTransport
)


class TransportFailure(Exception):
    """No usable answer: ``kind`` says why, ``retryable`` whether another attempt may help."""

    def __init__(
        self, kind: FailureKind, message: str, *, retryable: bool, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.status = status


def tls_context() -> ssl.SSLContext:
    """Verification always on (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured, as httpx does);
    made once per applier: loading the CA bundle costs ~20 ms."""
    return httpx.create_ssl_context(verify=True, trust_env=True)


_URLS: dict[str, httpx.URL] = {}  # parsing a URL costs more than sending a header


def _url(text: str) -> httpx.URL:
    url = _URLS.get(text)
    if url is None:
        if len(_URLS) >= 64:
            _URLS.clear()
        url = _URLS[text] = httpx.URL(text)
    return url


def _request(prepared: PreparedRequest, timeout_s: float) -> httpx.Request:
    return httpx.Request(
        prepared.method,
        _url(prepared.url),
        headers=list(prepared.headers),
        content=prepared.content,
        extensions={"timeout": _timeouts(timeout_s)},
    )


def _timeouts(timeout_s: float) -> dict[str, float | None]:
    """httpx's per-request timeout extension (a fresh dict: a transport may keep it)."""
    return dict(connect=min(10.0, timeout_s), read=timeout_s, write=timeout_s, pool=timeout_s)


class _Body:
    """Collects a body, refusing one that is too large or still arriving at the deadline."""

    def __init__(self, status: int, stop_at: float, monotonic: Callable[[], float]) -> None:
        self.status = status
        self.stop_at = stop_at
        self.monotonic = monotonic
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes, headers: Mapping[str, str]) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.monotonic() > self.stop_at:
            raise httpx.ReadTimeout("the response body was still arriving at the deadline")
        if self.size > MAX_RESPONSE_BYTES:
            # A 2xx may have minted a session: never retried. Errors follow the usual rules.
            ok = 200 <= self.status < 300
            raise TransportFailure(
                FailureKind.INVALID_RESPONSE if ok else FailureKind.HTTP_ERROR,
                f"the response body is larger than {MAX_RESPONSE_BYTES} bytes"
                + (": a session may have been minted; it is not retried" if ok else ""),
                retryable=not ok and should_retry(self.status, headers),
                status=self.status,
            )

    def response(self, raw: httpx.Response, headers: Mapping[str, str]) -> Response:
        return Response(raw.status_code, raw.reason_phrase, headers, b"".join(self.chunks))


def _translate(exc: Exception, timeout_s: float) -> TransportFailure:
    """httpx's exception as a failure (its text may quote a URL, never the key: the key is only
    in a header, which httpx does not echo)."""
    if isinstance(exc, httpx.TimeoutException):
        kinds = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "read timeout",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "timed out waiting for a free connection",
        }
        kind = next((v for k, v in kinds.items() if isinstance(exc, k)), "timeout")
        return TransportFailure(
            FailureKind.TIMEOUT, f"{kind} after {timeout_s:g} s", retryable=True
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return TransportFailure(FailureKind.INSECURE_URL, str(exc), retryable=False)
    if isinstance(exc, httpx.ConnectError):
        what = "could not connect"
    elif isinstance(exc, httpx.RemoteProtocolError):
        what = "the server closed the connection or broke the protocol"
    elif isinstance(exc, httpx.ReadError | httpx.WriteError):
        what = "the connection failed mid-request"
    else:
        what = "connection error"
    detail = str(exc)
    return TransportFailure(
        FailureKind.CONNECTION_ERROR, f"{what}: {detail}" if detail else what, retryable=True
    )


_ERRORS = (httpx.TransportError, httpx.StreamError, httpx.InvalidURL)


class Sender:
    """Sends prepared requests over one sync httpx transport (ours or the caller's)."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self.transport = transport

    def send(
        self,
        prepared: PreparedRequest,
        *,
        timeout_s: float,
        stop_at: float,
        monotonic: Callable[[], float],
    ) -> Response:
        """The whole answer, or :class:`TransportFailure`."""
        try:
            raw = self.transport.handle_request(_request(prepared, timeout_s))
            try:
                headers = dict(raw.headers.items())
                body = _Body(raw.status_code, stop_at, monotonic)
                for chunk in raw.iter_bytes():
                    body.add(chunk, headers)
                return body.response(raw, headers)
            finally:
                raw.close()
        except _ERRORS as exc:
            raise _translate(exc, timeout_s) from None

    def close(self) -> None:
        self.transport.close()


class AsyncSender:
    """:class:`Sender` for an async httpx transport, on the caller's event loop."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def send(
        self,
        prepared: PreparedRequest,
        *,
        timeout_s: float,
        stop_at: float,
        monotonic: Callable[[], float],
    ) -> Response:
        try:
            raw = await self.transport.handle_async_request(_request(prepared, timeout_s))
            try:
                headers = dict(raw.headers.items())
                body = _Body(raw.status_code, stop_at, monotonic)
                async for chunk in raw.aiter_bytes():
                    body.add(chunk, headers)
                return body.response(raw, headers)
            finally:
                await raw.aclose()
        except _ERRORS as exc:
            raise _translate(exc, timeout_s) from None

    async def aclose(self) -> None:
        await self.transport.aclose()


# --- our own connections -----------------------------------------------------------------------

_ONE = httpx.Limits(max_connections=1, max_keepalive_connections=1)
KEEPALIVE_S = 5.0  # how long an idle connection is kept open (httpx's default)
_READ_LIMIT = 256 * 1024  # asyncio stream buffer per connection

# httpcore's exceptions as httpx's (what the senders translate), most specific first.
_AS_HTTPX: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
_CORE_ERRORS: tuple[type[Exception], ...] = tuple(source for source, _ in _AS_HTTPX)


def _as_httpx(exc: Exception) -> Exception:
    for source, target in _AS_HTTPX:
        if isinstance(exc, source):
            return target(str(exc))
    return exc


def _core_request(request: httpx.Request) -> httpcore.Request:
    """httpx's request as httpcore's (bytes bodies passed as bytes: no stream to iterate)."""
    url = request.url
    stream = request.stream
    content: Any = request.content if isinstance(stream, httpx.ByteStream) else stream
    return httpcore.Request(
        request.method,
        httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
        headers=request.headers.raw,
        content=content,
        extensions=request.extensions,
    )


class _Lent(httpx.SyncByteStream):
    """A response body (httpx's or httpcore's) that gives its connection back when closed."""

    def __init__(self, stream: Any, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except _CORE_ERRORS as exc:
            raise _as_httpx(exc) from exc

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _AsyncLent(httpx.AsyncByteStream):
    def __init__(self, stream: Any, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except _CORE_ERRORS as exc:
            raise _as_httpx(exc) from exc

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection on asyncio's streams, as httpcore reads and writes it.

    httpcore writes a request's head and body separately; they are held until the response is
    read (or 64 KiB are pending), so that a request costs one ``send`` and one segment."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                if self._pending:
                    await self._flush()
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading the response") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._pending.append(buffer)
        self._pending_size += len(buffer)
        if self._pending_size < 65536:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._flush()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out sending the request") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def _flush(self) -> None:
        writer = self._writer
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        self._pending_size = 0
        if writer.is_closing():
            raise ConnectionResetError("the connection is closed")
        writer.write(data)
        if writer.transport.get_write_buffer_size():  # the kernel did not take it all
            await writer.drain()

    async def aclose(self) -> None:
        self._writer.close()
        # A TLS peer may never answer the close: do not wait for it long.
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except OSError as exc:  # ssl.SSLError (an untrusted certificate) is an OSError
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # idle, yet the peer spoke or hung up: not reusable
            return self._reader.at_eof() or self._writer.is_closing()
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return self._writer.get_extra_info(info)  # "ssl_object", "socket"


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections through ``asyncio.open_connection``: an IP address is used as it is (no
    resolver thread); a host name is resolved by the event loop's ``getaddrinfo``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=local, limit=_READ_LIMIT
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return _AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path, limit=_READ_LIMIT)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {path}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return _AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Idle:
    """Idle single-connection transports, per proxy; the most recently returned is lent first,
    so a lightly loaded process keeps few connections warm. ``list.append``/``pop`` are atomic."""

    def __init__(self, proxies: Mapping[str, str]) -> None:
        self.proxies = dict(proxies)
        # A NO_PROXY list alone routes nothing through a proxy: skip the lookup per request.
        self.proxied = any(self.proxies.get(scheme) for scheme in ("http", "https", "all"))
        self.idle: dict[str | None, list[AnyTransport]] = {}
        self.every: list[AnyTransport] = []
        self.lock = threading.Lock()

    def take(
        self, url: httpx.URL, make: Callable[[str | None], AnyTransport]
    ) -> tuple[str | None, AnyTransport]:
        proxy = environment_proxy(str(url), self.proxies) if self.proxied else None
        try:
            return proxy, self.idle.setdefault(proxy, []).pop()
        except IndexError:  # every connection made so far is busy: make another
            transport = make(proxy)
            with self.lock:
                self.every.append(transport)
            return proxy, transport

    def give_back(self, proxy: str | None, transport: AnyTransport) -> None:
        self.idle.setdefault(proxy, []).append(transport)

    def drain(self) -> list[AnyTransport]:
        with self.lock:
            every, self.every = self.every, []
        self.idle.clear()
        return every

    @property
    def opened(self) -> int:
        """How many single connections were made (each opens at most one socket at a time)."""
        return len(self.every)


class ConnectionPool(httpx.BaseTransport):
    """Single-connection pools lent whole, one per request in flight (the engine bounds how many
    are in flight). ``proxies`` as ``urllib.request.getproxies()`` gives them."""

    def __init__(self, tls: ssl.SSLContext, proxies: Mapping[str, str]) -> None:
        self._tls = tls
        self._idle = _Idle(proxies)

    def _make(self, proxy: str | None) -> AnyTransport:
        if proxy is not None:
            return httpx.HTTPTransport(verify=self._tls, limits=_ONE, proxy=proxy)
        return httpcore.ConnectionPool(
            ssl_context=self._tls,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_S,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy, one = self._idle.take(request.url, self._make)
        headers: Any
        try:
            if isinstance(one, httpcore.ConnectionPool):
                raw = one.handle_request(_core_request(request))
                status, headers, stream = raw.status, raw.headers, raw.stream
            else:
                assert isinstance(one, httpx.HTTPTransport)
                response = one.handle_request(request)
                status, headers, stream = response.status_code, response.headers, response.stream
        except BaseException as exc:
            self._idle.give_back(proxy, one)
            if isinstance(exc, _CORE_ERRORS):
                raise _as_httpx(exc) from exc
            raise
        return httpx.Response(
            status, headers=headers, stream=_Lent(stream, lambda: self._idle.give_back(proxy, one))
        )

    def close(self) -> None:
        for one in self._idle.drain():
            assert isinstance(one, httpcore.ConnectionPool | httpx.HTTPTransport)
            one.close()


class AsyncConnectionPool(httpx.AsyncBaseTransport):
    """:class:`ConnectionPool` for asyncio: httpcore pools of one over :class:`_AsyncioBackend`."""

    def __init__(self, tls: ssl.SSLContext, proxies: Mapping[str, str]) -> None:
        self._tls = tls
        self._idle = _Idle(proxies)
        self._backend = _AsyncioBackend()

    @property
    def opened(self) -> int:
        return self._idle.opened

    def _make(self, proxy: str | None) -> AnyTransport:
        if proxy is not None:
            return httpx.AsyncHTTPTransport(verify=self._tls, limits=_ONE, proxy=proxy)
        return httpcore.AsyncConnectionPool(
            ssl_context=self._tls,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_S,
            network_backend=self._backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy, one = self._idle.take(request.url, self._make)
        headers: Any
        try:
            if isinstance(one, httpcore.AsyncConnectionPool):
                raw = await one.handle_async_request(_core_request(request))
                status, headers, stream = raw.status, raw.headers, raw.stream
            else:
                assert isinstance(one, httpx.AsyncHTTPTransport)
                response = await one.handle_async_request(request)
                status, headers, stream = response.status_code, response.headers, response.stream
        except BaseException as exc:
            self._idle.give_back(proxy, one)
            if isinstance(exc, _CORE_ERRORS):
                raise _as_httpx(exc) from exc
            raise
        release = lambda: self._idle.give_back(proxy, one)  # noqa: E731
        return httpx.Response(status, headers=headers, stream=_AsyncLent(stream, release))

    async def aclose(self) -> None:
        ones = self._idle.drain()
        await asyncio.gather(
            *(
                o.aclose()
                for o in ones
                if isinstance(o, httpcore.AsyncConnectionPool | httpx.AsyncHTTPTransport)
            ),
            return_exceptions=True,
        )
