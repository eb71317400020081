"""The library's apply use case (CONTRACT §12): Config.plan, rtconfig.apply, the native async
engine, and misuse of the library (issue 14 items 10 and 14)."""

from __future__ import annotations

import asyncio
import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._apply.run import dry_run_requests
from rtconfig._cli import main
from rtconfig._errors import ConfigError
from rtconfig._plan.saved import read_saved_plan, write_saved_plan
from rtconfig.audit import read_audit_log
from rtconfig.testing import Emulator
from tests._apply_helpers import API_KEY, Script, api_error, make_job, ok_ga

WriteToml = Callable[..., Path]

CONFIG = """\
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
audio.output.voice = "marin"

[templates.captions]
type = "transcription"

[environments.production.templates.support]
instructions = "Be brief."
"""


def _plan(path: Path, base_url: str, **kwargs: Any) -> rtconfig.Plan:
    environ = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": base_url}
    return rtconfig.load(path).plan(environ=environ, **kwargs)


# -- Config.plan -----------------------------------------------------------------------------


def test_config_plan_is_the_plan_rtconfig_plan_shows(write_toml: WriteToml) -> None:
    """config.plan(env=…) has one record per template, with the names, endpoints, hashes,
    session hashes and lock statuses that `rtconfig plan --json` prints."""
    path = write_toml(CONFIG)
    assert CliRunner().invoke(main, ["lock", str(path)]).exit_code == 0
    plan = rtconfig.load(path).plan(env="production", environ={})
    shown = json.loads(
        CliRunner().invoke(main, ["plan", str(path), "--env", "production", "--json"]).stdout
    )
    assert [
        (r.name, r.env, r.endpoint.value, r.body_sha256, r.session_sha256, r.lock_status)
        for r in plan.templates
    ] == [
        (t["name"], t["env"], t["endpoint"], t["sha256"], t["session_sha256"], t["lock_status"])
        for t in shown["templates"]
    ]
    support = plan.templates[0]
    assert isinstance(support, rtconfig.PlanRecord) and support.session is not None
    assert support.session_sha256 == rtconfig.body_sha256(support.session)
    origin = support.origin_of(("instructions",))
    assert origin is not None and origin.env == "production" and origin.line == 13


def test_config_plan_reads_rtconfig_env_from_the_given_environ(write_toml: WriteToml) -> None:
    """Without env=, the plan's environment is RTCONFIG_ENV from environ, as the CLI reads it."""
    plan = rtconfig.load(write_toml(CONFIG)).plan(environ={"RTCONFIG_ENV": "production"})
    assert plan.envs == ("production",) and {r.env for r in plan.templates} == {"production"}


def test_config_plan_refuses_a_bare_string_of_templates(write_toml: WriteToml) -> None:
    """templates="support" (a string, not a list) is a TypeError at the call."""
    with pytest.raises(TypeError, match="sequence of template names"):
        rtconfig.load(write_toml(CONFIG)).plan(environ={}, templates="support")


# -- rtconfig.apply --------------------------------------------------------------------------


def test_apply_does_what_rtconfig_apply_does(write_toml: WriteToml, tmp_path: Path) -> None:
    """rtconfig.apply mints every record, writes the audit log and the 0600 --output file, and
    reports results and exit code 0 as data, printing nothing."""
    path = write_toml(CONFIG)
    out = tmp_path / "tokens.json"
    audit = tmp_path / "audit.jsonl"
    with Emulator() as api:
        report = rtconfig.apply(_plan(path, api.base_url), audit_log=audit, output=out)
    assert isinstance(report, rtconfig.ApplyReport)
    assert report.ok and report.exit_code == 0 and report.minted == 2
    assert [r.template for r in report.results] == ["support", "captions"]
    assert all(r.client_secret and r.client_secret in api.tokens for r in report.results)
    events = [r["event"] for r in read_audit_log(audit)]
    assert events[0] == "apply.started" and events[-1] == "apply.finished"
    assert events.count("mint.succeeded") == 2
    assert {r["run_id"] for r in read_audit_log(audit)} == {report.run_id}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text()) == report.to_json()


