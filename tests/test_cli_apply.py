"""`rtconfig apply` and `rtconfig emulate` (contract §5–§7): outputs, exit codes, files, signals."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import rtconfig
from rtconfig._apply.engine import Applier
from rtconfig._cli import main
from rtconfig._errors import MintError
from rtconfig._plan.records import PlanRecord
from rtconfig.audit import read_audit_log
from rtconfig.testing import Emulator, Fault

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-LEAKCHECK-apikey-6f1e2d3c4b5a69788796a5b4c3d2e1f0"

THREE = """
    [api]
    endpoint = "realtime/sessions"
    max_retries = 2

    [templates.alpha]
    model = "gpt-realtime"
    instructions = "Alpha."

    [templates.beta]
    model = "gpt-realtime"
    voice = "ash"

    [templates.gamma]
    model = "gpt-realtime"
    speed = 1.2
"""

WriteToml = Callable[..., Path]


@pytest.fixture
def api() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    environ = {"OPENAI_API_KEY": KEY, "RTCONFIG_ACTOR": "tester"} if env is None else env
    return CliRunner().invoke(main, ["apply", *args], env=environ, catch_exceptions=False)


def subprocess_env(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RTCONFIG_"))}
    environ.update(extra)
    return environ


# -- success, partial failure, exit codes ------------------------------------------------------


def test_apply_prints_results_json_and_exits_0(write_toml: WriteToml, api: Emulator) -> None:
    """All minted: stdout is {run_id, results} with tokens; one stderr line per template."""
    path = write_toml(THREE)
    result = run(str(path), "--base-url", api.base_url)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert set(document) >= {"run_id", "results"}
    results = document["results"]
    assert [r["template"] for r in results] == ["alpha", "beta", "gamma"]
    for item in results:
        assert set(item) >= {
            "template",
            "env",
            "endpoint",
            "ok",
            "client_secret",
            "expires_at",
            "session_id",
            "response",
            "error",
        }
        assert item["ok"] is True and item["error"] is None
        assert item["client_secret"] in api.tokens
    lines = [line for line in result.stderr.splitlines() if line.startswith("minted")]
    assert len(lines) == 3
    assert sorted(json.dumps(r.json, sort_keys=True) for r in api.requests) == sorted(
        json.dumps(b, sort_keys=True)
        for b in (
            {"model": "gpt-realtime", "instructions": "Alpha."},
            {"model": "gpt-realtime", "voice": "ash"},
            {"model": "gpt-realtime", "speed": 1.2},
        )
    )


def test_partial_failure_attempts_all_and_exits_3(write_toml: WriteToml, api: Emulator) -> None:
    """One template's 400 does not stop the others; exit 3; the error is in the results."""
    path = write_toml(THREE)
    api.inject(Fault(status=400))
    result = run(str(path), "--base-url", api.base_url, "--concurrency", "1")
    assert result.exit_code == 3
    results = json.loads(result.stdout)["results"]
    assert [r["ok"] for r in results] == [False, True, True]
    assert results[0]["error"]["http_status"] == 400
    assert set(results[0]["error"]) >= {"type", "message", "http_status"}
    assert "FAILED  alpha" in result.stderr and len(api.requests) == 3


def test_api_error_points_at_the_toml_line(write_toml: WriteToml, api: Emulator) -> None:
    """An API 400 naming a field prints the sessions.toml line that set it."""
    path = write_toml(THREE)
    error = {"message": "speed not allowed here", "type": "invalid_request_error", "param": "speed"}
    api.inject(Fault(status=400, body={"error": {**error, "code": None}}))
    result = run(str(path), "--base-url", api.base_url, "-t", "gamma")
    assert result.exit_code == 3
    assert f"{path}:16: speed: speed not allowed here" in result.stderr
    item = json.loads(result.stdout)["results"][0]["error"]
    assert (item["file"], item["line"], item["path"]) == (str(path), 16, "speed")


def test_invalid_config_exits_1_and_sends_nothing(write_toml: WriteToml, api: Emulator) -> None:
    """A config error is reported like validate's and nothing is sent."""
    path = write_toml(THREE + "\n    [templates.delta]\n    speed = 9.0\n")
    result = run(str(path), "--base-url", api.base_url)
    assert result.exit_code == 1
    assert "delta" in result.stderr and "speed" in result.stderr
    assert api.requests == []


