"""Every example in examples/ validates, plans against its lock file, and mints against the
emulator in every environment; each shows what its README says; its README's commands run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import rtconfig
from rtconfig._apply.engine import Applier
from rtconfig._cli import main
from rtconfig._plan.records import PlanRecord
from rtconfig.testing import Emulator, capture_audit
from tests._console import console_blocks, run_block, scratch_repo, shell_env

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/sessions.toml"))
WORKFLOW = EXAMPLES / "github-actions" / "rtconfig.yml"


def _copy(name: str, tmp_path: Path) -> Path:
    """A scratch copy of one example (apply writes an audit log beside the file)."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".rtconfig"))
    return target / "sessions.toml"


def _envs(path: Path) -> list[str | None]:
    return [None, *rtconfig.load(path).environments]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"RTCONFIG_ENV": None}, catch_exceptions=False)


def test_the_examples_issue_7_asks_for_exist() -> None:
    """Each example the docs promise is there, with a README and a lock file."""
    wanted = {
        "voice-agent",
        "push-to-talk",
        "transcription-ga",
        "dictation",
        "multi-environment",
        "beta-endpoint",
        "prompts-in-files",
    }
    assert wanted <= set(NAMES)
    index = (EXAMPLES / "README.md").read_text()
    for name in NAMES:
        assert (EXAMPLES / name / "README.md").is_file(), name
        assert (EXAMPLES / name / "sessions.lock.json").is_file(), name
        assert f"`{name}/`" in index, f"examples/README.md does not list {name}"


# The one example kept on the beta endpoint (docs/migrate.md migrates it): its only warnings
# are the lifecycle's, at these paths.
BETA_EXAMPLE = "beta-endpoint"


@pytest.mark.parametrize("name", NAMES)
def test_example_is_valid_in_every_environment_without_warnings(name: str) -> None:
    """The example passes `rtconfig validate --strict`: no errors and no warnings, anywhere
    (the beta example: only its beta-endpoint and model-shutdown warnings)."""
    check = rtconfig.load(EXAMPLES / name / "sessions.toml").check(environ={})
    if name == BETA_EXAMPLE:
        assert check.ok(), [str(d) for d in check.diagnostics]
        assert {d.path for d in check.warnings} == {"endpoint", "model"}
        assert all("migrate" in d.message for d in check.warnings if d.path == "endpoint")
        return
    result = _cli("validate", str(EXAMPLES / name / "sessions.toml"), "--strict")
    assert result.exit_code == 0, result.output
    assert check.ok(strict=True), [str(d) for d in check.diagnostics]


@pytest.mark.parametrize("name", NAMES)
def test_example_lock_file_is_up_to_date(name: str) -> None:
    """`rtconfig lock --check` passes: the committed lock file matches the templates."""
    result = _cli("lock", str(EXAMPLES / name / "sessions.toml"), "--check")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", NAMES)
def test_example_plans_unchanged_against_its_lock_file(name: str) -> None:
    """`rtconfig plan --json --detailed-exitcode` in each environment: every template is
    planned, unchanged against the lock file, with the body `render` prints."""
    path = EXAMPLES / name / "sessions.toml"
    config = rtconfig.load(path)
    for env in _envs(path):
        args = ["plan", str(path), "--json", "--detailed-exitcode"] + (
            ["--env", env] if env else []
        )
        result = _cli(*args)
        assert result.exit_code == 0, result.output
        plan = json.loads(result.stdout)
        assert [t["name"] for t in plan["templates"]] == list(config.mintable())
        for entry in plan["templates"]:
            assert entry["lock_status"] == "unchanged", (env, entry["name"])
            body = config.resolve(entry["name"], env, environ={}).body
            assert entry["body"] == body
            assert entry["sha256"] == rtconfig.body_sha256(body)


