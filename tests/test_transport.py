"""Transport: the API key only ever travels encrypted to the configured host. http:// to a host
that is not loopback (directly or through a proxy) is refused before any connection; TLS
verification cannot be switched off by any setting, variable or flag; credentials never follow
a redirect; an edited saved plan cannot move the key elsewhere."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from rtconfig._apply.engine import Applier, AsyncApplier
from rtconfig._apply.transport import tls_context
from rtconfig._cli import main
from rtconfig._endpoints import Endpoint
from rtconfig._plan.records import PlanRecord
from rtconfig._settings import SETTING_KEYS, Settings
from tests._apply_helpers import job_of
from tests._robust import CANARY_KEY, STATS, RawServer, assert_clean, cli, read_request

GA_BODY = {"session": {"type": "realtime", "model": "gpt-realtime"}}

# A throwaway self-signed certificate for 127.0.0.1 and localhost (valid until 2126), made for
# these tests only: no client trusts it unless told to.
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUA4JDkXi7mHVOaxkcFsqgeuL7+KswCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMzIyMDU1NloYDzIxMjYxMDMw
MjIwNTU2WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATmGKaq9RNsKeVtXfosj2rvaez1LBdCeaVusf7oFTTtJypcxhQkjpLH
mF2qV4sEUpAlcVv2IPHQ3sL3wEMl4Srio28wbTAdBgNVHQ4EFgQUzC73cSsvobra
eYyILH0Ze+PzeqQwHwYDVR0jBBgwFoAUzC73cSsvobraeYyILH0Ze+PzeqQwGgYD
VR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSAAwRQIge0nzD3bluVl6mZeNXsaBsAZAvy1uChVECG1BfCGdVeQCIQCz
1hE8GkQ1mYBXw8m01nIJzycBfVssUpAq1ez+EBG7FA==
-----END CERTIFICATE-----
"""
TEST_CERT_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+gx5tMNj0SAlfzDF
P5OLgcVb2KAc/CZ0bdr1jZExQ52hRANCAATmGKaq9RNsKeVtXfosj2rvaez1LBdC
eaVusf7oFTTtJypcxhQkjpLHmF2qV4sEUpAlcVv2IPHQ3sL3wEMl4Sri
-----END PRIVATE KEY-----
"""

# Variables that switch verification off in other tools (or could be hoped to here).
INSECURE_ENVIRONMENT = {
    "PYTHONHTTPSVERIFY": "0",
    "CURL_CA_BUNDLE": "",
    "REQUESTS_CA_BUNDLE": "",
    "NODE_TLS_REJECT_UNAUTHORIZED": "0",
    "HTTPX_VERIFY": "0",
    "HTTPX_SSL_VERIFY": "false",
    "SSL_VERIFY": "false",
    "OPENAI_VERIFY_SSL": "false",
    "RTCONFIG_INSECURE": "1",
    "RTCONFIG_VERIFY": "false",
    "RTCONFIG_TLS_VERIFY": "0",
}


def job(base_url: str) -> PlanRecord:
    settings = Settings(endpoint=Endpoint.CLIENT_SECRETS, base_url=base_url, max_retries=0)
    return job_of("t", None, Endpoint.CLIENT_SECRETS, GA_BODY, settings)


class Recorder:
    """A MockTransport handler that records every request it is asked to send."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"value": "ek_x" * 8, "session": {"id": "s"}})


