"""examples/browser/index.html in a real headless Chromium against ``rtconfig serve`` and the
emulator: the token arrives through CORS, and the page's own RTCPeerConnection offer goes
through the calls route and ``setRemoteDescription`` accepts the answer."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from rtconfig.testing import EMULATOR_API_KEY, Emulator
from tests._serve_helpers import SERVE_TOKEN, require, serving

pytest.importorskip("starlette", reason="needs the serve extra")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "browser"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--use-fake-device-for-media-stream",
)


class _PageServer(ThreadingHTTPServer):
    """Serves the example's files (the page's origin) and receives the page's report."""

    daemon_threads = True
    report: dict[str, Any] | None = None
    reported = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _PageServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.split("?", 1)[0].lstrip("/") or "index.html"
        if name != "index.html":
            self.send_error(404)
            return
        body = (EXAMPLE / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.report = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
        self.send_response(204)
        self.end_headers()
        self.server.reported.set()


@pytest.fixture
def page_server() -> Iterator[_PageServer]:
    server = _PageServer(("127.0.0.1", 0), _Handler)
    server.reported = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_browser_gets_a_token_and_a_call_through_cors(
    page_server: _PageServer, tmp_path: Path
) -> None:
    """Chromium on an allowed origin gets a token and, with its own WebRTC offer, a call through
    CORS: the rtc_ id from the exposed Location and an answer setRemoteDescription accepts."""
    chromium = require("chromium")
    origin = f"http://127.0.0.1:{page_server.server_address[1]}"
    toml = (EXAMPLE / "sessions.toml").read_text()
    toml = re.sub(r"allow_origins = \[.*\]", f'allow_origins = ["{origin}"]', toml)
    with Emulator() as api:
        environ = {
            "OPENAI_API_KEY": EMULATOR_API_KEY,
            "OPENAI_BASE_URL": api.base_url,
            "RTCONFIG_SERVE_TOKENS": SERVE_TOKEN,
        }
        with serving(tmp_path, toml, environ) as served:
            query = urlencode(
                {"server": served.url, "token": SERVE_TOKEN, "report": origin + "/report"}
            )
            browser = subprocess.Popen(
                [
                    chromium,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={tmp_path / 'profile'}",
                    f"{origin}/index.html?{query}",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                reported = page_server.reported.wait(timeout=90)
            finally:
                browser.terminate()
                try:
                    browser.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    browser.kill()
                    browser.wait()
            preflights = [r for r in served.access_log() if r["method"] == "OPTIONS"]
            time.sleep(0.1)
    assert reported, "the page never reported (did Chromium start?)"
    report = page_server.report or {}
    assert report.get("token", "").startswith("ok sess_"), report
    assert re.fullmatch(r"ok rtc_\S+ stable", report.get("call", "")), report
    assert preflights and all(r["status"] == 204 for r in preflights)
