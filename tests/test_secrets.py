"""Secrets: a recognisable API key and recognisable tokens, routed through every path, appear
only in `apply`'s stdout and its --output file; key-like strings in the inputs are refused
without being echoed; files holding tokens are 0600 and replaced atomically."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._apply.engine import Applier
from rtconfig._apply.results import FailureKind, MintFailure
from rtconfig._apply.retry import RetryPolicy
from rtconfig._cli import main
from rtconfig._errors import ConfigError, MintError, StalePlanError, UsageError
from rtconfig._plan.lock import build_lock, dumps_lock
from rtconfig._plan.make import make_plan
from rtconfig._plan.records import PlanRecord
from rtconfig._plan.saved import read_saved_plan
from rtconfig.audit import AuditLog
from rtconfig.testing import Emulator, Fault, capture_audit
from tests._apply_helpers import FakeClock, Script, api_error, job_of
from tests._robust import CANARY_KEY, GA_HEAD, STATS, assert_clean, cli

# Recognisable tokens for the library paths (the emulator's are random, and looked up).
CANARY_TOKENS = [f"ek_LEAKCANARY_TOKEN_{i:02d}_0123456789abcdef" for i in range(8)]

CONFIG = """\
[api]
endpoint = "realtime/client_secrets"
max_retries = 1
timeout_s = 5

[templates.base]
abstract = true
type = "realtime"
model = "gpt-realtime"
instructions_file = "prompt.md"