# -- plain http ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.openai.com/v1",
        "http://10.0.0.5/v1",
        "http://0.0.0.0:8080/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://localhost.evil.example/v1",
        "http://[::ffff:10.0.0.1]/v1",
        "http://2130706433/v1",  # 127.0.0.1 as a decimal, which the URL parser does not read
        "HTTP://API.OPENAI.COM/v1",
        "ws://127.0.0.1/v1",
        "file:///etc/passwd",
    ],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_before_connecting(
    base_url: str,
) -> None:
    """http:// to any host that is not literally loopback is refused before the transport is
    even asked to send (the recording transport sees nothing)."""
    recorder = Recorder()
    client = httpx.MockTransport(recorder)
    with Applier(transport=client, environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
        result = applier.mint(job(base_url))
        refusals = applier.preflight([job(base_url)])
    assert not result.ok and result.error is not None and result.error.type == "insecure_url"
    assert recorder.requests == [] and len(refusals) == 1
    assert CANARY_KEY not in str(result.error)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:9/v1", "http://127.8.9.10/v1", "http://[::1]:9/v1"]
)
def test_plain_http_to_loopback_is_sent(base_url: str) -> None:
    """Loopback hosts (an emulator, a local gateway) may be reached over http://."""
    recorder = Recorder()
    client = httpx.MockTransport(recorder)
    with Applier(transport=client, environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
        applier.mint(job(base_url))
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("where", "args", "env"),
    [
        ("file", [], {}),
        ("variable", [], {"OPENAI_BASE_URL": "http://api.example.test/v1"}),
        ("flag", ["--base-url", "http://api.example.test/v1"], {}),
    ],
)
def test_the_cli_refuses_plain_http_from_file_variable_or_flag(
    tmp_path: Path, where: str, args: list[str], env: dict[str, str]
) -> None:
    """apply exits 1 naming the problem, whether http:// came from [api], OPENAI_BASE_URL or
    --base-url, and sends nothing."""
    head = '[api]\nendpoint = "realtime/client_secrets"\n'
    if where == "file":
        head += 'base_url = "http://api.example.test/v1"\n'
    path = tmp_path / "sessions.toml"
    path.write_text(head + '[templates.t]\ntype = "realtime"\n')
    result = cli(["apply", str(path), *args], env={"OPENAI_API_KEY": CANARY_KEY, **env})
    assert result.exit_code == 1 and "travel in clear" in result.stderr
    assert result.stdout == ""


def test_a_proxy_that_is_not_local_cannot_carry_a_plain_http_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http:// to loopback is refused when HTTP_PROXY/ALL_PROXY would send it (in clear, with
    the key) to a proxy elsewhere; NO_PROXY for the host, or a loopback proxy, is fine."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    seen: list[bytes] = []

    def answer(conn: socket.socket) -> None:
        seen.append(read_request(conn))
        body = b'{"value": "ek_PROXYTEST_0123456789abcdef", "session": {"id": "s"}}'
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)

    with RawServer(answer) as server:
        monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")  # never resolves
        with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
            refused = applier.mint(job(server.base_url))
        assert refused.error is not None and refused.error.type == "insecure_url"
        assert "proxy.invalid" in refused.error.message and seen == []
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
            direct = applier.mint(job(server.base_url))
        assert direct.ok and len(seen) == 1
    STATS["faults injected"] += 1


# -- TLS verification ----------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[bytes]]]:
    """An https:// loopback server with a self-signed certificate; yields (base_url, the
    certificate's file, the requests it received after a completed handshake)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(TEST_CERT)
    key.write_text(TEST_CERT_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    received: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused our certificate: nothing was sent
        with tls:
            received.append(read_request(tls))  # type: ignore[arg-type]
            body = b'{"value": "ek_TLSTEST_0123456789abcdef", "session": {"id": "s"}}'
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            tls.sendall(head.encode() + body)

    with RawServer(handle) as server:
        yield server.base_url.replace("http://", "https://"), cert, received


def test_an_untrusted_certificate_is_refused_whatever_the_environment_says(
    tls_server: tuple[str, Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every "don't verify" variable other tools know set, the handshake with an untrusted
    certificate fails and no request (no key) is sent; pointing SSL_CERT_FILE at the
    certificate — trusting it, not disabling checks — is what makes it work."""
    base_url, cert, received = tls_server
    for name, value in INSECURE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
        refused = applier.mint(job(base_url))
    assert refused.error is not None and refused.error.type == "connection_error"
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error.message and received == []
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
        trusted = applier.mint(job(base_url))
    assert trusted.ok, trusted.error
    assert len(received) == 1 and f"Bearer {CANARY_KEY}".encode() in received[0]


