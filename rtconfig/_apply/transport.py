"""The transport: the only module that imports httpx.

One seam, an httpx transport (``httpx.BaseTransport`` / ``httpx.AsyncBaseTransport``), is used
the same way in production and in tests: :class:`Sender` / :class:`AsyncSender` turn a
:class:`~rtconfig._apply.request.PreparedRequest` into an ``httpx.Request``, hand it to the
transport, read the body (bounded in size and time) and return a plain :class:`Response`, or
raise :class:`TransportFailure`. httpx's exceptions are translated here and nowhere else. Tests
pass ``httpx.MockTransport`` and so exercise the real send path.

In production the transport is a :class:`ConnectionPool` (or :class:`AsyncConnectionPool`):
single-connection ``httpx.HTTPTransport``\\ s, each lent whole to one request at a time. Why not
one transport with N connections: httpcore's shared pool rescans every connection and every
waiting request under one lock, twice per request, which costs about as much CPU as the HTTP
exchange at 32 in flight, and makes ``httpx.AsyncClient`` collapse past ~24 in flight
(encode/httpx#3215; figures in ``docs/performance.md``). Only public httpx API is used.
Redirects are never followed (transports do not follow them); TLS is always verified.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING

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

AnyTransport = httpx.BaseTransport | httpx.AsyncBaseTransport


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
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    return httpx.Request(
        prepared.method,
        _url(prepared.url),
        headers=list(prepared.headers),
        content=prepared.content,
        extensions={"timeout": timeout.as_dict()},
    )


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


class _Lent(httpx.SyncByteStream):
    """A response body that gives its connection back when closed."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class _AsyncLent(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


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


class ConnectionPool(httpx.BaseTransport):
    """Single-connection transports lent whole, one per request in flight (the engine bounds
    how many are in flight). ``proxies`` as ``urllib.request.getproxies()`` gives them."""

    def __init__(self, tls: ssl.SSLContext, proxies: Mapping[str, str]) -> None:
        self._tls = tls
        self._idle = _Idle(proxies)

    def _make(self, proxy: str | None) -> httpx.HTTPTransport:
        return httpx.HTTPTransport(verify=self._tls, limits=_ONE, proxy=proxy)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy, transport = self._idle.take(request.url, self._make)
        assert isinstance(transport, httpx.HTTPTransport)
        try:
            response = transport.handle_request(request)
        except BaseException:
            self._idle.give_back(proxy, transport)
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Lent(response.stream, lambda: self._idle.give_back(proxy, transport)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        for transport in self._idle.drain():
            assert isinstance(transport, httpx.HTTPTransport)
            transport.close()


class AsyncConnectionPool(httpx.AsyncBaseTransport):
    """:class:`ConnectionPool` for asyncio: single-connection ``httpx.AsyncHTTPTransport``\\ s."""

    def __init__(self, tls: ssl.SSLContext, proxies: Mapping[str, str]) -> None:
        self._tls = tls
        self._idle = _Idle(proxies)

    def _make(self, proxy: str | None) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self._tls, limits=_ONE, proxy=proxy)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy, transport = self._idle.take(request.url, self._make)
        assert isinstance(transport, httpx.AsyncHTTPTransport)
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            self._idle.give_back(proxy, transport)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncLent(response.stream, lambda: self._idle.give_back(proxy, transport)),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        transports = self._idle.drain()
        await asyncio.gather(
            *(t.aclose() for t in transports if isinstance(t, httpx.AsyncHTTPTransport)),
            return_exceptions=True,
        )
