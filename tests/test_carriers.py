"""The carriers' request shapes (CONTRACT §10, NOTES §9) as pure functions, and
``render --as session.update|call``: one session object, one hash, every carrier."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._carriers import (
    MAX_SDP_BYTES,
    Carrier,
    accept_call_request,
    carriers_of,
    check_call_id,
    create_call_request,
    hangup_call_request,
    parse_call_location,
    refer_call_request,
    refusal,
    reject_call_request,
    session_sha256,
)
from rtconfig._cli import main
from rtconfig._endpoints import Endpoint

SESSIONS = """
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
instructions = "You help callers."
expires_after = { anchor = "created_at", seconds = 300 }
audio.output.voice = "marin"

[templates.notes]
type = "transcription"
audio.input.transcription.model = "gpt-4o-transcribe"

[templates.legacy]
endpoint = "realtime/sessions"
model = "gpt-realtime"
voice = "alloy"
"""

SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
)
SESSION = {"type": "realtime", "model": "gpt-realtime", "audio": {"output": {"voice": "marin"}}}
GA_BODY = {"expires_after": {"anchor": "created_at", "seconds": 300}, "session": SESSION}


@pytest.fixture
def sessions(write_toml: Callable[..., Path]) -> Path:
    return write_toml(SESSIONS)


def test_the_session_hash_is_the_contract_sha256_of_the_session_object() -> None:
    """session_sha256 is sha256 of §5 (sorted, compact, UTF-8 JSON) of the session alone."""
    assert session_sha256(Endpoint.CLIENT_SECRETS, GA_BODY) == rtconfig.body_sha256(SESSION)
    assert session_sha256(Endpoint.SESSIONS, {"model": "gpt-realtime"}) is None


def test_create_call_is_multipart_with_sdp_and_session_parts() -> None:
    """calls: part sdp (application/sdp, the offer as sent), part session (application/json)."""
    request = create_call_request(SESSION, SDP, boundary="b0undary")
    assert request.path == "realtime/calls" and request.accept == "application/sdp"
    assert request.content_type == "multipart/form-data; boundary=b0undary"
    session_json = json.dumps(SESSION, separators=(",", ":")).encode()
    assert request.content == (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="sdp"\r\n'
        b"Content-Type: application/sdp\r\n\r\n" + SDP.encode() + b"\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="session"\r\n'
        b"Content-Type: application/json\r\n\r\n" + session_json + b"\r\n"
        b"--b0undary--\r\n"
    )


def test_create_call_parses_as_multipart_form_data() -> None:
    """A standard multipart parser (the stdlib email parser) finds exactly the two parts."""
    import email.parser

    request = create_call_request(SESSION, SDP)
    assert request.content is not None and request.content_type is not None
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + request.content_type.encode() + b"\r\n\r\n" + request.content
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.get_payload()}
    assert set(parts) == {"sdp", "session"}
    assert parts["sdp"].get_content_type() == "application/sdp"
    assert parts["session"].get_content_type() == "application/json"
    assert json.loads(parts["session"].get_payload()) == SESSION


def test_the_random_boundary_differs_per_request() -> None:
    """Each request gets a fresh boundary (an offer cannot be crafted to break the framing)."""
    first, second = create_call_request(SESSION, SDP), create_call_request(SESSION, SDP)
    assert first.content_type != second.content_type


def test_accept_sends_the_flat_session_object() -> None:
    """accept: the JSON body is the session itself (type realtime, no expires_after)."""
    request = accept_call_request(SESSION, "rtc_abc123")
    assert request.path == "realtime/calls/rtc_abc123/accept"
    assert request.content_type == "application/json" and request.content is not None
    assert json.loads(request.content) == SESSION


def test_reject_defaults_to_603_decline() -> None:
    """reject: {"status_code": 603} unless told otherwise."""
    request = reject_call_request("rtc_abc123")
    assert request.path == "realtime/calls/rtc_abc123/reject" and request.content is not None
    assert json.loads(request.content) == {"status_code": 603}
    assert json.loads(reject_call_request("rtc_abc", 486).content or b"") == {"status_code": 486}


@pytest.mark.parametrize("status", [200, 399, 700, True, "603", 603.0])
def test_reject_refuses_a_status_that_is_not_a_sip_failure(status: Any) -> None:
    """Only integers 400–699 (SIP final failure statuses) are sent."""
    with pytest.raises(rtconfig.UsageError, match="SIP failure status"):
        reject_call_request("rtc_abc", status)


def test_hangup_has_no_body() -> None:
    """hangup: POST with no body and no content type."""
    request = hangup_call_request("rtc_abc123")
    assert request.path == "realtime/calls/rtc_abc123/hangup"
    assert request.content is None and request.content_type is None


def test_refer_sends_the_target_uri() -> None:
    """refer: {"target_uri": …} for tel: and sip: targets."""
    for target in ("tel:+14155550100", "sip:agent@example.com"):
        request = refer_call_request("rtc_abc123", target)
        assert request.path == "realtime/calls/rtc_abc123/refer" and request.content is not None
        assert json.loads(request.content) == {"target_uri": target}


@pytest.mark.parametrize("target", ["https://evil.example", "tel:+1 415", "", "sip:" + "a" * 3000])
def test_refer_refuses_other_targets(target: str) -> None:
    """Anything but a tel:/sip: URI without spaces is refused before any request."""
    with pytest.raises(rtconfig.UsageError, match="tel: or sip: URI"):
        refer_call_request("rtc_abc123", target)


@pytest.mark.parametrize(
    "call_id",
    ["rtc_../../client_secrets", "rtc_a/b", "rtc_a?x=1", "rtc_%2F", "rtc_", "abc", "", None, 5],
)
def test_call_ids_that_could_inject_a_path_are_refused(call_id: Any) -> None:
    """A call id must be rtc_ and URL-safe characters; every call request checks it."""
    for build in (
        lambda: accept_call_request(SESSION, call_id),
        lambda: reject_call_request(call_id),
        lambda: hangup_call_request(call_id),
        lambda: refer_call_request(call_id, "tel:+1"),
        lambda: check_call_id(call_id),
    ):
        with pytest.raises(rtconfig.UsageError, match="not an OpenAI call id"):
            build()


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        ("", "empty"),
        ("  \r\n ", "empty"),
        (b"v=0\r\n\xff\xfe", "not UTF-8"),
        ("v=0\r\n\x00s=-", "not text"),
        ("v=0\r\n" + "a=x\r\n" * (MAX_SDP_BYTES // 5), "more than 65536"),
        (b"v=0" + b"a" * MAX_SDP_BYTES, "more than 65536"),
        ("hello", "does not start with a version line"),
        (12, "must be text"),
    ],
)
def test_bad_sdp_offers_are_refused_before_any_request(offer: Any, message: str) -> None:
    """An offer that is empty, not text or over 64 KiB is refused, and never quoted."""
    with pytest.raises(rtconfig.UsageError, match=message) as caught:
        create_call_request(SESSION, offer)
    assert "a=x" not in str(caught.value) and "nothing was sent" in str(caught.value)


def test_an_offer_of_exactly_64_kib_is_accepted() -> None:
    """The bound is inclusive: 65536 bytes of SDP is sent."""
    offer = "v=0\r\n" + "a" * (MAX_SDP_BYTES - 5)
    assert len(offer.encode()) == MAX_SDP_BYTES
    assert create_call_request(SESSION, offer).content is not None


@pytest.mark.parametrize(
    ("location", "call_id"),
    [
        ("/v1/realtime/calls/rtc_abc123", "rtc_abc123"),
        ("https://api.openai.com/v1/realtime/calls/rtc_u1_9c65", "rtc_u1_9c65"),
        ("/v1/realtime/calls/rtc_abc123/", "rtc_abc123"),
        ("/v1/realtime/calls/rtc_abc123?x=1", "rtc_abc123"),
        ("rtc_abc123", "rtc_abc123"),
        ("/v1/realtime/calls/not-a-call", None),
        ("", None),
        (None, None),
    ],
)
def test_location_parsing(location: str | None, call_id: str | None) -> None:
    """The call id is the last segment of Location, when it is an OpenAI call id."""
    assert parse_call_location(location) == call_id


def test_which_carriers_each_template_can_ride() -> None:
    """GA realtime: all four; GA transcription: token and session.update; beta: token only."""
    transcription = {"session": {"type": "transcription"}}
    assert carriers_of(Endpoint.CLIENT_SECRETS, GA_BODY) == tuple(Carrier)
    assert carriers_of(Endpoint.CLIENT_SECRETS, transcription) == (
        Carrier.TOKEN,
        Carrier.SESSION_UPDATE,
    )
    assert carriers_of(Endpoint.SESSIONS, {"model": "gpt-realtime"}) == (Carrier.TOKEN,)


def test_refusals_say_why_only_ga_realtime_takes_calls() -> None:
    """A beta or transcription template is refused for calls with the reason and the fix."""
    beta = refusal(Endpoint.SESSIONS, {"model": "gpt-realtime"}, Carrier.SIP)
    assert beta is not None and 'only GA type = "realtime" sessions can take calls' in beta
    assert "rtconfig migrate" in beta
    notes = refusal(Endpoint.CLIENT_SECRETS, {"session": {"type": "transcription"}}, Carrier.WEBRTC)
    assert notes is not None and "transcription session" in notes


def test_session_update_is_the_client_event(sessions: Path) -> None:
    """rtconfig.session_update(record) is {"type": "session.update", "session": <session>}."""
    support = rtconfig.load(sessions).resolve("support", environ={})
    event = rtconfig.session_update(support)
    assert event == {"type": "session.update", "session": support.body["session"]}
    assert rtconfig.session_update(support, event_id="evt_1")["event_id"] == "evt_1"


def test_session_update_refuses_a_beta_template_at_its_line(sessions: Path) -> None:
    """A beta template has no GA session: ConfigError at the template's header line."""
    legacy = rtconfig.load(sessions).resolve("legacy", environ={})
    with pytest.raises(rtconfig.ConfigError) as caught:
        rtconfig.session_update(legacy)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.template == "legacy" and diagnostic.line == 16
    assert "beta endpoint realtime/sessions" in diagnostic.message