[templates.base.audio.output]
voice = "marin"
""" + "".join(f'\n[templates.t{i}]\nextends = "base"\n' for i in range(8))

FAULTS = [
    Fault.rate_limited(retry_after_ms=1),  # t0: retried, then minted
    Fault(),
    Fault.server_error(500, retry_after_ms="1"),  # t1: a 5xx burst outlasting the retries
    Fault.server_error(503, retry_after_ms="1"),
    Fault(
        status=401,
        body={"error": {"message": f"Incorrect API key provided: {CANARY_KEY}", "type": "auth"}},
    ),  # t2: the server quotes the key
    Fault(
        status=400,
        body={
            "error": {
                "message": f"Invalid voice for key {CANARY_KEY}",
                "type": "invalid_request_error",
                "param": "session.audio.output.voice",
            }
        },
    ),  # t3: a field error, traced to its line, quoting the key
    Fault.dropped(),  # t4: a dropped connection, retried into a body that is not JSON
    Fault(not_json=True),
    Fault(no_token=True),  # t5: a 200 without its token
    # t6 is minted normally; t7's success echoes the key inside the session object.
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(CONFIG)
    (tmp_path / "prompt.md").write_text("Be kind.\n")
    return path


def invoke(args: list[str], env: dict[str, str]) -> Any:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed=(0, 1, 2, 3))
    return result


def test_key_and_tokens_reach_only_apply_stdout_and_output_file(
    project: Path, tmp_path: Path
) -> None:
    """Every command, every fault and retry, debug mode on: the key and each minted token are
    found only in apply's stdout without --output, and in the --output file (where the tokens
    must be) — with --output, never on stdout."""
    env = {"OPENAI_API_KEY": CANARY_KEY, "RTCONFIG_DEBUG": "1", "RTCONFIG_ACTOR": "ci"}
    audit = tmp_path / "audit.jsonl"
    output = tmp_path / "tokens.json"
    plan = tmp_path / "plan.json"
    elsewhere: dict[str, str] = {}
    with Emulator() as api:
        env["OPENAI_BASE_URL"] = api.base_url
        for args in (
            ["validate", str(project)],
            ["render", str(project), "t0"],
            ["explain", str(project), "t0"],
            ["explain", str(project), "t0", "--json"],
            ["plan", str(project)],
            ["plan", str(project), "--json", "--explain"],
            ["plan", str(project), "--out", str(plan)],
            ["lock", str(project)],
            ["lock", str(project), "--check"],
            ["apply", str(project), "--dry-run", "--audit-log", str(audit)],
            ["apply", str(project), "--locked", "--dry-run"],
        ):
            result = invoke(args, env)
            assert result.exit_code == 0, (args, result.stderr)
            elsewhere[" ".join(args[:1] + args[2:]) + " stdout"] = result.stdout
            elsewhere[" ".join(args[:1] + args[2:]) + " stderr"] = result.stderr
        api.inject(*FAULTS)
        echo = {"value": "ek_" + "e" * 40, "expires_at": 1, "session": {"id": "s", "k": CANARY_KEY}}
        applied = invoke(
            [
                *("apply", str(project), "--concurrency", "1", "--audit-log", str(audit)),
                *("--output", str(output), *(f"-t{i}" for i in ("t0", "t1", "t2", "t3"))),
                *(f"-t{i}" for i in ("t4", "t5", "t6")),
            ],
            env,
        )
        api.inject(Fault(status=200, body=echo))
        echoed = invoke(["apply", str(project), "-t", "t7", "--audit-log", str(audit)], env)
        from_plan = invoke(["apply", str(plan), "--audit-log", str(audit)], env)
        tokens = [*api.tokens, echo["value"]]
    assert applied.exit_code == 3 and echoed.exit_code == 0 and from_plan.exit_code == 0
    results = {r["template"]: r for r in json.loads(applied.stdout)["results"]}
    assert [name for name, r in results.items() if r["ok"]] == ["t0", "t6"]
    assert results["t3"]["error"]["line"] == 13  # voice, in base
    for minted in [output.read_text(), from_plan.stdout]:
        assert any(token in minted for token in tokens)
    # With --output the tokens are in the file only: stdout shows "(sensitive)" (CONTRACT §13).
    assert json.loads(applied.stdout)["results"][0]["client_secret"] == "(sensitive)"
    elsewhere["apply --output stdout"] = applied.stdout
    elsewhere["apply stderr"] = applied.stderr
    elsewhere["apply (echo) stderr"] = echoed.stderr
    elsewhere["apply PLAN stderr"] = from_plan.stderr
    elsewhere["audit log"] = audit.read_text()
    elsewhere["lock file"] = project.with_name("sessions.lock.json").read_text()
    elsewhere["saved plan"] = plan.read_text()
    leaks = [
        f"{secret[:16]}… in {where}"
        for where, text in elsewhere.items()
        for secret in [CANARY_KEY, *tokens]
        if secret in text
    ]
    stdout_leaks = [
        where
        for where, text in {
            "apply stdout": applied.stdout,
            "apply (echo) stdout": echoed.stdout,
            "apply PLAN stdout": from_plan.stdout,
            "--output": output.read_text(),
        }.items()
        if CANARY_KEY in text
    ]
    STATS["secret searches"] += len(elsewhere) * (1 + len(tokens)) + 4
    STATS["leaks found"] += len(leaks) + len(stdout_leaks)
    assert leaks == [] and stdout_leaks == []
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events.count("mint.retrying") == 3  # 429, 500, the dropped connection


def _script(answers: list[Any]) -> Script:
    return Script(answers)


def _ok(token: str) -> httpx.Response:
    body = {"value": token, "expires_at": 1_900_000_000, "session": {"id": "sess_1"}}
    return httpx.Response(200, json=body, headers={"x-request-id": "req_ok"})


def test_repr_and_str_of_every_public_object_hold_no_secret(project: Path, tmp_path: Path) -> None:
    """Jobs, results, failures, templates, settings, configs, checks, diagnostics, plans, locks,
    appliers, audit logs and every error: their repr() and str() never show a key or token."""
    config = rtconfig.load(project)
    check = config.check(environ={})
    resolved = check.templates[0]
    jobs = [PlanRecord.from_resolved(t) for t in check.templates[:6]]
    script = _script(
        [
            _ok(CANARY_TOKENS[0]),
            api_error(401, f"Incorrect API key provided: {CANARY_KEY}"),
            api_error(500, f"upstream said {CANARY_KEY}"),
            api_error(500, f"upstream said {CANARY_KEY} again"),
            httpx.ConnectError(f"could not reach with {CANARY_KEY}"),
            httpx.ConnectError("still nothing"),
            httpx.Response(200, json={"session": {"id": "x"}}),
            _ok(CANARY_TOKENS[1]),
        ]
    )
    audit_path = tmp_path / "audit.jsonl"
    with (
        capture_audit() as captured,
        AuditLog(audit_path, environ={}) as audit,
        Applier(
            transport=script.transport(),
            audit=audit,
            environ={"OPENAI_API_KEY": CANARY_KEY},
            clock=FakeClock().clock(),
            retry=RetryPolicy(),
            concurrency=1,
        ) as applier,
    ):
        results = applier.mint_all(jobs)
        objects: list[Any] = [applier, audit, captured, *results, *jobs]
    assert [r.ok for r in results] == [True, False, False, False, False, True]
    errors: list[Any] = []
    for result in results:
        try:
            result.raise_for_error()
        except MintError as exc:
            errors.append(exc)
    try:
        config.resolve("nope", environ={"RTCONFIG__T0__MODEL": CANARY_KEY})
    except ConfigError as exc:
        errors.append(exc)
    bad = project.with_name("bad.toml")
    bad.write_text(GA_HEAD + f'model = "{CANARY_KEY}"\n')
    try:
        rtconfig.load(bad).resolve("t")
    except ConfigError as exc:
        errors.append(exc)
    plan_path = tmp_path / "plan.json"
    cli(["plan", str(project), "--out", str(plan_path)], env={"OPENAI_API_KEY": CANARY_KEY})
    project.write_text(project.read_text() + "\n")
    try:
        read_saved_plan(plan_path, {"OPENAI_API_KEY": CANARY_KEY})
    except StalePlanError as exc:
        errors.append(exc)
    errors.append(UsageError(f"--output {tmp_path}: directory does not exist"))
    the_plan = make_plan(check.templates)
    objects += [
        config,
        check,
        resolved,
        resolved.settings,
        *resolved.fields.values(),
        *(r.error for r in results if r.error is not None),
        MintFailure(FailureKind.HTTP_ERROR, "x", type="auth"),
        *errors,
        *(d for e in errors if isinstance(e, ConfigError) for d in e.diagnostics),
        the_plan,
        *the_plan.templates,
        build_lock(check.templates),
        read_saved_plan(plan_path, check=False),
        Emulator(),
    ]
    texts = [repr(o) + str(o) for o in objects]
    objects[-1].close()
    texts += [dumps_lock(build_lock(check.templates)), audit_path.read_text()]
    texts += [json.dumps(r.error.to_json()) for r in results if r.error is not None]
    texts += [json.dumps(record, default=str) for record in captured.records]
    leaks = [
        text[:120] for text in texts for secret in [CANARY_KEY, *CANARY_TOKENS] if secret in text
    ]
    STATS["secret searches"] += len(texts) * (1 + len(CANARY_TOKENS))
    STATS["leaks found"] += len(leaks)
    assert leaks == []
    assert results[0].client_secret == CANARY_TOKENS[0]  # the token is there, for the caller
    assert CANARY_TOKENS[0] in json.dumps(results[0].to_json())


def test_debug_logging_of_httpx_and_httpcore_holds_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With every logger at DEBUG (what a host application may turn on), no log record holds
    the key or a minted token."""
    body = {
        "expires_after": {"anchor": "created_at", "seconds": 600},
        "session": {"type": "realtime"},
    }
    with Emulator() as api, caplog.at_level(logging.DEBUG):
        from rtconfig._endpoints import Endpoint
        from rtconfig._settings import Settings

        job = job_of(
            "t",
            None,
            Endpoint.CLIENT_SECRETS,
            body,
            Settings(endpoint=Endpoint.CLIENT_SECRETS, base_url=api.base_url),
        )
        api.inject(Fault.server_error(500, retry_after_ms="1"))
        with Applier(environ={"OPENAI_API_KEY": CANARY_KEY}) as applier:
            result = applier.mint(job)
        tokens = api.tokens
    assert result.ok and tokens
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert CANARY_KEY not in text and not any(token in text for token in tokens)


