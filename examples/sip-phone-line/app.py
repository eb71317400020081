"""A SIP phone line for OpenAI Realtime: a plain ASGI webhook receiver.

OpenAI POSTs a signed ``realtime.call.incoming`` webhook when a call reaches your SIP trunk.
This app verifies it, picks the template by the dialed number (the SIP ``To`` header), and
accepts the call with that template's reviewed session — or rejects it (603) when the number is
not one of ours. Run it with any ASGI server::

    OPENAI_API_KEY=sk-… OPENAI_WEBHOOK_SECRET=whsec_… uvicorn app:app --port 8080

and point the project's webhook at ``https://<your host>/webhooks/openai``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import rtconfig

HERE = Path(__file__).resolve().parent

#: The dialed number → the template that answers it.
NUMBERS = {"+14155550100": "support", "+14155550101": "sales"}
_DIALED = re.compile(r"<?sips?:(\+?[0-9]+)@")
MAX_BODY = 64 * 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def template_for(call: rtconfig.IncomingCall) -> str | None:
    """The template for the number the caller dialed, or None (not one of ours)."""
    match = _DIALED.search(call.header("To") or "")
    return NUMBERS.get(match.group(1)) if match else None


class PhoneLine:
    """The ASGI app: ``POST /webhooks/openai`` only. Every template is planned (and so
    validated) at startup: a broken ``sessions.toml`` stops the app before it serves."""

    def __init__(self, sessions: str | Path, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        plan = rtconfig.load(sessions).plan(environ=environ, compare_lock=False)
        self.records = {record.name: record for record in plan.templates}
        self.verifier = rtconfig.WebhookVerifier(environ["OPENAI_WEBHOOK_SECRET"])
        self.applier = rtconfig.AsyncApplier(environ=environ)
        self.outcomes: list[rtconfig.Call] = []  # what was done with each call, newest last
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http" or scope["path"] != "/webhooks/openai":
            await _answer(send, 404)
            return
        if scope["method"] != "POST":
            await _answer(send, 405)
            return
        body = await _body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            event = self.verifier.verify(body if body is not None else b"", headers)
        except rtconfig.WebhookError as exc:
            await _answer(send, 400, f"refused: {exc.reason}")
            return
        if isinstance(event, rtconfig.IncomingCall):
            # Answer the webhook at once; accept (or reject) the call right after.
            task = asyncio.ensure_future(self._route(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await _answer(send, 200)

    async def _route(self, call: rtconfig.IncomingCall) -> None:
        name = template_for(call)
        if name is None or name not in self.records:
            outcome = await self.applier.reject_call(call.call_id, 603, record=_any(self.records))
        else:
            outcome = await self.applier.accept_call(self.records[name], call.call_id)
        self.outcomes.append(outcome)

    async def settle(self) -> None:
        """Wait for the calls being routed (tests; and a graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.settle()
                await self.applier.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _any(records: Mapping[str, Any]) -> Any:
    return next(iter(records.values()))


async def _body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None  # refused below as a bad signature: nothing oversized is parsed
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Send, status: int, text: str = "") -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(environ: Mapping[str, str] | None = None) -> PhoneLine:
    return PhoneLine(HERE / "sessions.toml", environ)


if os.environ.get("OPENAI_WEBHOOK_SECRET"):
    app = create_app()