def test_unknown_template_is_an_error_with_a_suggestion(
    write_toml: WriteToml, api: Emulator
) -> None:
    """-t with an unknown name exits 1 and suggests the closest template."""
    result = run(str(write_toml(THREE)), "--base-url", api.base_url, "-t", "alpah")
    assert result.exit_code == 1 and "alpha" in result.stderr and api.requests == []


def test_missing_key_exits_1_naming_the_variable(write_toml: WriteToml, api: Emulator) -> None:
    """Without the key variable the run refuses to start, naming it; nothing is sent."""
    result = run(str(write_toml(THREE)), "--base-url", api.base_url, env={})
    assert result.exit_code == 1 and "OPENAI_API_KEY" in result.stderr
    assert api.requests == []


def test_plain_http_to_a_remote_host_is_refused(write_toml: WriteToml) -> None:
    """--base-url http://<not loopback> exits 1 before any connection."""
    result = run(str(write_toml(THREE)), "--base-url", "http://api.example.invalid/v1")
    assert result.exit_code == 1 and "in clear" in result.stderr


def test_emulate_needs_no_key_and_says_tokens_are_emulated(tmp_path: Path) -> None:
    """`rtconfig apply sessions.toml --emulate` works offline with no OPENAI_API_KEY set."""
    result = run(
        str(REPO / "sessions.toml"), "--emulate", "--audit-log", str(tmp_path / "a.jsonl"), env={}
    )
    assert result.exit_code == 0, result.stderr
    assert "EMULATED" in result.stderr
    document = json.loads(result.stdout)
    assert document["emulated"] is True
    assert all(r["ok"] and r["client_secret"].startswith("ek_") for r in document["results"])
    assert {r["template"] for r in document["results"]} == {"support", "push-to-talk", "captions"}


def test_emulate_and_base_url_conflict(write_toml: WriteToml) -> None:
    """--emulate with --base-url is a usage error (exit 2)."""
    result = run(str(write_toml(THREE)), "--emulate", "--base-url", "https://x.example/v1")
    assert result.exit_code == 2


# -- files -----------------------------------------------------------------------------------


def test_output_file_is_0600_atomic_and_equal_to_stdout(
    write_toml: WriteToml, api: Emulator, tmp_path: Path
) -> None:
    """--output replaces the file atomically (no temp left), mode 0600, the same JSON as
    stdout except that stdout shows each token as "(sensitive)" (CONTRACT §13)."""
    out = tmp_path / "out" / "tokens.json"
    out.parent.mkdir()
    out.write_text("old")
    out.chmod(0o644)
    result = run(str(write_toml(THREE)), "--base-url", api.base_url, "--output", str(out))
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    saved, shown = json.loads(out.read_text()), json.loads(result.stdout)
    assert [r["client_secret"] for r in shown["results"]] == ["(sensitive)"] * 3
    assert sorted(r["client_secret"] for r in saved["results"]) == sorted(api.tokens)
    for record in (saved, shown):
        for r in record["results"]:
            r["client_secret"] = r["response"] = None
    assert saved == shown
    assert [p.name for p in out.parent.iterdir()] == ["tokens.json"]


def test_audit_log_defaults_beside_the_file_and_can_move(
    write_toml: WriteToml, api: Emulator, tmp_path: Path
) -> None:
    """The audit log lands in .rtconfig/audit.jsonl beside FILE, or at --audit-log."""
    path = write_toml(THREE)
    first = run(str(path), "--base-url", api.base_url)
    default = path.parent / ".rtconfig" / "audit.jsonl"
    records = read_audit_log(default, strict=True)
    run_id = json.loads(first.stdout)["run_id"]
    assert {r["run_id"] for r in records} == {run_id}
    assert [r["event"] for r in records][0::4] == ["apply.started", "apply.finished"]
    assert records[0]["actor"] == "tester"
    moved = tmp_path / "elsewhere" / "log.jsonl"
    run(str(path), "--base-url", api.base_url, "--audit-log", str(moved))
    assert len(read_audit_log(moved)) == 5 and len(read_audit_log(default)) == 5