# -- key-like strings in the inputs: refused, never echoed --------------------------------------

KEY_LIKE_INPUTS: dict[str, tuple[str, list[str], dict[str, str]]] = {
    "toml value": (f'model = "{CANARY_KEY}"\n', ["validate", "FILE"], {}),
    "toml value with a warning": (
        f'audio.output.voice = "{CANARY_KEY}"\n',
        ["validate", "FILE", "--json"],
        {},
    ),
    "toml enum value": (f'tool_choice = "{CANARY_KEY}"\n', ["validate", "FILE"], {}),
    "toml key": (
        f'tracing = {{ metadata = {{ "{CANARY_KEY}" = 1 }} }}\n',
        ["render", "FILE", "t"],
        {},
    ),
    "toml unknown field": (f'"{CANARY_KEY}" = 1\n', ["validate", "FILE"], {}),
    "toml array": (
        f'tools = [{{ type = "function", name = "f", description = "{CANARY_KEY}" }}]\n',
        ["plan", "FILE"],
        {},
    ),
    "api setting": ("", ["validate", "FILE"], {}),  # replaced below: [api] api_key_env
    "instructions file": ('instructions_file = "prompt.md"\n', ["explain", "FILE", "t"], {}),
    "variable": ("", ["render", "FILE", "t"], {"RTCONFIG__T__MODEL": CANARY_KEY}),
    "variable json value": (
        "",
        ["lock", "FILE"],
        {"RTCONFIG__T__TRACING__METADATA": json.dumps({"x": [CANARY_KEY]})},
    ),
    "variable json key": (
        "",
        ["plan", "FILE", "--json"],
        {"RTCONFIG__T__TRACING__METADATA": json.dumps({CANARY_KEY: 1})},
    ),
    "set": ("", ["render", "FILE", "t", "--set", f"t.model={CANARY_KEY}"], {}),
    "set json": (
        "",
        ["explain", "FILE", "t", "--set", f't.tracing={{"metadata":{{"k":"{CANARY_KEY}"}}}}'],
        {},
    ),
    "set path": ("", ["render", "FILE", "t", "--set", f"t.{CANARY_KEY}=1"], {}),
    "set template": ("", ["render", "FILE", "t", "--set", f"{CANARY_KEY}.model=x"], {}),
    "base url variable": (
        "",
        ["apply", "FILE", "--dry-run"],
        {"OPENAI_BASE_URL": f"https://{CANARY_KEY}@api.example.test/v1"},
    ),
    "base url flag": (
        "",
        [
            "apply",
            "FILE",
            "--dry-run",
            "--base-url",
            f"https://api.example.test/v1?key={CANARY_KEY}",
        ],
        {},
    ),
    "base url password": (
        "",
        ["plan", "FILE", "--out", "PLAN"],
        {"OPENAI_BASE_URL": "https://user:hunter2-LEAKCANARY@api.example.test/v1"},
    ),
    "not a url": ("", ["apply", "FILE", "--dry-run", "--base-url", CANARY_KEY], {}),
    "template argument": ("", ["render", "FILE", CANARY_KEY], {}),
    "environment argument": ("", ["validate", "FILE", "--env", CANARY_KEY], {}),
    "explain path": ("", ["explain", "FILE", "t", CANARY_KEY], {}),
    "template option": ("", ["apply", "FILE", "--dry-run", "-t", CANARY_KEY], {}),
}