def test_apply_never_raises_for_a_failed_mint(write_toml: WriteToml, tmp_path: Path) -> None:
    """A 400 for one record is a failed result with a FailureKind; the other record is still
    minted, and the report's exit code is 3."""
    path = write_toml(CONFIG)

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["session"]["type"] == "transcription":
            return api_error(400, "bad", param="session.input_audio_format")
        return ok_ga()

    report = rtconfig.apply(
        _plan(path, "https://api.example.test/v1"),
        audit_log=tmp_path / "a.jsonl",
        transport=httpx.MockTransport(answer),
    )
    assert not report.ok and report.exit_code == 3 and (report.minted, report.failed) == (1, 1)
    error = report.results[1].error
    assert error is not None and error.kind is rtconfig.FailureKind.HTTP_ERROR
    assert error.type == "invalid_request_error" and error.http_status == 400


def test_apply_refuses_the_whole_run_when_a_key_is_missing(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """A missing key is a ConfigError before anything is sent (the CLI's exit 1)."""
    script = Script()
    plan = rtconfig.load(write_toml(CONFIG)).plan(environ={})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set") as caught:
        rtconfig.apply(plan, audit_log=tmp_path / "a.jsonl", transport=script.transport())
    assert caught.value.exit_code == 1 and script.requests == []


def test_apply_locked_refuses_a_body_the_lock_does_not_record(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """locked=True refuses, naming the pair, when a body differs from the lock file."""
    path = write_toml(CONFIG)
    assert CliRunner().invoke(main, ["lock", str(path)]).exit_code == 0
    path.write_text(CONFIG.replace('"marin"', '"cedar"'))
    script = Script()
    with pytest.raises(ConfigError, match=r"support \[default environment\]: body differs"):
        rtconfig.apply(
            _plan(path, "https://api.example.test/v1"),
            locked=True,
            audit_log=tmp_path / "a.jsonl",
            transport=script.transport(),
        )
    assert script.requests == []


def test_dry_run_shows_exactly_the_requests_apply_sends(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """The dry run's method, URL, headers and body are those of the request apply sends, the
    key alone redacted (one request builder for both)."""
    plan = _plan(write_toml(CONFIG), "https://api.example.test/v1")
    script = Script()
    rtconfig.apply(plan, audit_log=tmp_path / "a.jsonl", transport=script.transport())
    shown = dry_run_requests(plan)
    for request, sent in zip(shown, script.requests, strict=True):
        assert (request["method"], request["url"]) == (sent.method, str(sent.url))
        assert request["body"] == json.loads(sent.content)
        headers = {k: v for k, v in sent.headers.items() if k not in ("host", "content-length")}
        assert headers == {
            k.lower(): ("Bearer " + API_KEY if k == "Authorization" else v)
            for k, v in request["headers"].items()
        }


# -- the native async engine -----------------------------------------------------------------


def test_async_applier_is_native_asyncio_and_not_capped_by_api_concurrency() -> None:
    """40 mints with concurrency=40 are all in flight at once on the event loop's own thread,
    although [api].concurrency is 8: no thread per mint, no silent cap."""
    state = {"now": 0, "max": 0}
    threads: set[int] = set()

    async def answer(request: httpx.Request) -> httpx.Response:
        threads.add(threading.get_ident())
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.05)
        state["now"] -= 1
        return ok_ga()

    records = [make_job(template=f"t{i}") for i in range(40)]
    assert records[0].settings.concurrency == 8

    async def run() -> tuple[list[rtconfig.MintResult], int]:
        async with rtconfig.AsyncApplier(
            environ={"OPENAI_API_KEY": API_KEY},
            concurrency=40,
            transport=httpx.MockTransport(answer),
        ) as applier:
            return await applier.mint_all(records), threading.get_ident()

    before = threading.active_count()
    results, loop_thread = asyncio.run(run())
    assert all(r.ok for r in results) and [r.template for r in results] == [
        f"t{i}" for i in range(40)
    ]
    assert state["max"] == 40 and threads == {loop_thread}
    assert threading.active_count() <= before


def test_async_mint_never_raises_for_a_failed_mint() -> None:
    """await applier.mint(record) returns a failed result for a 500 after its retries."""

    async def run() -> rtconfig.MintResult:
        async with rtconfig.AsyncApplier(
            environ={"OPENAI_API_KEY": API_KEY},
            transport=httpx.MockTransport(lambda request: api_error(500)),
            retry=rtconfig.RetryPolicy(max_retries=1, initial_backoff_s=0.001),
        ) as applier:
            return await applier.mint(make_job())

    result = asyncio.run(run())
    assert not result.ok and result.attempts == 2
    assert result.error is not None and result.error.kind is rtconfig.FailureKind.HTTP_ERROR


def test_async_applier_mints_against_the_emulator_over_its_own_connections() -> None:
    """Without a transport, the async engine sends over its own single-connection transports."""
    with Emulator() as api:

        async def run() -> list[rtconfig.MintResult]:
            records = [make_job(template=f"t{i}", base_url=api.base_url) for i in range(12)]
            async with rtconfig.AsyncApplier(
                environ={"OPENAI_API_KEY": API_KEY}, concurrency=4
            ) as applier:
                return await applier.mint_all(records)

        results = asyncio.run(run())
        assert all(r.ok for r in results), [r.error for r in results]
        assert len(set(api.tokens)) == 12


# -- library misuse (issue 14 item 14) -------------------------------------------------------


class _RaisingAudit:
    def __init__(self, after: int) -> None:
        self.after = after
        self.events: list[str] = []

    def emit(self, event: str, /, **fields: Any) -> None:
        if len(self.events) >= self.after:
            raise OSError(28, "No space left on device")
        self.events.append(event)

    def add_secret(self, secret: str) -> None:
        pass


def test_a_raising_audit_sink_loses_no_minted_session() -> None:
    """When the audit sink raises after the first mint, mint_all still returns every result
    (the minted token included), starts no new mint, and says why on audit_error."""
    script = Script()
    records = [make_job(template=f"t{i}") for i in range(4)]
    audit = _RaisingAudit(after=2)  # apply.started, the first mint.succeeded
    with rtconfig.Applier(
        environ={"OPENAI_API_KEY": API_KEY},
        concurrency=1,
        audit=audit,
        transport=script.transport(),
    ) as applier:
        results = applier.mint_all(records)
    assert results[0].ok and results[0].client_secret
    assert len(script.requests) == 2  # the mint in flight when the sink failed finished
    assert [r.ok for r in results[2:]] == [False, False]
    assert {r.error.kind for r in results[2:] if r.error} == {rtconfig.FailureKind.CANCELLED}
    assert isinstance(applier.audit_error, OSError)


def test_a_raising_result_callback_loses_no_result() -> None:
    """on_result raising does not lose the sessions: CallbackError carries every result."""
    records = [make_job(template=f"t{i}") for i in range(3)]

    def boom(result: rtconfig.MintResult) -> None:
        raise RuntimeError("callback bug")

    with (
        rtconfig.Applier(
            environ={"OPENAI_API_KEY": API_KEY}, transport=Script().transport()
        ) as applier,
        pytest.raises(rtconfig.CallbackError) as caught,
    ):
        applier.mint_all(records, on_result=boom)
    assert [r.ok for r in caught.value.results] == [True, True, True]
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_reentering_mint_all_from_a_callback_does_not_deadlock() -> None:
    """A callback that mints again on the same (fully busy) applier completes."""
    records = [make_job(template=f"t{i}") for i in range(2)]
    inner: list[list[rtconfig.MintResult]] = []
    applier = rtconfig.Applier(
        environ={"OPENAI_API_KEY": API_KEY}, concurrency=1, transport=Script().transport()
    )

    def again(result: rtconfig.MintResult) -> None:
        if not inner:
            inner.append(applier.mint_all([make_job(template="inner")]))

    done: list[list[rtconfig.MintResult]] = []
    worker = threading.Thread(
        target=lambda: done.append(applier.mint_all(records, on_result=again))
    )
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "mint_all deadlocked"
    applier.close()
    assert [r.ok for r in done[0]] == [True, True] and inner[0][0].ok


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rtconfig.Applier(concurrency="8"), "concurrency"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier(concurrency=True), "concurrency"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier(environ=["OPENAI_API_KEY"]), "environ"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier(audit=object()), "audit"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier(transport=object()), "transport"),
        (lambda: rtconfig.AsyncApplier(transport=httpx.HTTPTransport()), "AsyncBaseTransport"),
        (lambda: rtconfig.Applier().mint({"name": "x"}), "PlanRecord"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier().mint_all(make_job()), "sequence of PlanRecord"),  # type: ignore[arg-type]
        (lambda: rtconfig.Applier().mint_all(["support"]), "PlanRecord"),  # type: ignore[list-item]
        (lambda: rtconfig.apply("sessions.toml"), "takes a Plan"),  # type: ignore[arg-type]
        (lambda: rtconfig.RetryPolicy(max_retries=-1), "max_retries"),
    ],
)
def test_wrongly_typed_inputs_are_a_clear_type_error_at_the_call(
    call: Callable[[], object], message: str
) -> None:
    """Library misuse fails at the call with a TypeError naming the argument, not deep inside."""
    with pytest.raises(TypeError, match=message):
        call()