@pytest.mark.parametrize("name", NAMES)
def test_example_mints_with_the_cli_against_the_emulator(name: str, tmp_path: Path) -> None:
    """`rtconfig apply --emulate` mints every template in every environment and exits 0."""
    path = _copy(name, tmp_path)
    for env in _envs(path):
        args = ["apply", str(path), "--emulate"] + (["--env", env] if env else [])
        result = _cli(*args)
        assert result.exit_code == 0, result.output
        results = json.loads(result.stdout)["results"]
        assert [r["template"] for r in results] == list(rtconfig.load(path).mintable())
        assert all(r["ok"] and r["client_secret"].startswith("ek_") for r in results)
        assert {r["env"] for r in results} == {env}
    assert (path.parent / ".rtconfig" / "audit.jsonl").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_example_mints_with_the_library_and_sends_the_resolved_bodies(name: str) -> None:
    """Through the library (Applier + Emulator), the emulator receives exactly the resolved
    bodies, at the template's endpoint, and the audit records one success per template."""
    path = EXAMPLES / name / "sessions.toml"
    config = rtconfig.load(path)
    with Emulator() as api, capture_audit() as audit:
        for env in _envs(path):
            resolved = config.check(envs=[env], environ={}, base_url=api.base_url).templates
            environ = {t.settings.api_key_env: "sk-emulated" for t in resolved}
            with Applier(environ=environ, audit=audit) as applier:
                results = applier.mint_all([PlanRecord.from_resolved(t) for t in resolved])
            assert all(r.ok for r in results), [str(r.error) for r in results]
            sent = api.requests[-len(resolved) :]
            assert sorted(json.dumps(r.json, sort_keys=True) for r in sent) == sorted(
                json.dumps(t.body, sort_keys=True) for t in resolved
            )
            assert {(r.endpoint, r.headers["authorization"]) for r in sent} <= {
                (t.endpoint, "Bearer sk-emulated") for t in resolved
            }
    assert len(audit.of("mint.succeeded")) == sum(len(config.mintable()) for _ in _envs(path))


# --- each example shows what its README says ---------------------------------------------------


def _body(name: str, template: str, env: str | None = None, **kw: Any) -> dict[str, Any]:
    return rtconfig.load(EXAMPLES / name / "sessions.toml").resolve(template, env, **kw).body


def test_voice_agent_has_a_function_tool_and_an_mcp_tool() -> None:
    """voice-agent sends a function tool and an MCP tool to the GA endpoint, prompt from file."""
    body = _body("voice-agent", "concierge", environ={})
    assert {tool["type"] for tool in body["session"]["tools"]} == {"function", "mcp"}
    prompt = (EXAMPLES / "voice-agent" / "prompts" / "concierge.md").read_text()
    assert body["session"]["instructions"].strip() == prompt.strip()