def render(sessions: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["render", str(sessions), *args], catch_exceptions=False)


def test_render_as_session_update_prints_the_event(sessions: Path) -> None:
    """render --as session.update prints the event carrying the minting body's session."""
    minting = json.loads(render(sessions, "support").stdout)
    result = render(sessions, "support", "--as", "session.update")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"type": "session.update", "session": minting["session"]}


def test_render_as_call_prints_the_flat_session(sessions: Path) -> None:
    """render --as call prints the session object accept and calls send: no expires_after."""
    result = render(sessions, "support", "--as", "call")
    assert result.exit_code == 0
    session = json.loads(result.stdout)
    assert session["type"] == "realtime" and "expires_after" not in session
    assert rtconfig.body_sha256(session) == rtconfig.body_sha256(
        json.loads(render(sessions, "support").stdout)["session"]
    )


@pytest.mark.parametrize(("template", "why"), [("notes", "transcription"), ("legacy", "beta")])
def test_render_as_call_refuses_what_cannot_take_calls(
    sessions: Path, template: str, why: str
) -> None:
    """Transcription and beta templates: exit 1, file:line, and why (only GA realtime)."""
    result = render(sessions, template, "--as", "call")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"{sessions}:" in result.stderr and why in result.stderr
    assert 'only GA type = "realtime" sessions can take calls' in result.stderr


def test_render_as_session_update_takes_a_transcription_template(sessions: Path) -> None:
    """A GA transcription session can be sent as session.update."""
    result = render(sessions, "notes", "--as", "session.update")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["session"]["type"] == "transcription"
