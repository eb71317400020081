"""examples/sip-phone-line: the ASGI webhook receiver, run under uvicorn on loopback and rung
with the emulator's signed realtime.call.incoming webhooks, accepts each call with the template
of the dialed number, rejects other numbers, and refuses forged or replayed deliveries."""

from __future__ import annotations

import base64
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rtconfig
from rtconfig.testing import Emulator, signed_incoming_call

uvicorn = pytest.importorskip("uvicorn")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sip-phone-line"
SECRET = "whsec_" + base64.b64encode(b"sip-phone-line-example-secret").decode()


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("sip_phone_line_app", EXAMPLE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def line() -> Iterator[tuple[Emulator, Any, str]]:
    """The emulator as OpenAI, and the example app serving on a loopback port."""
    with Emulator() as api:
        environ = {
            "OPENAI_API_KEY": "sk-test-sip-line-0123456789",
            "OPENAI_WEBHOOK_SECRET": SECRET,
            "OPENAI_BASE_URL": api.base_url,
        }
        app = _module().create_app(environ)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        try:
            yield api, app, f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/openai"
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()


def _wait_for(api: Emulator, call_id: str, state: str) -> None:
    deadline = time.monotonic() + 10
    while api.calls.get(call_id) != state and time.monotonic() < deadline:
        time.sleep(0.02)
    assert api.calls.get(call_id) == state, api.calls


def test_a_call_to_the_support_number_is_accepted_with_its_template(line: Any) -> None:
    """To +14155550100: accepted with support's session, exactly as `render --as call`."""
    api, _app, url = line
    sent = api.send_incoming_call(url, SECRET, sip_headers={"To": "<sip:+14155550100@sip.x>"})
    assert sent.status == 200
    _wait_for(api, sent.call_id, "active")
    (accept,) = [r for r in api.requests if r.path.endswith("/accept")]
    support = rtconfig.load(EXAMPLE / "sessions.toml").resolve("support", environ={})
    assert accept.json == support.body["session"]
    assert accept.json["audio"]["input"]["format"] == {"type": "audio/pcmu"}


def test_each_number_gets_its_own_template(line: Any) -> None:
    """To +14155550101: accepted with sales (voice cedar)."""
    api, _app, url = line
    sent = api.send_incoming_call(url, SECRET, sip_headers={"To": "sip:+14155550101@sip.x"})
    _wait_for(api, sent.call_id, "active")
    (accept,) = [r for r in api.requests if r.path.endswith("/accept")]
    assert accept.json["audio"]["output"]["voice"] == "cedar"


def test_an_unknown_number_is_rejected_with_603(line: Any) -> None:
    """A number that is not ours: reject {"status_code": 603}."""
    api, _app, url = line
    sent = api.send_incoming_call(url, SECRET, sip_headers={"To": "<sip:+19995550000@sip.x>"})
    _wait_for(api, sent.call_id, "rejected")
    (reject,) = [r for r in api.requests if r.path.endswith("/reject")]
    assert reject.json == {"status_code": 603}


def test_forged_and_replayed_deliveries_are_refused(line: Any) -> None:
    """A delivery signed with another secret, or delivered twice: 400, and nothing is sent."""
    api, _app, url = line
    forged = api.send_incoming_call(url, "whsec_" + base64.b64encode(b"forged").decode())
    assert forged.status == 400 and b"bad_signature" in forged.body
    body, headers = signed_incoming_call(SECRET, sip_headers={"To": "<sip:+14155550100@x>"})
    import urllib.request

    def post() -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post() == 200
    assert post() == 400
    call_id = json.loads(body)["data"]["call_id"]
    _wait_for(api, call_id, "active")
    assert len([r for r in api.requests if r.path.endswith("/accept")]) == 1