def test_push_to_talk_sends_an_explicit_null() -> None:
    """push-to-talk's child sends turn_detection: null; its parent keeps server VAD on."""
    child = _body("push-to-talk", "walkie-talkie", environ={})
    assert child["session"]["audio"]["input"]["turn_detection"] is None
    parent = _body("push-to-talk", "hands-free", environ={})
    assert parent["session"]["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"


def test_transcription_examples_are_ga_transcription_sessions() -> None:
    """Both transcription examples mint type=transcription on client_secrets; the migrated
    dictation file's lifetime is the top-level expires_after."""
    config = rtconfig.load(EXAMPLES / "transcription-ga" / "sessions.toml")
    ga = config.resolve("phone-captions", environ={})
    assert ga.endpoint is rtconfig.Endpoint.CLIENT_SECRETS
    assert ga.body["session"]["type"] == "transcription"
    assert ga.body["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    migrated = rtconfig.load(EXAMPLES / "dictation" / "sessions.toml").resolve(
        "dictation", environ={}
    )
    assert migrated.endpoint is rtconfig.Endpoint.CLIENT_SECRETS
    assert migrated.body["session"]["type"] == "transcription"
    assert migrated.body["expires_after"]["seconds"] == 600


def test_multi_environment_layers_apply_in_order() -> None:
    """multi-environment: overlays, "*", unset, variables and --set each change the body."""
    name = "multi-environment"
    assert _body(name, "support", "production", environ={})["session"]["audio"]["output"] == {
        "voice": "marin",
        "speed": 1.1,
    }
    assert "tracing" not in _body(name, "sales", "production", environ={})["session"]
    staging = _body(name, "sales", "staging", environ={})
    assert staging["session"]["tracing"] == {"workflow_name": "example-staging"}
    assert staging["expires_after"]["seconds"] == 60
    assert staging["session"]["model"] == "gpt-realtime-2.1-mini"
    overridden = _body(
        name,
        "support",
        environ={"RTCONFIG__SUPPORT__AUDIO__OUTPUT__VOICE": "cedar"},
        sets=["support.audio.output.speed=1.2"],
    )
    assert overridden["session"]["audio"]["output"] == {"voice": "cedar", "speed": 1.2}
    settings = rtconfig.load(EXAMPLES / name / "sessions.toml").resolve(
        "support", "production", environ={}
    )
    assert settings.settings.api_key_env == "OPENAI_API_KEY_PROD"
    assert settings.settings.project == "proj_voice"


def test_beta_endpoint_sends_the_flat_object_and_one_ga_template() -> None:
    """beta-endpoint: flat beta bodies with client_secret.expires_after, plus a GA template."""
    config = rtconfig.load(EXAMPLES / "beta-endpoint" / "sessions.toml")
    assistant = config.resolve("assistant", environ={})
    assert assistant.endpoint is rtconfig.Endpoint.SESSIONS
    assert assistant.body["voice"] == "verse"
    assert assistant.body["client_secret"] == {
        "expires_after": {"anchor": "created_at", "seconds": 120}
    }
    text_only = config.resolve("text-only", environ={}).body
    assert "voice" not in text_only and text_only["modalities"] == ["text"]
    assert config.resolve("ga-agent", environ={}).endpoint is rtconfig.Endpoint.CLIENT_SECRETS


def test_prompts_in_files_reads_each_file_and_the_staging_one() -> None:
    """prompts-in-files: each template's instructions are its file's text, per environment."""
    folder = EXAMPLES / "prompts-in-files"
    config = rtconfig.load(folder / "sessions.toml")

    def instructions(template: str, env: str | None = None) -> str:
        return str(config.resolve(template, env, environ={}).body["session"]["instructions"])

    for template, env, file in [
        ("billing", None, "billing.md"),
        ("billing", "staging", "billing.staging.md"),
        ("tech-support", None, "tech-support.md"),
        ("tech-support-es", None, "tech-support.es.md"),
    ]:
        text = (folder / "prompts" / file).read_text(encoding="utf-8")
        assert instructions(template, env).strip() == text.strip(), (template, env)
    origin = config.resolve("billing", "staging", environ={}).fields[("instructions",)].origin
    assert origin.kind is rtconfig.OriginKind.FILE


# --- the READMEs' commands ---------------------------------------------------------------------

README_BLOCKS = [
    (readme, line, commands)
    for readme in sorted(EXAMPLES.glob("**/README.md"))
    for line, commands in console_blocks(readme)
]


@pytest.mark.parametrize(
    ("readme", "line", "commands"),
    README_BLOCKS,
    ids=[f"{r.parent.name}:{line}" for r, line, _ in README_BLOCKS],
)
def test_example_readme_commands_run(
    readme: Path, line: int, commands: list[Any], tmp_path: Path
) -> None:
    """The console commands in the example's README run as shown, from its folder (the index,
    examples/README.md, from the repository root)."""
    root = scratch_repo(tmp_path)
    where = readme.relative_to(REPO)
    cwd = root if readme == EXAMPLES / "README.md" else root / where.parent
    run_block(commands, cwd, str(where))


# --- the GitHub Actions workflow ----------------------------------------------------------------

FAKE_GH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$GH_LOG"
if [ "$FAIL_EDIT_LAST" = 1 ] && [[ " $* " == *" --edit-last "* ]]; then
  echo "no comments found for current user" >&2; exit 1
fi
"""


def _run_workflow(
    project: Path, tmp_path: Path, *, edit_fails: bool = False, base_ref: str = ""
) -> dict[str, Any]:
    """Run the workflow's `run:` steps (not `uses:` or the install) as GitHub would, with a fake
    `gh`; return each step's exit code and output, and what `gh` was asked."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    summary = tmp_path / "summary.md"
    gh_log = tmp_path / "gh.log"
    env = shell_env()
    env.update({k: str(v) for k, v in workflow["env"].items()})
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        GITHUB_STEP_SUMMARY=str(summary),
        GH_LOG=str(gh_log),
        FAIL_EDIT_LAST="1" if edit_fails else "0",
        GITHUB_BASE_REF=base_ref,
    )
    steps: dict[str, tuple[int, str]] = {}
    for step in workflow["jobs"]["rtconfig"]["steps"]:
        if "run" not in step or step["name"] == "Install rtconfig":
            continue
        step_env = dict(env)
        for key, value in (step.get("env") or {}).items():
            step_env[key] = {
                "${{ github.token }}": "ghs_fake",
                "${{ github.event.pull_request.number }}": "42",
            }.get(value, value)
        script = tmp_path / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=project,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        steps[step["name"]] = (done.returncode, done.stdout + done.stderr)
        if done.returncode != 0:
            break
    return {
        "steps": steps,
        "summary": summary.read_text() if summary.exists() else "",
        "gh": gh_log.read_text().splitlines() if gh_log.exists() else [],
        "plan": (project / "plan.md").read_text() if (project / "plan.md").exists() else "",
    }


