"""``POST /v1/webhooks/openai`` of ``rtconfig serve`` over real HTTP: OpenAI's signed
``realtime.call.incoming`` verified (good, bad, stale, replayed), answered 200 at once, and
routed by ``[[serve.sip]]`` (CONTRACT §10, §11)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rtconfig.testing import EMULATOR_API_KEY, Emulator, send_incoming_call
from tests._serve_helpers import (
    BASE_TOML,
    SERVE_TOKEN,
    WEBHOOK_SECRET,
    Served,
    serving,
    start_server,
)

pytest.importorskip("starlette", reason="needs the serve extra")

SIP_TOML = """\
[serve]
templates = ["support", "sales"]
tokens_env = "RTCONFIG_SERVE_TOKENS"
webhook_secret_env = "OPENAI_WEBHOOK_SECRET"

[[serve.sip]]
header = "To"
match = "^<sip:\\\\+14155550100@"
template = "support"

[[serve.sip]]
header = "To"
match = "^<sip:\\\\+1"
template = "sales"
"""


def _environ(api: Emulator, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": EMULATOR_API_KEY,
        "OPENAI_BASE_URL": api.base_url,
        "RTCONFIG_SERVE_TOKENS": SERVE_TOKEN,
        "OPENAI_WEBHOOK_SECRET": WEBHOOK_SECRET,
        **extra,
    }


@pytest.fixture(scope="module")
def api() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(api: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("sip"), BASE_TOML + SIP_TOML, _environ(api)) as served:
        yield served


def _hook(server: Served) -> str:
    return server.url + "/v1/webhooks/openai"


def _settled(api: Emulator) -> int:
    """The emulator's request count once earlier tests' background accepts/rejects (now real
    requests: the carriers landed) have arrived: unchanged for 0.3 s."""
    count = len(api.requests)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if len(api.requests) == count:
            return count
        count = len(api.requests)
    return count


def _record(server: Served, call_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for record in server.audit("serve.request"):
            if record.get("call_id") == call_id:
                return record
        time.sleep(0.05)
    raise AssertionError(f"no serve.request for {call_id}")


def test_signed_call_is_answered_200_and_routed_by_the_first_matching_rule(
    server: Served,
) -> None:
    """A good delivery: 200 at once; the audit record says accept, with the rule's line."""
    delivered = send_incoming_call(
        _hook(server), WEBHOOK_SECRET, sip_headers={"To": "<sip:+14155550100@trunk>"}
    )
    assert delivered.status == 200
    record = _record(server, delivered.call_id)
    assert record["decision"] == "accept" and record["template"] == "support"
    lines = (BASE_TOML + SIP_TOML).splitlines()
    assert record["sip_rule_line"] == lines.index("[[serve.sip]]") + 1


def test_later_rule_and_no_rule(server: Served) -> None:
    """Another +1 number goes to the second rule's template; a number no rule matches is
    rejected."""
    second = send_incoming_call(
        _hook(server), WEBHOOK_SECRET, sip_headers={"To": "<sip:+12125550100@trunk>"}
    )
    nobody = send_incoming_call(
        _hook(server), WEBHOOK_SECRET, sip_headers={"To": "<sip:+442071234567@trunk>"}
    )
    assert second.status == nobody.status == 200
    assert _record(server, second.call_id)["template"] == "sales"
    unmatched = _record(server, nobody.call_id)
    assert unmatched["decision"] == "reject" and unmatched["template"] is None


@pytest.mark.parametrize("case", ["bad_signature", "stale", "future", "unsigned"])
def test_refused_deliveries_are_400(server: Served, api: Emulator, case: str) -> None:
    """A wrong secret, a timestamp 10 minutes old or ahead, or no signature headers: 400 with a
    generic message, the reason in the audit log, nothing sent upstream."""
    before = _settled(api)
    now = int(time.time())
    if case == "unsigned":
        response = httpx.post(_hook(server), content=b'{"type": "realtime.call.incoming"}')
        status, text = response.status_code, response.text
    else:
        secret = (
            "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="
            if case == "bad_signature"
            else (WEBHOOK_SECRET)
        )
        stamp = {"stale": now - 600, "future": now + 600}.get(case)
        delivered = send_incoming_call(_hook(server), secret, timestamp=stamp)
        status, text = delivered.status, delivered.body.decode()
    assert status == 400
    assert "verification failed" in text and WEBHOOK_SECRET not in text
    time.sleep(0.3)
    assert len(api.requests) == before
    reasons = [r.get("reason") for r in server.audit("serve.request") if r["status"] == 400]
    assert reasons and all(reasons)


def test_replayed_webhook_id_is_400(server: Served) -> None:
    """The same webhook-id twice: the second delivery is refused (reason: replayed)."""
    first = send_incoming_call(_hook(server), WEBHOOK_SECRET, webhook_id="wh_replay_test")
    again = send_incoming_call(_hook(server), WEBHOOK_SECRET, webhook_id="wh_replay_test")
    assert first.status == 200 and again.status == 400
    replays = [r for r in server.audit("serve.request") if r.get("reason") == "replayed"]
    assert replays


def test_webhook_route_is_off_without_a_secret(api: Emulator, tmp_path: Path) -> None:
    """Without webhook_secret_env there is no webhook route (404)."""
    toml = BASE_TOML + '[serve]\ntemplates = ["support"]\ntokens_env = "RTCONFIG_SERVE_TOKENS"\n'
    with serving(tmp_path, toml, _environ(api)) as served:
        response = httpx.post(_hook(served), content=b"{}")
    assert response.status_code == 404


def test_refuses_to_start_without_the_webhook_secret(api: Emulator, tmp_path: Path) -> None:
    """webhook_secret_env names an unset variable: exit 1 before listening, at file:line."""
    environ = _environ(api)
    del environ["OPENAI_WEBHOOK_SECRET"]
    result = start_server(tmp_path, BASE_TOML + SIP_TOML, environ)
    assert not isinstance(result, Served)
    assert result.returncode == 1
    assert "OPENAI_WEBHOOK_SECRET (webhook_secret_env) is not set" in result.stderr
    assert "sessions.toml:" in result.stderr and "Traceback" not in result.stderr