# -- hand-edited saved plans (issue 14 item 10) ----------------------------------------------


def _saved(path: Path, environ: dict[str, str] | None = None) -> tuple[Path, dict[str, Any]]:
    environ = environ if environ is not None else {}
    plan = rtconfig.load(path).plan(environ=environ)
    out = path.parent / "plan.json"
    write_saved_plan(out, plan, config_path=path, environ=environ)
    return out, json.loads(out.read_text())


def _reseal(data: dict[str, Any]) -> dict[str, Any]:
    """What a determined editor does: recompute the seal after editing."""
    data = {k: v for k, v in data.items() if k != "plan_sha256"}
    data["plan_sha256"] = rtconfig.body_sha256(data)
    return data


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["templates"][0].update(env=["production"]),
        lambda d: d.update(envs="production"),
        lambda d: d["templates"][0].update(settings={"base_url": 1}),
        lambda d: d["templates"][0].update(origins=[{"path": [], "origin": {}}]),
        lambda d: d["templates"][0].update(name=None),
        lambda d: d["inputs"].update(environment=[{"name": 1, "sha256": None}]),
    ],
    ids=["env-list", "envs-string", "settings-type", "origin-path", "name-null", "var-name"],
)
def test_wrongly_typed_saved_plans_are_refused_cleanly(
    write_toml: WriteToml, edit: Callable[[dict[str, Any]], None]
) -> None:
    """A saved plan with a wrong type anywhere is a ConfigError naming the field, never a crash."""
    out, data = _saved(write_toml(CONFIG))
    edit(data)
    out.write_text(json.dumps(_reseal(data)))
    with pytest.raises(ConfigError, match="malformed saved plan"):
        read_saved_plan(out, {})


