"""The one redaction step (rtconfig._redact), the terminal escaper, and an audit log that a
hostile repository cannot redirect (symlinked log or directory, foreign owner)."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from rtconfig._redact import REDACTED, SecretRegistry, escape_controls, for_terminal
from rtconfig.audit import AuditLog, read_audit_log
from tests._robust import CANARY_KEY, GA_HEAD, STATS, run_rtconfig, subprocess_env

TOKEN = "ek_" + "0123456789abcdef" * 3


@pytest.mark.parametrize(
    "form",
    [
        CANARY_KEY,
        json.dumps(CANARY_KEY)[1:-1],
        "".join(f"\\u{ord(c):04x}" for c in CANARY_KEY),
        "".join(f"\\u{ord(c):04X}" for c in CANARY_KEY),
        urllib.parse.quote(CANARY_KEY, safe=""),
        CANARY_KEY.replace("-", "\\u002d"),
    ],
    ids=["raw", "json", "u-escaped", "U-escaped", "percent", "partly-escaped"],
)
def test_every_registered_secret_is_cut_out_in_every_encoded_form(form: str) -> None:
    """The key (and a token) is replaced raw, JSON-escaped, \\u-escaped, percent-encoded or glued
    to other characters; the text around it is kept."""
    registry = SecretRegistry([CANARY_KEY, TOKEN])
    STATS["secret searches"] += 2
    if form == CANARY_KEY.replace("-", "\\u002d"):
        # A mix of escaped and raw characters is caught by the look-alike net of scrub_all.
        assert CANARY_KEY not in registry.scrub_all(json.loads(f'"{form}"'))
        return
    text = f'{{"error": {{"type": "x{form}y", "param": "{TOKEN}"}}}}'
    scrubbed = registry.scrub(text)
    assert form not in scrubbed and TOKEN not in scrubbed
    assert scrubbed.startswith('{"error": {"type": "x') and REDACTED in scrubbed


@pytest.mark.parametrize("secret", [CANARY_KEY, TOKEN, "gw~?>?>?>LEAK?>?>?>CANARY?>?>?>xyz"])
@pytest.mark.parametrize("prefix", ["", "u", "us", "user:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_forms_of_a_registered_secret_are_cut_out(
    secret: str, prefix: str, encode: Any
) -> None:
    """A secret base64-encoded alone or inside a longer text (a ``Basic user:KEY`` credential,
    an encoded echo), at any of the three byte alignments, standard or URL-safe, padded or
    not, raw or with JSON's ``\\/``: scrubbed; what is left before it is at most 8 base64
    characters (the prefix and at most two bytes of the secret)."""
    registry = SecretRegistry([secret])
    STATS["secret searches"] += 1
    encoded = encode(f"{prefix}{secret}:password".encode()).decode()
    whole = encode(secret.encode()).decode()
    for text in (encoded, encoded.replace("/", "\\/"), whole, whole.rstrip("=")):
        scrubbed = registry.scrub(f"Authorization: Basic {text}")
        assert REDACTED in scrubbed, text
        rest = scrubbed.removeprefix("Authorization: Basic ").split(REDACTED)
        assert len(rest[0].replace("\\/", "/")) <= 8, rest
    # the text around is kept, and an unregistered base64 text is left alone
    other = base64.b64encode(b"nothing secret in here at all").decode()
    assert registry.scrub(f"x {other} y") == f"x {other} y"


def test_scrub_all_also_cuts_unregistered_look_alikes() -> None:
    """Text for people (stderr) loses anything shaped like a key or a token, registered or not."""
    registry = SecretRegistry()
    text = registry.scrub_all(f"quota for {CANARY_KEY} and ek_{'z' * 30}")
    assert CANARY_KEY not in text and "ek_zzz" not in text


def test_scrubbing_is_linear_in_the_text_whatever_the_number_of_secrets() -> None:
    """With 10,000 registered tokens, a 1 MB text is scrubbed in well under 5 s, and the
    registry keeps only the most recent ``max_secrets`` (memory bound)."""
    registry = SecretRegistry(max_secrets=10_000)
    for i in range(12_000):
        registry.add(f"ek_{i:040d}")
    assert len(registry) == 10_000
    text = ("ek_" + "1" * 200 + " word " * 20) * 5_000
    started = time.perf_counter()
    registry.scrub(text + f" ek_{11_999:040d}")
    assert time.perf_counter() - started < 5


def test_a_form_two_secrets_share_stays_cut_out_until_both_are_forgotten() -> None:
    """A key read with a stray space and the same key without it share a form: forgetting the
    first (the oldest, past ``max_secrets``) must not stop the second being cut out."""
    registry = SecretRegistry(max_secrets=2)
    registry.add(CANARY_KEY + " ")
    registry.add(CANARY_KEY)
    registry.add(TOKEN)  # evicts the first
    assert len(registry) == 2
    assert CANARY_KEY not in registry.scrub(f"key={CANARY_KEY}!")
    registry.add("ek_" + "z" * 40)  # evicts the second: now nothing holds the key
    assert registry.scrub(f"key={CANARY_KEY}!") == f"key={CANARY_KEY}!"
    assert TOKEN not in registry.scrub(f"[{TOKEN}]")


def test_secrets_that_all_end_alike_are_each_cut_out_and_evicted() -> None:
    """Tokens numbered in sequence share their escaped forms' last characters: each is still
    cut out, raw and escaped, and the oldest are forgotten past ``max_secrets``."""
    registry = SecretRegistry(max_secrets=500)
    tokens = [f"ek_seq_{i:016d}" for i in range(800)]
    for token in tokens:
        registry.add(token)
    assert len(registry) == 500
    for token in tokens[300:]:
        escaped = "".join(f"\\u{ord(c):04x}" for c in token)
        assert registry.scrub(f"a{token}b {escaped}") == f"a{REDACTED}b {REDACTED}"
    assert registry.scrub(tokens[0]) == tokens[0]  # forgotten


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52: write the clipboard
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # CSI: clear the screen
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # bidi override
        ("a\rb\x00c\x7f", "a\\x0db\\x00c\\x7f"),
    ],
)
def test_control_characters_of_server_text_are_shown_not_obeyed(raw: str, shown: str) -> None:
    """Every control character (C0, DEL, C1) and bidi control of server text becomes a visible
    escape before it is printed; tab, newline and plain text are kept."""
    assert escape_controls(raw) == shown
    assert for_terminal(f"ok\t{raw}\n") == f"ok\t{shown}\n"


def test_a_symlinked_audit_log_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    """`.rtconfig/audit.jsonl -> victim` (committed to a repository) is refused: nothing is
    appended to the victim and its mode is not changed."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    (tmp_path / ".rtconfig").mkdir(mode=0o755)
    (tmp_path / ".rtconfig" / "audit.jsonl").symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        AuditLog(tmp_path / ".rtconfig" / "audit.jsonl")
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_symlinked_audit_directory_is_refused_and_not_chmodded(tmp_path: Path) -> None:
    """`.rtconfig -> dir` is refused; `dir` keeps its mode (it was chmod-ed 0700 before), and
    an existing real directory is not chmod-ed either (only directories rtconfig creates are)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)
    (tmp_path / ".rtconfig").symlink_to(elsewhere)
    with pytest.raises(OSError, match="symbolic link"):
        AuditLog(tmp_path / ".rtconfig" / "audit.jsonl")
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    assert list(elsewhere.iterdir()) == []
    real = tmp_path / "real"
    real.mkdir()
    real.chmod(0o755)
    AuditLog(real / "audit.jsonl").close()
    assert stat.S_IMODE(real.stat().st_mode) == 0o755
    assert stat.S_IMODE((real / "audit.jsonl").stat().st_mode) == 0o600


def test_an_audit_log_that_is_a_fifo_or_hard_linked_is_refused(tmp_path: Path) -> None:
    """A FIFO at the log's path with no reader (an open that would block) or a log with a second
    hard link (another file's name) is refused at once."""
    os.mkfifo(tmp_path / "fifo.jsonl")
    with pytest.raises(OSError, match="FIFO that nobody is reading"):
        AuditLog(tmp_path / "fifo.jsonl")
    (tmp_path / "a.jsonl").write_text("")
    os.link(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    with pytest.raises(OSError, match="hard links"):
        AuditLog(tmp_path / "a.jsonl")


def test_apply_refuses_a_symlinked_audit_log_before_sending(tmp_path: Path) -> None:
    """`rtconfig apply` in a repository whose `.rtconfig/audit.jsonl` is a symlink exits 1
    with a message, mints nothing, and leaves the victim as it was."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / ".rtconfig").mkdir()
    (tmp_path / ".rtconfig" / "audit.jsonl").symlink_to(victim)
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + 'model = "gpt-realtime"\n')
    result = run_rtconfig("apply", str(path), "--emulate", env=subprocess_env(), timeout=60)
    STATS["hostile files tried"] += 1
    assert result.returncode == 1, result.stderr
    assert "refusing the audit log" in result.stderr and "ek_" not in result.stdout
    assert victim.read_text() == "precious\n"


def test_reading_an_audit_log_that_is_a_device_is_refused(tmp_path: Path) -> None:
    """read_audit_log on a symlink to /dev/zero raises OSError at once instead of reading
    for ever."""
    (tmp_path / "audit.jsonl").symlink_to("/dev/zero")
    with pytest.raises(OSError, match="not a regular file"):
        read_audit_log(tmp_path / "audit.jsonl")
    with pytest.raises(FileNotFoundError):
        read_audit_log(tmp_path / "missing.jsonl")


def test_the_library_returns_no_server_string_holding_a_secret_of_the_run(tmp_path: Path) -> None:
    """rtconfig.apply: a later error quoting an earlier token (in message, param and code) and
    the key in x-request-id and the error type come back scrubbed in every returned string;
    the earlier token stays in its own result."""
    import httpx

    import rtconfig

    path = tmp_path / "sessions.toml"
    path.write_text(
        '[api]\nendpoint = "realtime/client_secrets"\nconcurrency = 1\nmax_retries = 0\n'
        '[templates.a]\ntype = "realtime"\nmodel = "gpt-realtime"\n'
        '[templates.b]\ntype = "realtime"\nmodel = "gpt-realtime"\n'
    )
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            body = {"value": TOKEN, "expires_at": 1, "session": {"id": "sess_a"}}
            return httpx.Response(200, json=body)
        escaped = json.dumps(TOKEN)[1:-1]
        error = {
            "message": f"token {TOKEN} reused",
            "type": f"x{CANARY_KEY}",
            "param": f"session.{escaped}",
            "code": TOKEN,
        }
        return httpx.Response(400, json={"error": error}, headers={"x-request-id": CANARY_KEY})

    environ = {"OPENAI_API_KEY": CANARY_KEY, "OPENAI_BASE_URL": "https://api.example.test/v1"}
    plan = rtconfig.load(path).plan(environ=environ)
    report = rtconfig.apply(plan, environ=environ, transport=httpx.MockTransport(answer))
    first, second = report.results
    assert first.ok and first.client_secret == TOKEN
    assert second.error is not None
    returned = json.dumps(second.to_json()) + str(second.error) + repr(second)
    STATS["secret searches"] += 2
    assert TOKEN not in returned and CANARY_KEY not in returned
    assert second.request_id == REDACTED
