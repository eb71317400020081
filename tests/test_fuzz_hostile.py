"""Two more fuzz profiles (the suite of tests/test_fuzz.py, same hypothesis profiles):

- a **hostile repository**: every file a pull request can commit — prompt files, the lock file,
  a saved plan, the audit log and its directory — generated as symlinks to devices, to files
  outside the tree or to dot-directories holding a secret, FIFOs, directories, symlink loops.
  Every command ends cleanly (exit 0 or 1, no traceback) in bounded time, never prints the
  secret, and never writes through a symlink (the victim file is unchanged).
- a **hostile server**: every response field — ``error.message``, ``type``, ``param``,
  ``code``, ``Content-Type``, ``x-request-id``, a success's session id and body — carries the
  API key or a token minted earlier in the run, raw or JSON-escaped. Neither ever reaches
  stderr or the audit log, and the key never reaches stdout.

The number of inputs each profile tried and of secret searches are in the closing figures.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtconfig.testing import Emulator, Fault
from tests._robust import CANARY_KEY, GA_HEAD, STATS, cli, deadline

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECRET = "SECRETVALUE-4f1d9c2b7a"

# -- the hostile repository ------------------------------------------------------------------

# What a committed path can be. "secret*" hold SECRET; the victim must never change.
KINDS = [
    "regular",
    "dev-zero",
    "dev-null",
    "fifo",
    "directory",
    "loop",
    "outside",
    "dot-dir",
    "dot-file",
    "to-dot-dir",
    "to-victim",
    "missing",
]


def _make(repo: Path, relative: str, kind: str, outside: Path) -> None:
    """Create ``relative`` in ``repo`` as ``kind``."""
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "regular":
        path.write_text("Be brief.\n")
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "dev-null":
        path.symlink_to("/dev/null")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "outside":
        path.symlink_to(outside / "secret.md")
    elif kind in ("dot-dir", "to-dot-dir"):
        (repo / ".git").mkdir(exist_ok=True)
        (repo / ".git" / "config").write_text(f"extraheader = AUTHORIZATION: basic {SECRET}\n")
        if kind == "to-dot-dir":
            path.symlink_to(repo / ".git" / "config")
    elif kind == "dot-file":
        (repo / ".env").write_text(f"TOKEN={SECRET}\n")
    elif kind == "to-victim":
        path.symlink_to(outside / "victim")


def _prompt_path(kind: str) -> str:
    return {"dot-dir": ".git/config", "dot-file": ".env"}.get(kind, "prompts/p.md")


repositories = st.fixed_dictionaries(
    {
        "prompt": st.sampled_from(KINDS),
        "lock": st.sampled_from(KINDS),
        "plan": st.sampled_from(KINDS),
        "audit_dir": st.sampled_from(["missing", "directory", "to-victim-dir", "dev-null"]),
        "audit_log": st.sampled_from(KINDS),
        "command": st.sampled_from(
            [
                ["validate", "FILE"],
                ["render", "FILE", "t"],
                ["plan", "FILE"],
                ["plan", "FILE", "--out", "PLAN"],
                ["lock", "FILE", "--check"],
                ["lock", "FILE"],
                ["apply", "FILE", "--locked", "--dry-run"],
                ["apply", "PLAN", "--dry-run"],
                ["apply", "FILE", "--emulate", "--output", "PLAN"],
                ["import", "PLAN"],
            ]
        ),
    }
)


@FUZZ
@given(repositories)
def test_a_hostile_repository_never_crashes_leaks_or_writes_through_a_symlink(
    layout: dict[str, Any],
) -> None:
    """Whatever a repository commits in place of its prompt, lock file, saved plan, audit log
    or audit directory, every command ends with exit 0, 1 or 2 in bounded time, prints no
    secret, and leaves a file outside the tree unchanged."""
    with tempfile.TemporaryDirectory() as top:
        repo, outside = Path(top) / "repo", Path(top) / "outside"
        repo.mkdir()
        outside.mkdir()
        (outside / "secret.md").write_text(f"{SECRET}\n")
        (outside / "victim").write_text("precious\n")
        (outside / "victim-dir").mkdir()
        prompt = _prompt_path(layout["prompt"])
        _make(repo, prompt, layout["prompt"], outside)
        toml = repo / "sessions.toml"
        toml.write_text(GA_HEAD + f'model = "gpt-realtime"\ninstructions_file = "{prompt}"\n')
        _make(repo, "sessions.lock.json", layout["lock"], outside)
        _make(repo, "plan.json", layout["plan"], outside)
        rtdir = repo / ".rtconfig"
        if layout["audit_dir"] == "directory":
            rtdir.mkdir()
            _make(repo, ".rtconfig/audit.jsonl", layout["audit_log"], outside)
        elif layout["audit_dir"] == "to-victim-dir":
            rtdir.symlink_to(outside / "victim-dir")
        elif layout["audit_dir"] == "dev-null":
            rtdir.symlink_to("/dev/null")
        args = [
            str(toml) if a == "FILE" else str(repo / "plan.json") if a == "PLAN" else a
            for a in layout["command"]
        ]
        with deadline(30):
            result = cli(args, env={"OPENAI_API_KEY": CANARY_KEY}, allowed=(0, 1, 2, 3))
        STATS["fuzz hostile-repository inputs tried"] += 1
        STATS["secret searches"] += 2
        shown = result.stdout + result.stderr
        leaked = [s for s in (SECRET, CANARY_KEY) if s in shown]
        STATS["leaks found"] += len(leaked)
        assert leaked == [], shown[-2000:]
        assert (outside / "victim").read_text() == "precious\n"
        assert list((outside / "victim-dir").iterdir()) == []
        assert (outside / "secret.md").read_text() == f"{SECRET}\n"


# -- the hostile server ----------------------------------------------------------------------

FIELDS = ["message", "type", "param", "code", "content-type", "x-request-id", "session-id", "body"]


def _forms(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], "".join(f"\\u{ord(c):04x}" for c in secret)]


servers = st.fixed_dictionaries(
    {
        "field": st.sampled_from(FIELDS),
        "secret": st.sampled_from(["key", "earlier-token"]),
        "form": st.integers(min_value=0, max_value=2),
        "status": st.sampled_from([200, 400, 401, 404, 429, 500]),
        "padding": st.text(alphabet="abc -_./:", max_size=8)
        | st.sampled_from(["\\u001b]52;c;ZXZpbA==\\u0007", "\\u001b[2J", "\\u009b31m"]),
    }
)


def _fault(field: str, carried: str, status: int, padding: str) -> Fault:
    """A response whose ``field`` carries ``carried`` (already encoded for JSON)."""
    text = f"{padding}{carried}{padding}"
    headers: dict[str, str] = {}
    if field == "content-type":
        headers["Content-Type"] = f"text/plain; x={text}"
        return Fault(status=status, headers=headers, body="not json")
    if field == "x-request-id":
        headers["x-request-id"] = text
    if status == 200 and field in ("session-id", "body"):
        session = {"id": text} if field == "session-id" else {"id": "sess_x", "note": text}
        body = f'{{"value": "ek_{"9" * 40}", "expires_at": 1, "session": {json.dumps(session)}}}'
        return Fault(status=200, headers=headers, body=body.replace(json.dumps(text), f'"{text}"'))
    error = {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}
    error[field if field in error else "message"] = "@@"
    body = json.dumps({"error": error}).replace('"@@"', f'"{text}"')
    return Fault(status=400 if status == 200 else status, headers=headers, body=body)


EARLIER = "ek_" + "7e" * 24  # the token the first mint of the run returns


@settings(FUZZ, max_examples=max(10, settings.default.max_examples // 4))
@given(servers)
def test_a_hostile_server_cannot_make_rtconfig_print_a_secret(case: dict[str, Any]) -> None:
    """Whichever response field carries the key or a token minted earlier in the same run, raw
    or JSON-escaped, neither reaches stderr or the audit log, the key never reaches stdout, the
    earlier token is on stdout only in its own result, and terminal controls never reach
    stderr raw."""
    with tempfile.TemporaryDirectory() as top, Emulator() as api:
        repo = Path(top)
        toml = repo / "sessions.toml"
        toml.write_text(
            '[api]\nendpoint = "realtime/client_secrets"\nmax_retries = 0\nconcurrency = 1\n'
            '[templates.a]\ntype = "realtime"\nmodel = "gpt-realtime"\n'
            '[templates.b]\ntype = "realtime"\nmodel = "gpt-realtime"\n'
        )
        audit = repo / "audit.jsonl"
        env = {"OPENAI_API_KEY": CANARY_KEY, "OPENAI_BASE_URL": api.base_url}
        secret = CANARY_KEY if case["secret"] == "key" else EARLIER
        carried = _forms(secret)[case["form"]]
        first = {"value": EARLIER, "expires_at": 1, "session": {"id": "sess_first"}}
        api.inject(
            Fault(status=200, body=first),
            _fault(case["field"], carried, case["status"], case["padding"]),
        )
        with deadline(30):
            run = cli(["apply", str(toml), "--audit-log", str(audit)], env=env, allowed=(0, 1, 3))
        logged = audit.read_text()
        STATS["fuzz hostile-server inputs tried"] += 1
        places = {"stderr": run.stderr, "audit log": logged}
        if secret == CANARY_KEY:
            places["stdout"] = run.stdout
        STATS["secret searches"] += len(places) * 3
        leaks = [where for where, text in places.items() for form in _forms(secret) if form in text]
        if secret == EARLIER:  # on stdout only in a's own result, never in b's
            b_result = json.dumps(json.loads(run.stdout)["results"][1])
            STATS["secret searches"] += 1
            leaks += ["stdout (b)"] * (EARLIER in b_result)
        STATS["leaks found"] += len(leaks)
        assert leaks == [], (case, {w: places.get(w, run.stdout)[-1500:] for w in leaks})
        assert '"template": "a"' in run.stdout and "sess_first" in run.stdout
        # Terminal controls a server sends (OSC 52, CSI, C1) are shown escaped, never raw.
        assert not {"\x1b", "\x07", "\x9b"} & set(run.stderr), run.stderr[-500:]