def test_an_edited_saved_plan_is_refused_by_its_seal(write_toml: WriteToml) -> None:
    """Any edit that keeps the bodies' hashes (here the lock status) breaks the seal."""
    out, data = _saved(write_toml(CONFIG))
    data["templates"][0]["lock_status"] = "unchanged"
    out.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="the plan was edited"):
        read_saved_plan(out, {})


def test_a_duplicated_record_is_refused_not_minted_twice(write_toml: WriteToml) -> None:
    """A record listed twice (resealed) is refused: it would mint twice."""
    out, data = _saved(write_toml(CONFIG))
    data["templates"].append(data["templates"][0])
    out.write_text(json.dumps(_reseal(data)))
    with pytest.raises(ConfigError, match=r"support is listed twice"):
        read_saved_plan(out, {})


def test_a_plan_from_another_toml_relabelled_is_refused(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """A plan made from another file, pointed at this TOML with this TOML's hash and resealed,
    is refused: its templates are not this file's."""
    path = write_toml(CONFIG)
    other = write_toml(
        '[templates.intruder]\ntype = "realtime"\nmodel = "gpt-realtime-2.1"\n', name="other.toml"
    )
    out, data = _saved(other)
    data["config"].update(path=path.name, absolute_path=str(path), file=path.name)
    data["inputs"]["config_sha256"] = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    out.write_text(json.dumps(_reseal(data)))
    with pytest.raises(rtconfig.StalePlanError, match="no mintable template 'intruder'"):
        read_saved_plan(out, {})


def test_the_plans_variable_list_is_no_oracle_for_the_key(write_toml: WriteToml) -> None:
    """Adding the key's variable (with a guessed hash) to the plan's inputs is refused, so
    `apply PLAN` never answers whether a guess of the key is right."""
    key = "sk-proj-GUESSME-0123456789abcdef"
    out, data = _saved(write_toml(CONFIG))
    guess = __import__("hashlib").sha256(key.encode()).hexdigest()
    data["inputs"]["environment"].append({"name": "OPENAI_API_KEY", "sha256": guess})
    out.write_text(json.dumps(_reseal(data)))
    for environ in ({"OPENAI_API_KEY": key}, {"OPENAI_API_KEY": key + "x"}):
        with pytest.raises(ConfigError, match="never records") as caught:
            read_saved_plan(out, environ)
        assert "changed" not in str(caught.value)


def test_apply_of_a_saved_plan_points_errors_at_toml_lines(
    write_toml: WriteToml, tmp_path: Path
) -> None:
    """apply PLAN maps error.param to the TOML line from the plan's own origins (the TOML is
    never resolved again: its templates could even be broken now, as long as it is unchanged)."""
    path = write_toml(CONFIG)
    out, _ = _saved(path)
    saved = read_saved_plan(out, {"OPENAI_API_KEY": API_KEY})
    script = Script([api_error(400, "bad voice", param="session.audio.output.voice"), ok_ga()])
    report = rtconfig.apply(
        saved.plan({"OPENAI_API_KEY": API_KEY}),
        audit_log=tmp_path / "a.jsonl",
        transport=script.transport(),
    )
    error = report.results[0].error
    assert error is not None and error.path == "audio.output.voice"
    assert (error.file, error.line) == (str(path), 7)


@pytest.mark.parametrize(
    ("environ", "head", "message"),
    [
        ({"OPENAI_API_KEY": "sk-proj-abc”def-0123456789"}, "", "not ASCII"),
        ({"OPENAI_API_KEY": "sk-proj-abc\r\nX-Evil: 1"}, "", "line break"),
        ({"OPENAI_API_KEY": API_KEY}, 'organization = "Acmé"\n', "organization"),
    ],
    ids=["smart-quote-key", "crlf-key", "non-ascii-organization"],
)
def test_a_key_or_header_that_is_no_header_value_is_refused_before_sending(
    write_toml: WriteToml, tmp_path: Path, environ: dict[str, str], head: str, message: str
) -> None:
    """A key pasted with a smart quote or a line break, or a non-ASCII organization, is refused
    before anything is sent (a ConfigError, the CLI's exit 1: by validate for the organization,
    by preflight for the key), never a crash or a retry, and the message never quotes the key."""
    path = write_toml(CONFIG.replace("[api]\n", "[api]\n" + head))
    script = Script()
    with pytest.raises(ConfigError, match=message) as caught:
        plan = rtconfig.load(path).plan(environ=environ)
        rtconfig.apply(plan, audit_log=tmp_path / "a.jsonl", transport=script.transport())
    assert script.requests == [] and "abc" not in str(caught.value)