def test_the_async_engine_refuses_an_untrusted_certificate(
    tls_server: tuple[str, Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The asyncio TLS handshake verifies the certificate: an untrusted one fails the mint and
    no request (no key) is sent; trusting it through SSL_CERT_FILE makes it work."""
    base_url, cert, received = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    record = job(base_url)

    async def mint() -> object:
        async with AsyncApplier(environ={"OPENAI_API_KEY": CANARY_KEY}) as a:
            return await a.mint(record)

    refused = asyncio.run(mint())
    assert refused.error is not None and refused.error.type == "connection_error"  # type: ignore[attr-defined]
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error.message and received == []  # type: ignore[attr-defined]
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    trusted = asyncio.run(mint())
    assert trusted.ok, trusted.error  # type: ignore[attr-defined]
    assert len(received) == 1 and f"Bearer {CANARY_KEY}".encode() in received[0]


def test_the_cli_refuses_an_untrusted_certificate(
    tls_server: tuple[str, Path, list[bytes]], tmp_path: Path
) -> None:
    """`rtconfig apply` against the self-signed server fails (exit 3) and sends nothing."""
    base_url, _, received = tls_server
    path = tmp_path / "sessions.toml"
    path.write_text('[api]\nendpoint = "realtime/client_secrets"\nmax_retries = 0\n')
    path.write_text(path.read_text() + '[templates.t]\ntype = "realtime"\n')
    result = CliRunner().invoke(
        main,
        ["apply", str(path), "--base-url", base_url, "--audit-log", str(tmp_path / "a.jsonl")],
        env={"OPENAI_API_KEY": CANARY_KEY, **INSECURE_ENVIRONMENT},
    )
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed=(3,))
    assert json.loads(result.stdout)["results"][0]["error"]["type"] == "connection_error"
    assert received == []


def test_no_setting_or_flag_can_turn_verification_off() -> None:
    """Neither [api] settings nor any command's options offer a way to skip TLS checks."""
    words = ("verify", "insecure", "tls", "ssl", "cert", "ca_bundle", "trust")
    assert not [k for k in SETTING_KEYS if any(w in k.lower() for w in words)]
    assert not [f for f in Settings.__slots__ if any(w in f.lower() for w in words)]  # type: ignore[attr-defined]
    group = main
    assert isinstance(group, click.Group)
    options = [
        (name, opt)
        for name, command in group.commands.items()
        for param in command.params
        for opt in param.opts
        if any(w in opt.lower() for w in words)
    ]
    assert options == []


def test_the_applier_own_connections_verify_hostnames_and_certificates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SSL context the applier builds requires a valid certificate for the host name,
    with the "don't verify" variables set."""
    for name, value in INSECURE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    context = httpx.create_ssl_context(verify=True, trust_env=True)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    context = tls_context()  # the one context the applier's own connections use
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_credentials_never_follow_a_redirect(status: int) -> None:
    """A redirect, even to another loopback server, is a failed mint: the second server is
    never contacted, so the Authorization header goes nowhere but the configured host."""
    second_seen: list[bytes] = []
    lock = threading.Lock()

    def second(conn: socket.socket) -> None:
        with lock:
            second_seen.append(read_request(conn))

    with RawServer(second) as target:
        target_url = target.base_url

        def first(conn: socket.socket) -> None:
            read_request(conn)
            location = target_url + "/realtime/client_secrets"
            conn.sendall(
                f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )

        with RawServer(first) as origin, Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as a:
            result = a.mint(job(origin.base_url))
        assert target.connections == 0 and second_seen == []
    assert result.error is not None and result.error.type == "redirect"
    assert result.error.http_status == status and target_url in result.error.message
    STATS["faults injected"] += 1


def test_a_redirect_is_not_followed_even_by_a_callers_transport() -> None:
    """A caller's transport answering a redirect gets no second request: mints never follow
    one (the key would go with it)."""
    recorder = Recorder()

    def redirect(request: httpx.Request) -> httpx.Response:
        recorder.requests.append(request)
        return httpx.Response(307, headers={"Location": "https://elsewhere.example/v1/x"})

    client = httpx.MockTransport(redirect)
    with Applier(transport=client, environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
        result = applier.mint(job("https://api.example.test/v1"))
    assert result.error is not None and result.error.type == "redirect"
    assert [r.url.host for r in recorder.requests] == ["api.example.test"]


# -- saved plans ---------------------------------------------------------------------------------


def test_an_edited_saved_plan_cannot_send_the_key_elsewhere(tmp_path: Path) -> None:
    """Saved plans hash bodies, not settings: one whose base_url (or api_key_env) was edited is
    refused before anything is sent, instead of handing the key to the new host."""
    path = tmp_path / "sessions.toml"
    path.write_text(
        '[api]\nendpoint = "realtime/sessions"\n[templates.t]\nmodel = "gpt-realtime"\n'
    )
    plan = tmp_path / "plan.json"
    cli(["plan", str(path), "--out", str(plan)], env={"OPENAI_API_KEY": CANARY_KEY})
    original = plan.read_text()
    for old, new in (
        ("https://api.openai.com/v1", "https://attacker.example/v1"),
        ('"api_key_env": "OPENAI_API_KEY"', '"api_key_env": "GITHUB_TOKEN"'),
    ):
        plan.write_text(original.replace(old, new))
        result = cli(["apply", str(plan), "--dry-run"], env={"OPENAI_API_KEY": CANARY_KEY})
        assert result.exit_code == 1 and "the plan was edited" in result.stderr
        assert "attacker.example" not in result.stdout