def test_dry_run_sends_nothing_and_shows_bodies_without_secrets(
    write_toml: WriteToml, api: Emulator
) -> None:
    """--dry-run prints the exact bodies `render` prints, the key redacted; nothing is sent."""
    path = write_toml(THREE)
    result = run(str(path), "--base-url", api.base_url, "--dry-run")
    assert result.exit_code == 0 and api.requests == []
    document = json.loads(result.stdout)
    assert document["dry_run"] is True and document["results"] == []
    for request in document["requests"]:
        rendered = CliRunner().invoke(main, ["render", str(path), request["template"]])
        assert request["body"] == json.loads(rendered.stdout)
        assert request["headers"]["Authorization"] == "Bearer [REDACTED]"
        assert request["url"] == f"{api.base_url}/realtime/sessions"
    assert KEY not in result.stdout + result.stderr


# -- saved plans (the rest is in test_cli_apply_plan.py) --------------------------------------


def test_json_that_is_not_a_saved_plan_is_named_as_such(tmp_path: Path) -> None:
    """A .json argument that is not a `plan --out` file is refused with a message saying so."""
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    saved = run(str(plan))
    assert saved.exit_code == 1 and "not a saved plan" in saved.stderr


# -- secrets -----------------------------------------------------------------------------------


def test_no_secret_reaches_stderr_the_audit_log_or_exception_text(
    write_toml: WriteToml, api: Emulator, tmp_path: Path
) -> None:
    """The key and every minted token appear only in stdout / --output, never elsewhere."""
    path = write_toml(THREE)
    audit = tmp_path / "audit.jsonl"
    echo = {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}
    api.inject(
        Fault.rate_limited(retry_after_ms=1),
        Fault.server_error(502),
        Fault(status=401, body={"error": {**echo, "param": None, "code": "invalid_api_key"}}),
    )
    env = subprocess_env(OPENAI_API_KEY=KEY, RTCONFIG_DEBUG="1")
    command = [sys.executable, "-m", "rtconfig", "apply", str(path), "--base-url", api.base_url]
    command += ["--audit-log", str(audit), "--concurrency", "1", "--output", str(tmp_path / "o")]
    applied = subprocess.run(command, env=env, capture_output=True, timeout=120)
    written = (tmp_path / "o").read_bytes()  # before the dry run writes its own document there
    dry = subprocess.run([*command, "--dry-run"], env=env, capture_output=True, timeout=120)
    assert applied.returncode == 3 and dry.returncode == 0
    # With --output, the tokens go to the file only (CONTRACT §13), stdout shows "(sensitive)".
    assert all(t.encode() in written for t in api.tokens)
    assert not any(t.encode() in applied.stdout for t in api.tokens)
    results = json.loads(applied.stdout)["results"]
    # The same faults through the library: exceptions' text and reprs must be clean too.
    api.inject(Fault(status=401, body={"error": {**echo, "param": None, "code": None}}))
    exception_text = ""
    check = rtconfig.load(path).check(envs=[None], environ={}, base_url=api.base_url)
    with Applier(environ={"OPENAI_API_KEY": KEY}, concurrency=1) as applier:
        for result in applier.mint_all([PlanRecord.from_resolved(t) for t in check.templates]):
            exception_text += repr(result) + str(result.error)
            try:
                result.raise_for_error()
            except MintError as exc:
                exception_text += str(exc) + repr(exc)
    tokens = api.tokens
    assert len(tokens) == 4
    haystacks = {
        "apply stderr": applied.stderr,
        "apply --output stdout": applied.stdout,
        "dry-run stderr": dry.stderr,
        "dry-run stdout": dry.stdout,
        "audit log": audit.read_bytes(),
        "exceptions": exception_text.encode(),
        "error results": json.dumps([r["error"] for r in results]).encode(),
    }
    for where, data in haystacks.items():
        for secret in [KEY, *tokens]:
            assert secret.encode() not in data, f"{secret[:12]}… leaked into {where}"