def test_workflow_is_valid_yaml_with_the_three_jobs_steps() -> None:
    """The ready workflow parses, triggers on pull requests, and validates, checks the lock
    file, plans and posts the plan, with write access to pull requests only."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    runs = "\n".join(s.get("run", "") for s in workflow["jobs"]["rtconfig"]["steps"])
    for command in ("rtconfig validate", "rtconfig lock", "--check", "rtconfig plan", "gh pr"):
        assert command in runs


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_workflow_passes_and_posts_what_the_pull_request_changes(tmp_path: Path) -> None:
    """On a pull request that changes a template (lock file refreshed), the steps pass and the
    plan -- against the target branch's lock file, in every environment -- shows the change,
    goes to the job summary, and is posted once on the pull request."""
    path = _copy("multi-environment", tmp_path)
    project = path.parent
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "base")
    _git(project, "update-ref", "refs/remotes/origin/main", "HEAD")
    path.write_text(path.read_text().replace('voice = "marin"', 'voice = "cedar"'))
    assert _cli("lock", str(path)).exit_code == 0
    run = _run_workflow(project, tmp_path, edit_fails=True, base_ref="main")
    assert all(code == 0 for code, _ in run["steps"].values()), run["steps"]
    assert len(run["steps"]) == 4
    for env in ("default environment", "staging", "production"):
        assert f"<summary>{env}</summary>" in run["plan"]
    assert run["plan"].count('template "support"') == 3
    assert run["plan"].count('"marin" -> "cedar"') == 3
    assert 'template "sales"' not in run["plan"]
    assert run["summary"] == run["plan"]
    assert run["gh"] == [
        "pr comment 42 --edit-last --body-file plan.md",
        "pr comment 42 --body-file plan.md",
    ]


def test_workflow_annotates_a_typo_at_its_line_and_fails(tmp_path: Path) -> None:
    """A typo fails the Validate step, with a GitHub annotation at the typo's file and line."""
    path = _copy("push-to-talk", tmp_path)
    lines = path.read_text().splitlines()
    typo_line = next(i for i, text in enumerate(lines, 1) if text.startswith("model = "))
    lines[typo_line - 1] = lines[typo_line - 1].replace("model", "modle")
    path.write_text("\n".join(lines) + "\n")
    run = _run_workflow(path.parent, tmp_path)
    code, output = run["steps"]["Validate"]
    assert code == 1
    assert f"::error file=sessions.toml,line={typo_line},col=1,title=rtconfig::" in output
    assert "modle" in output
    assert "Plan" not in run["steps"] and run["gh"] == []


def test_workflow_fails_on_a_stale_lock_file(tmp_path: Path) -> None:
    """Changing a prompt without refreshing the lock file fails the lock-check step."""
    path = _copy("prompts-in-files", tmp_path)
    prompt = path.parent / "prompts" / "billing.md"
    prompt.write_text(prompt.read_text() + "- Always thank the caller.\n")
    run = _run_workflow(path.parent, tmp_path)
    assert run["steps"]["Validate"][0] == 0
    code, output = run["steps"]["Check the lock file"]
    assert code == 1 and "billing" in output
    assert "Plan" not in run["steps"]


def test_relock_script_is_executable() -> None:
    """scripts/relock-examples exists and is executable (examples/README.md points at it)."""
    script = REPO / "scripts" / "relock-examples"
    assert os.access(script, os.X_OK)
    assert sys.executable
