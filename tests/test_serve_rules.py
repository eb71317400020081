"""The server's decisions, each a plain function tested alone, and ``[serve]`` checked by the
loader (file:line diagnostics, what ``rtconfig validate`` reports)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

import rtconfig
from rtconfig._serve_settings import Rate, SipRule, parse_rate
from rtconfig.serve._auth import bearer_token, match_token, parse_tokens, token_problem
from rtconfig.serve._cors import actual, preflight
from rtconfig.serve._decide import (
    call_problem,
    choose_sip_rule,
    retry_after_s,
    sdp_problem,
    token_reply,
    tracing_problem,
    upstream_failure_reply,
    with_caller,
)

TEMPLATES = """\
[api]
endpoint = "realtime/client_secrets"

[templates.base]
abstract = true
type = "realtime"
model = "gpt-realtime"

[templates.support]
extends = "base"
"""

ORIGIN = "https://app.example.com"


# ---- auth ---------------------------------------------------------------------------------


def test_match_token_finds_any_listed_token_and_nothing_else() -> None:
    """Equal tokens match (whichever position), near misses and None do not."""
    tokens = ("a" * 20, "b" * 20)
    assert match_token("b" * 20, tokens) == "b" * 20
    assert match_token("a" * 20, tokens) == "a" * 20
    assert match_token("a" * 19, tokens) is None
    assert match_token("a" * 21, tokens) is None
    assert match_token(None, tokens) is None
    assert match_token("é" * 20, tokens) is None


def test_bearer_token_parses_only_the_bearer_scheme() -> None:
    """``Bearer x`` (any case) gives x; other schemes, empty or oversized headers give None."""
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer " + "x" * 10_000) is None


def test_parse_tokens_and_their_problems() -> None:
    """Comma-separated with blanks ignored; short or whitespace-bearing tokens are refused
    without the message quoting the token."""
    assert parse_tokens(" one-token-123456789 ,, two-token-123456789 ") == (
        "one-token-123456789",
        "two-token-123456789",
    )
    assert token_problem(("x" * 16,)) is None
    problem = token_problem(("tiny-tok",))
    assert problem is not None and "16 characters" in problem and "tiny-tok" not in problem
    assert "whitespace" in (token_problem(("a" * 10 + " " + "b" * 10,)) or "")


# ---- CORS ---------------------------------------------------------------------------------


def test_preflight_allows_exactly_the_listed_origin_on_template_routes() -> None:
    """204 + CORS headers for the listed origin asking POST with allowed headers; 403 for any
    other origin, method, header or route."""
    route = "/v1/templates/support/client_secret"
    ok = preflight(route, ORIGIN, "POST", "Authorization, Content-Type", [ORIGIN])
    assert ok.status == 204 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    for args in (
        (route, "https://other.example.com", "POST", "authorization"),
        (route, ORIGIN + ":8443", "POST", "authorization"),
        (route, ORIGIN, "DELETE", "authorization"),
        (route, ORIGIN, "POST", "x-custom"),
        ("/healthz", ORIGIN, "POST", ""),
        (route, None, "POST", ""),
    ):
        refused = preflight(*args, [ORIGIN])
        assert refused.status == 403, args
        assert "Access-Control-Allow-Origin" not in refused.headers


def test_actual_request_origins() -> None:
    """No Origin: through, no headers. Listed: through, exact origin echoed. Unlisted on a
    template route: 403. No allowed origins at all: no CORS headers ever."""
    route = "/v1/templates/support/calls"
    assert actual(route, None, [ORIGIN]).status is None
    listed = actual(route, ORIGIN, [ORIGIN])
    assert listed.status is None and listed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Location" in listed.headers["Access-Control-Expose-Headers"]
    assert actual(route, "https://evil.example.com", [ORIGIN]).status == 403
    assert actual(route, ORIGIN, []).status == 403
    assert actual("/healthz", "https://evil.example.com", [ORIGIN]).headers == {}


# ---- replies and sessions -------------------------------------------------------------------


def test_token_reply_carries_only_token_expiry_session_id() -> None:
    """The browser gets three keys; failures are a generic 502."""
    assert token_reply("ek_1", 5, "sess_1").body == {
        "value": "ek_1",
        "expires_at": 5,
        "session_id": "sess_1",
    }
    failure = upstream_failure_reply()
    assert failure.status == 502 and "upstream" in str(failure.body)


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    """Retry-After rounds up and never says 0."""
    assert retry_after_s(100.2, 100.0) == 1
    assert retry_after_s(130.01, 100.0) == 31
    assert retry_after_s(90.0, 100.0) == 1


def test_sdp_problem() -> None:
    """Only application/sdp, UTF-8, starting v=0, at most 64 KiB."""
    offer = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
    assert sdp_problem("application/sdp", offer) is None
    assert sdp_problem("application/sdp; charset=utf-8", offer) is None
    assert "Content-Type" in (sdp_problem("text/plain", offer) or "")
    assert "64 KiB" in (sdp_problem("application/sdp", b"v=0" + b"a" * 70_000) or "")
    assert "UTF-8" in (sdp_problem("application/sdp", b"v=0\xff") or "")
    assert "v=0" in (sdp_problem("application/sdp", b"hello") or "")


def test_call_problem_only_ga_realtime_takes_calls() -> None:
    """A GA realtime session can take calls; a transcription or beta one cannot."""
    ga = rtconfig.Endpoint.CLIENT_SECRETS
    assert call_problem(ga, {"type": "realtime"}) is None
    assert call_problem(ga, {"type": "transcription"}) is not None
    assert call_problem(rtconfig.Endpoint.SESSIONS, {"model": "x"}) is not None


def test_with_caller_adds_metadata_without_touching_the_rest() -> None:
    """tracing "auto" becomes a table with the caller; an existing table keeps its keys and
    metadata; the input is not mutated."""
    session = {"type": "realtime", "tracing": "auto"}
    out = with_caller(session, "abc")
    assert out["tracing"] == {"metadata": {"rtconfig_caller": "abc"}}
    assert session["tracing"] == "auto"
    table = {"tracing": {"workflow_name": "w", "metadata": {"team": "x"}}}
    assert with_caller(table, "abc")["tracing"] == {
        "workflow_name": "w",
        "metadata": {"team": "x", "rtconfig_caller": "abc"},
    }
    assert tracing_problem({"type": "realtime"}) is not None
    assert tracing_problem({"tracing": None}) is not None
    assert tracing_problem({"tracing": "auto"}) is None


def test_first_matching_sip_rule_wins() -> None:
    """Rules are tried in order on the named header (case-insensitive name); no match: None."""
    rules = (
        SipRule("To", re.compile(r"^<sip:\+1415"), "support"),
        SipRule("To", re.compile(r"^<sip:\+1"), "sales"),
        SipRule("From", re.compile("vip"), "vip"),
    )
    chosen = choose_sip_rule(rules, {"to": "<sip:+14155550100@x>"})
    assert chosen is not None and chosen.template == "support"
    chosen = choose_sip_rule(rules, {"to": "<sip:+12125550100@x>"})
    assert chosen is not None and chosen.template == "sales"
    chosen = choose_sip_rule(rules, {"to": "<sip:+44@x>", "from": "a-vip"})
    assert chosen is not None and chosen.template == "vip"
    assert choose_sip_rule(rules, {"to": "<sip:+44@x>"}) is None
    assert choose_sip_rule(rules, {}) is None


def test_rate_windows() -> None:
    """A rate is one rolling window; a burst adds a short one refilling at the same pace."""
    from rtconfig.serve._rate import windows

    assert parse_rate("30/minute") == Rate(30, 60)
    assert parse_rate("5 / seconds") == Rate(5, 1)
    assert parse_rate("0/minute") is None and parse_rate("fast") is None
    assert windows(Rate(30, 60)) == [(30, 60)]
    assert windows(Rate(60, 60, burst=5)) == [(60, 60), (5, 5)]


def test_startup_line() -> None:
    """Says where, which templates, and whether tokens are required."""
    from rtconfig.serve._server import startup_line

    line = startup_line("http://127.0.0.1:8000", ["a", "b"], "TOKENS", False, 0)
    assert line == (
        "rtconfig serve: listening on http://127.0.0.1:8000; templates: a, b; "
        "bearer tokens required (TOKENS)"
    )
    assert "NO tokens required" in startup_line("http://x", ["a"], None, False, 2)
    assert "2 rules" in startup_line("http://x", ["a"], None, False, 2)


# ---- [serve] in the loader ------------------------------------------------------------------


def _problems(write_toml: Callable[..., Path], serve: str) -> list[str]:
    path = write_toml(TEMPLATES + serve)
    check = rtconfig.load(path).check()
    return [str(d) for d in check.errors]


def test_valid_serve_table_is_read_into_settings(write_toml: Callable[..., Path]) -> None:
    """Every key lands typed in config.sources.serve, and validate stays clean."""
    path = write_toml(
        TEMPLATES
        + """