# -- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_finishes_in_flight_mints_records_them_and_exits_130(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """SIGINT stops new mints, lets in-flight ones finish, and every outcome is recorded."""
    names = [f"t{i}" for i in range(10)]
    path = write_toml(
        '[api]\nendpoint = "realtime/sessions"\n'
        + "".join(f'[templates.{n}]\nmodel = "gpt-realtime"\n' for n in names)
    )
    audit = tmp_path / "audit.jsonl"
    with Emulator(latency_s=0.5) as api:
        command = [sys.executable, "-m", "rtconfig", "apply", str(path), "--base-url"]
        command += [api.base_url, "--concurrency", "2", "--audit-log", str(audit)]
        proc = subprocess.Popen(
            command,
            env=subprocess_env(OPENAI_API_KEY=KEY),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(api.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        answered = {r.json["model"] for r in api.requests}
        minted_by_server = len(api.tokens)
    assert proc.returncode == 130, stderr.decode()
    assert b"interrupted" in stderr
    document = json.loads(stdout)
    assert document["interrupted"] is True
    results = document["results"]
    assert [r["template"] for r in results] == names
    ok = [r["template"] for r in results if r["ok"]]
    cancelled = [r["template"] for r in results if not r["ok"]]
    assert len(ok) == minted_by_server and 2 <= len(ok) < len(names)
    assert all(r["error"]["type"] == "cancelled" for r in results if not r["ok"])
    assert answered == {"gpt-realtime"}
    records = read_audit_log(audit, strict=True)
    assert sorted(r["template"] for r in records if r["event"] == "mint.succeeded") == sorted(ok)
    assert sorted(r["template"] for r in records if r["event"] == "mint.failed") == sorted(
        cancelled
    )
    finished = records[-1]
    assert finished["event"] == "apply.finished" and finished["interrupted"] is True


# -- emulate command and import discipline ---------------------------------------------------


def test_emulate_command_serves_until_interrupted() -> None:
    """`rtconfig emulate --port 0` prints its base URL, answers requests, stops on Ctrl-C."""
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "rtconfig", "emulate", "--port", "0"],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{base_url}/realtime/sessions", json={}, headers={"Authorization": "Bearer x"}
            )
        assert response.json()["client_secret"]["value"].startswith("ek_")
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr


def test_validate_does_not_import_httpx_or_structlog() -> None:
    """Registering the apply command keeps `rtconfig validate` free of the HTTP stack."""
    code = (
        "import sys\n"
        "from rtconfig._cli import main\n"
        "try:\n"
        f"    main(['validate', {str(REPO / 'sessions.toml')!r}], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'structlog') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


@pytest.mark.parametrize("endpoint", ["realtime/sessions", "realtime/client_secrets"])
def test_without_output_each_token_is_on_stdout_exactly_once(
    write_toml: WriteToml, api: Emulator, endpoint: str
) -> None:
    """CONTRACT §5: without --output, stdout is the caller's copy and carries each token once,
    as its result's ``client_secret``; the token the API echoes in ``response`` (beta
    ``client_secret.value``, GA ``value``) is shown as "(sensitive)", the rest of the response
    kept."""
    text = THREE.replace("realtime/sessions", endpoint)
    if endpoint == "realtime/client_secrets":
        text = text.replace('voice = "ash"', 'audio.output.voice = "ash"').replace(
            "speed = 1.2", "audio.output.speed = 1.2"
        )
        text = text.replace('model = "gpt-realtime"', 'type = "realtime"\nmodel = "gpt-realtime"')
    result = run(str(write_toml(text)), "--base-url", api.base_url)
    assert result.exit_code == 0, result.stderr
    assert len(api.tokens) == 3
    for token in api.tokens:
        assert result.stdout.count(token) == 1
    for item in json.loads(result.stdout)["results"]:
        assert item["client_secret"] in api.tokens
        response = item["response"]
        if endpoint == "realtime/sessions":
            assert response["client_secret"]["value"] == "(sensitive)"
            assert response["client_secret"]["expires_at"] == item["expires_at"]
        else:
            assert response["value"] == "(sensitive)"
            assert response["session"]["id"] == item["session_id"]


def test_the_output_file_carries_each_token_once_as_stdout_would(
    write_toml: WriteToml, api: Emulator, tmp_path: Path
) -> None:
    """CONTRACT §5: with --output P "the same JSON goes to P": each token once, as its
    ``client_secret`` (the API's echo in ``response`` "(sensitive)"); stdout holds none."""
    out = tmp_path / "tokens.json"
    result = run(str(write_toml(THREE)), "--base-url", api.base_url, "--output", str(out))
    assert result.exit_code == 0, result.stderr
    written = out.read_text()
    assert len(api.tokens) == 3
    for token in api.tokens:
        assert written.count(token) == 1 and token not in result.stdout
    for item in json.loads(written)["results"]:
        assert item["client_secret"] in api.tokens
        assert item["response"]["client_secret"]["value"] == "(sensitive)"