@pytest.mark.parametrize("case", sorted(KEY_LIKE_INPUTS))
def test_key_like_strings_in_the_inputs_are_refused_without_echo(tmp_path: Path, case: str) -> None:
    """A key-like string in sessions.toml (values, keys, arrays, [api]), a prompt file, an
    RTCONFIG__ variable (JSON values and keys too), --set, OPENAI_BASE_URL, --base-url or any
    argument is refused (exit 1 or 2) and never printed back, on stdout or stderr."""
    toml, args, env = KEY_LIKE_INPUTS[case]
    head = GA_HEAD
    if case == "api setting":
        head = head.replace("[api]\n", f'[api]\napi_key_env = "{CANARY_KEY}"\n')
    path = tmp_path / "sessions.toml"
    path.write_text(head + toml)
    (tmp_path / "prompt.md").write_text(f"Call the backend with {CANARY_KEY}.\n")
    plan = tmp_path / "plan.json"
    argv = [str(path) if a == "FILE" else str(plan) if a == "PLAN" else a for a in args]
    result = CliRunner().invoke(main, argv, env={"OPENAI_API_KEY": "x", **env})
    assert_clean(result.exit_code, result.stdout, result.stderr, allowed=(1, 2))
    STATS["secret searches"] += 2
    leaked = [text for text in (result.stdout, result.stderr) if "LEAKCANARY" in text]
    STATS["leaks found"] += len(leaked)
    assert leaked == []
    assert not plan.exists() and not path.with_name("sessions.lock.json").exists()