[serve]
templates = ["support"]
allow_origins = ["https://app.example.com", "http://localhost:5173"]
tokens_env = "TOKENS"
rate = "30/minute"
burst = 5
rate_storage = "redis://127.0.0.1:6379/0"
webhook_secret_env = "HOOK"

[[serve.sip]]
header = "To"
match = "^<sip:\\\\+1415"
template = "support"
"""
    )
    config = rtconfig.load(path)
    assert config.check().errors == ()
    serve = config.sources.serve
    assert serve is not None
    assert serve.templates == ("support",)
    assert serve.allow_origins == ("https://app.example.com", "http://localhost:5173")
    assert serve.rate == Rate(30, 60, burst=5)
    assert serve.rate_storage == "redis://127.0.0.1:6379/0"
    assert serve.sip[0].template == "support" and serve.sip[0].matches("<sip:+14155550100@x>")
    lines = path.read_text().splitlines()
    assert serve.sip[0].line == lines.index("[[serve.sip]]") + 1


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        (
            '[serve]\ntemplates = ["base"]',
            r":13:\d+: error: serve.templates\[0\]: template 'base' "
            "is abstract",
        ),
        ('[serve]\ntemplates = ["suport"]', "unknown template 'suport'.*did you mean 'support'"),
        ('[serve]\nallow_origins = ["*"]', "wildcards are refused"),
        ('[serve]\nallow_origins = ["https://a.com/"]', "write it as browsers send it"),
        ('[serve]\nallow_origins = ["https://a.com/path"]', "no path"),
        ('[serve]\ntokens_env = "tok-en"', "NAME of an environment variable"),
        ('[serve]\nrate = "lots"', "rate must look like '30/minute'"),
        ('[serve]\nrate = "5/minute"\nburst = 9', "burst must be an integer from 1 to .*5"),
        ('[serve]\nrate_storage = "memcached://x"', "rate_storage must be 'memory://'"),
        ("[serve]\ntempaltes = []", "unknown key 'tempaltes'.*did you mean 'templates'"),
        (
            '[serve]\ntemplates = ["support"]\ntrace_caller = ["support", "x"]',
            "unknown template 'x'",
        ),
        (
            '[serve]\nwebhook_secret_env = "H"\n[[serve.sip]]\nheader = "To"\nmatch = "("\n'
            'template = "support"',
            r"serve.sip\[0\].match: match is not a valid regular",
        ),
        (
            '[serve]\nwebhook_secret_env = "H"\n[[serve.sip]]\nheader = "To"\nmatch = "x"',
            "needs template",
        ),
        (
            '[serve]\n[[serve.sip]]\nheader = "To"\nmatch = "x"\ntemplate = "support"',
            "need webhook_secret_env",
        ),
    ],
)
def test_bad_serve_settings_are_diagnosed_at_their_line(
    write_toml: Callable[..., Path], serve: str, expected: str
) -> None:
    """Each mistake is one error at file:line with the key path and what to do."""
    problems = _problems(write_toml, "\n" + serve + "\n")
    assert any(re.search(expected, p) for p in problems), problems
    assert all(
        p.startswith(str(write_toml(TEMPLATES)).rsplit("/", 1)[0]) or "sessions.toml" in p
        for p in problems
    )


def test_serve_section_is_in_the_editor_schema() -> None:
    """The editor JSON Schema knows [serve] and [[serve.sip]] and refuses unknown keys there."""
    import jsonschema

    from rtconfig._file_schema import sessions_toml_schema

    schema = sessions_toml_schema()
    good = {
        "serve": {
            "templates": ["a"],
            "rate": "3/minute",
            "sip": [{"header": "To", "match": "x", "template": "a"}],
        }
    }
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"serve": {"tempaltes": ["a"]}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"serve": {"sip": [{"header": "To"}]}}, schema)


def test_public_surface_of_rtconfig_serve() -> None:
    """rtconfig.serve's __all__ is sorted and resolvable, and importing it loads no server
    dependency (the CLI can then say how to install them)."""
    import subprocess
    import sys

    import rtconfig.serve

    assert rtconfig.serve.__all__ == sorted(rtconfig.serve.__all__)
    for name in rtconfig.serve.__all__:
        assert getattr(rtconfig.serve, name) is not None, name
    code = (
        "import sys, rtconfig.serve\n"
        "print([m for m in ('starlette', 'uvicorn', 'prometheus_client', 'limits') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