# -- files that hold tokens --------------------------------------------------------------------


def test_output_file_is_private_even_over_a_world_readable_file_and_umask_0(
    project: Path, tmp_path: Path
) -> None:
    """--output is created 0600 whatever the umask, replaces a 0666 file atomically (no temp
    file left) and never writes through a symlink planted at its path."""
    out = tmp_path / "out"
    out.mkdir()
    target = out / "tokens.json"
    target.write_text("old")
    target.chmod(0o666)
    decoy = tmp_path / "decoy.json"
    decoy.write_text("decoy")
    linked = out / "linked.json"
    linked.symlink_to(decoy)
    previous = os.umask(0)
    try:
        with Emulator() as api:
            env = {"OPENAI_API_KEY": CANARY_KEY, "OPENAI_BASE_URL": api.base_url}
            for path in (target, linked):
                result = invoke(
                    [
                        *("apply", str(project), "-t", "t0", "--output", str(path)),
                        *("--audit-log", str(tmp_path / "audit.jsonl")),
                    ],
                    env,
                )
                assert result.exit_code == 0, result.stderr
    finally:
        os.umask(previous)
    for path in (target, linked):
        assert not path.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text())["results"][0]["ok"] is True
    assert decoy.read_text() == "decoy"
    assert sorted(p.name for p in out.iterdir()) == ["linked.json", "tokens.json"]
    assert stat.S_IMODE((tmp_path / "audit.jsonl").stat().st_mode) == 0o600


def test_saved_plan_is_private_and_holds_no_key(project: Path, tmp_path: Path) -> None:
    """plan --out writes a 0600 file, atomically, naming the key's variable but not its value."""
    plan = tmp_path / "plan.json"
    previous = os.umask(0)
    try:
        cli(["plan", str(project), "--out", str(plan)], env={"OPENAI_API_KEY": CANARY_KEY})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(plan.stat().st_mode) == 0o600
    text = plan.read_text()
    assert CANARY_KEY not in text and '"api_key_env": "OPENAI_API_KEY"' in text
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "target", ["../outside.txt", "ABSOLUTE", "inside-link.md", "/proc/self/environ"]
)
def test_prompt_files_outside_the_toml_directory_are_refused(tmp_path: Path, target: str) -> None:
    """instructions_file may not leave the TOML's directory (../, absolute paths, symlinks):
    a sessions.toml changed in a pull request cannot print the runner's files or environment."""
    project = tmp_path / "project"
    project.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("GITHUB_TOKEN=ghp_LEAKCANARY\n")
    (project / "inside-link.md").symlink_to(outside)
    target = str(outside) if target == "ABSOLUTE" else target
    path = project / "sessions.toml"
    path.write_text(GA_HEAD + f'instructions_file = "{target}"\n')
    for args in (["validate", str(path)], ["render", str(path), "t"], ["plan", str(path)]):
        result = cli(args, env={"LEAKCANARY_VARIABLE": "ghp_LEAKCANARY"})
        assert result.exit_code == 1
        assert "is outside the directory of the TOML file" in result.stderr
        assert "ghp_LEAKCANARY" not in result.stdout + result.stderr


# A key that does not look like one (a gateway's), so only the registry can catch it.
GATEWAY_KEY = "gw-DRYRUN-LEAKCANARY-0123456789abcdefABCDEF"


def test_dry_run_output_goes_through_the_redaction_registry(project: Path, tmp_path: Path) -> None:
    """`apply --dry-run` prints (and writes to --output) no key, even one that reached a body
    through ``--set``, raw or base64-encoded: its JSON goes through the same registry as
    apply's stdout."""
    encoded = base64.b64encode(f"user:{GATEWAY_KEY}".encode()).decode()
    output = tmp_path / "dry.json"
    with Emulator() as api:
        env = {"OPENAI_API_KEY": GATEWAY_KEY, "OPENAI_BASE_URL": api.base_url}
        result = invoke(
            [
                *("apply", str(project), "--dry-run", "-t", "t0", "-t", "t1"),
                *("--set", f"t0.instructions=Use {GATEWAY_KEY} please"),
                *("--set", f"t1.instructions=Basic {encoded}"),
                *("--output", str(output)),
            ],
            env,
        )
        assert api.requests == []
    assert result.exit_code == 0, result.stderr
    STATS["secret searches"] += 6
    for text in (result.stdout, output.read_text(), result.stderr):
        assert GATEWAY_KEY not in text and encoded[8:-8] not in text
    bodies = {r["template"]: r["body"] for r in json.loads(result.stdout)["requests"]}
    assert bodies["t0"]["session"]["instructions"] == "Use [REDACTED] please"
    assert "[REDACTED]" in bodies["t1"]["session"]["instructions"]
    assert json.loads(output.read_text())["requests"] == json.loads(result.stdout)["requests"]


def test_a_server_echoing_the_key_base64_encoded_is_scrubbed(project: Path, tmp_path: Path) -> None:
    """A 401 whose message quotes the request's ``Basic`` credential (the key base64-encoded)
    reaches neither stdout, stderr nor the audit log."""
    encoded = base64.b64encode(f"api:{GATEWAY_KEY}".encode()).decode()
    audit = tmp_path / "audit.jsonl"
    with Emulator() as api:
        api.inject(
            Fault(
                status=401,
                body={"error": {"message": f"bad credential Basic {encoded}", "type": "auth"}},
            )
        )
        env = {"OPENAI_API_KEY": GATEWAY_KEY, "OPENAI_BASE_URL": api.base_url}
        result = invoke(["apply", str(project), "-t", "t0", "--audit-log", str(audit)], env)
    assert result.exit_code == 3
    STATS["secret searches"] += 3
    for text in (result.stdout, result.stderr, audit.read_text()):
        assert encoded[8:-8] not in text and GATEWAY_KEY not in text
    assert "bad credential Basic" in result.stdout


@pytest.mark.parametrize(
    "line",
    [
        'instructions = "\\tsk-abcdefghijklmnopqrstuvwx"',
        'instructions = "\\u0073k-abcdefghijklmnopqrstuvwx"',
        '"api\\u005fkey" = "x"',
        'instructions = """\\\nsk-abcdefghijklmnopqrstuvwx"""',
        'instructions = "sk-abcdefghijklmnopqrstuvwx"',
        "api_key = 'x'",
    ],
    ids=[
        "tab-escape",
        "unicode-escape",
        "escaped-key",
        "line-ending-backslash",
        "plain",
        "api_key",
    ],
)
def test_a_key_spelled_with_escapes_is_still_refused(tmp_path: Path, line: str) -> None:
    """The secret scan skips its walk only for a file whose raw text can hold no key: an escape
    (a tab before `sk-`, `\\u0073`, a quoted `api\\u005fkey`, a line-ending backslash) still
    reaches the walk and is refused."""
    path = tmp_path / "sessions.toml"
    path.write_text(GA_HEAD + line + "\n")
    check = rtconfig.load(path).check(environ={})
    assert check.errors[0].code is rtconfig.DiagnosticCode.SECRET_REFUSED
    assert not any("abcdefghijklmnop" in str(d) for d in check.diagnostics)
