"""Saved plans (``rtconfig plan --out PLAN.json``): the exact bodies to send and a fingerprint
of every input that produced them, so that ``rtconfig apply PLAN.json`` sends exactly what was
reviewed, or refuses with :class:`~rtconfig._errors.StalePlanError` naming what changed.

The fingerprint holds the sha256 of the TOML file's bytes and of each ``instructions_file`` that
supplied a planned body, the names and value hashes of the environment variables that influence
resolution (every ``RTCONFIG__*``, ``OPENAI_BASE_URL``, and ``RTCONFIG_ENV`` when it chose the
environment), the ``--set`` arguments and rtconfig's version. A saved plan never holds a secret:
the API key is named (``settings.api_key_env``), never read, and bodies cannot contain keys (the
loader refuses key-like values).

For ``apply``::

    saved = read_saved_plan(path, os.environ)      # raises StalePlanError when stale
    for t in saved.templates:                      # SavedTemplate: exactly what to send
        MintJob(template=t.name, env=t.env, endpoint=t.endpoint, body=t.body, settings=t.settings)

or ``resolve_saved_plan(saved, os.environ)`` for the same templates as ``ResolvedTemplate``\\ s
(whose ``origin_of`` points API errors at TOML lines), checked to have exactly the planned bodies
and settings. Only bodies carry a hash: a caller minting from ``read_saved_plan`` alone trusts
the file's ``settings`` (its ``base_url`` receives the API key); ``rtconfig apply PLAN`` checks
them with ``resolve_saved_plan``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError, StalePlanError
from rtconfig._files import (
    INSTRUCTIONS,
    SAVED_PLAN,
    SESSIONS_TOML,
    FileKind,
    FileProblem,
    FileRefused,
    read_file,
    read_in_tree,
)
from rtconfig._loader import MAX_NESTING_DEPTH, deeper_than
from rtconfig._lockfile import atomic_write_text
from rtconfig._origins import OriginKind
from rtconfig._planner import Plan
from rtconfig._resolver import ResolvedTemplate, body_sha256
from rtconfig._settings import Settings
from rtconfig._version import __version__

__all__ = [
    "SAVED_PLAN_FORMAT_VERSION",
    "SAVED_PLAN_KIND",
    "Fingerprint",
    "SavedPlan",
    "SavedTemplate",
    "check_fresh",
    "dumps_saved_plan",
    "fingerprint_inputs",
    "is_saved_plan",
    "read_saved_plan",
    "resolve_saved_plan",
    "stale_reasons",
    "write_saved_plan",
]

SAVED_PLAN_KIND = "rtconfig-plan"
SAVED_PLAN_FORMAT_VERSION = 1

# Variables that change what a template resolves to, or where it is sent, besides RTCONFIG__*.
BASE_URL_VARIABLE = "OPENAI_BASE_URL"
ENV_VARIABLE = "RTCONFIG_ENV"
OVERRIDE_PREFIX = "RTCONFIG__"


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_text(text: str) -> str:
    return _sha256_bytes(text.encode("utf-8"))


def _file_sha256(path: Path, kind: FileKind = SESSIONS_TOML) -> str | None:
    """The sha256 of a regular file's bytes; None when it is missing, and a value that matches
    no digest when it cannot be read (a device, a FIFO, too large): the plan is then stale."""
    try:
        return _sha256_bytes(read_file(path, kind))
    except FileRefused as exc:
        return None if exc.problem is FileProblem.MISSING else f"unreadable: {exc.problem.value}"


def _prompt_sha256(config_dir: Path, relative: str) -> str | None:
    """Like :func:`_file_sha256` for a prompt file a (possibly edited) saved plan lists: read
    only inside the TOML's directory tree, as ``instructions_file`` is."""
    try:
        return _sha256_bytes(read_in_tree(config_dir, relative, INSTRUCTIONS, allow_hidden=True))
    except FileRefused as exc:
        return None if exc.problem is FileProblem.MISSING else f"unreadable: {exc.problem.value}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Every input of a plan: hashes of files and variable values, never the values themselves.

    ``instructions_files`` paths are relative to the TOML's directory, as written in it; a
    variable hash of None records that the variable was not set.
    """

    config_sha256: str
    instructions_files: tuple[tuple[str, str], ...]
    variables: tuple[tuple[str, str | None], ...]
    sets: tuple[str, ...]
    rtconfig_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "config_sha256": self.config_sha256,
            "instructions_files": [
                {"path": path, "sha256": sha} for path, sha in self.instructions_files
            ],
            "environment": [{"name": name, "sha256": sha} for name, sha in self.variables],
            "sets": list(self.sets),
            "rtconfig_version": self.rtconfig_version,
        }


@dataclass(frozen=True, slots=True)
class SavedTemplate:
    """One planned mint: exactly what ``apply`` sends, and where (``settings`` has no secret)."""

    name: str
    env: str | None
    endpoint: Endpoint
    body: Mapping[str, Any]
    sha256: str
    settings: Settings
    lock_status: str | None = None


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan read back from ``plan --out``: its templates and the fingerprint of its inputs."""

    path: Path
    config_path: Path
    config_file: str
    envs: tuple[str | None, ...]
    selected: tuple[str, ...] | None
    templates: tuple[SavedTemplate, ...]
    fingerprint: Fingerprint
    created_at: str


# --- making ----------------------------------------------------------------------------------


def _influencing_variables(
    environ: Mapping[str, str], env_from_variable: bool, secret_names: set[str]
) -> tuple[tuple[str, str | None], ...]:
    names = sorted(v for v in environ if v.upper().startswith(OVERRIDE_PREFIX))
    names.append(BASE_URL_VARIABLE)
    if env_from_variable:
        names.append(ENV_VARIABLE)
    return tuple(
        (name, _sha256_text(environ[name]) if name in environ else None)
        for name in names
        if name not in secret_names  # never even a hash of the key
    )


def _secret_names(plan: Plan) -> set[str]:
    return {"OPENAI_API_KEY"} | {t.settings.api_key_env for t in plan.templates}


def fingerprint_inputs(
    plan: Plan,
    config_path: str | os.PathLike[str],
    environ: Mapping[str, str],
    sets: Sequence[str] = (),
    *,
    env_from_variable: bool = False,
) -> Fingerprint:
    """Hash the inputs of ``plan``: the TOML's bytes, the instructions files its bodies use,
    the influencing variables of ``environ`` and the ``--set`` arguments."""
    config = Path(config_path)
    files: dict[str, str] = {}
    for template in plan.templates:
        for planned in template.fields:
            origin = planned.origin
            if origin.kind is OriginKind.FILE and origin.source and origin.source not in files:
                sha = _prompt_sha256(config.parent, origin.source)
                if sha is not None:
                    files[origin.source] = sha
    return Fingerprint(
        config_sha256=_file_sha256(config) or "",
        instructions_files=tuple(sorted(files.items())),
        variables=_influencing_variables(environ, env_from_variable, _secret_names(plan)),
        sets=tuple(sets),
        rtconfig_version=__version__,
    )


def dumps_saved_plan(
    plan: Plan,
    fingerprint: Fingerprint,
    *,
    config_path: str | os.PathLike[str],
    plan_path: str | os.PathLike[str],
    selected: Sequence[str] | None = None,
    now: datetime | None = None,
) -> str:
    """The saved plan's text (JSON, sorted keys, 2-space indent, trailing newline)."""
    config = Path(config_path).resolve()
    plan_dir = Path(plan_path).resolve().parent
    document = {
        "kind": SAVED_PLAN_KIND,
        "format_version": SAVED_PLAN_FORMAT_VERSION,
        "rtconfig_version": __version__,
        "created_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": {
            "file": plan.config_file or os.fspath(config_path),
            "path": Path(os.path.relpath(config, plan_dir)).as_posix(),
            "absolute_path": str(config),
        },
        "envs": list(plan.envs),
        "templates_selected": list(selected) if selected else None,
        "inputs": fingerprint.to_json(),
        "templates": [
            {
                "name": t.name,
                "env": t.env,
                "endpoint": t.endpoint.value,
                "sha256": t.sha256,
                "lock_status": t.lock_status,
                "settings": _settings_json(t.settings),
                "body": t.body,
            }
            for t in plan.templates
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_saved_plan(
    plan_path: str | os.PathLike[str],
    plan: Plan,
    *,
    config_path: str | os.PathLike[str],
    environ: Mapping[str, str],
    sets: Sequence[str] = (),
    selected: Sequence[str] | None = None,
    env_from_variable: bool = False,
) -> None:
    """Write ``plan`` and the fingerprint of its inputs to ``plan_path`` (atomically, 0600)."""
    fingerprint = fingerprint_inputs(
        plan, config_path, environ, sets, env_from_variable=env_from_variable
    )
    text = dumps_saved_plan(
        plan, fingerprint, config_path=config_path, plan_path=plan_path, selected=selected
    )
    # Bodies hold no secret, but instructions may be proprietary: owner-only, like the audit log.
    atomic_write_text(Path(plan_path), text, mode=0o600)


def _settings_json(settings: Settings) -> dict[str, Any]:
    return {
        "endpoint": settings.endpoint.value,
        "base_url": settings.base_url,
        "api_key_env": settings.api_key_env,
        "organization": settings.organization,
        "project": settings.project,
        "timeout_s": settings.timeout_s,
        "max_retries": settings.max_retries,
        "concurrency": settings.concurrency,
    }


# --- reading ---------------------------------------------------------------------------------


def is_saved_plan(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a file written by ``plan --out`` (a TOML file never starts with
    ``{``, so a sessions.toml is told apart after reading one byte)."""
    try:
        raw = read_file(path, SAVED_PLAN)
        if raw[:64].lstrip()[:1] != b"{":
            return False
        data = json.loads(raw.decode("utf-8"))
    except (FileRefused, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("kind") == SAVED_PLAN_KIND


def read_saved_plan(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    *,
    check: bool = True,
) -> SavedPlan:
    """Read a saved plan; with ``check`` (the default), raise :class:`StalePlanError` unless
    every input is unchanged (see :func:`check_fresh`). ``environ=None`` means ``os.environ``.

    A file that is not a saved plan, or whose bodies were edited, is a :class:`ConfigError`.
    """
    plan_path = Path(path)
    shown = os.fspath(path)

    def fail(message: str) -> ConfigError:
        return ConfigError.single(message, file=shown)

    try:
        data = json.loads(read_file(plan_path, SAVED_PLAN).decode("utf-8"))
    except FileRefused as exc:
        if exc.problem is FileProblem.MISSING:
            raise fail("no such file") from None
        raise fail(f"cannot read the saved plan: it {exc.message}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise fail(f"not a saved plan: {exc}") from None
    except RecursionError:
        data = None
    # Its bodies nest no deeper than a template may (plus the plan's own levels).
    if data is None or deeper_than(data, MAX_NESTING_DEPTH + 3) is not None:
        raise fail(f"not a saved plan: it nests more than {MAX_NESTING_DEPTH} levels deep")
    if not isinstance(data, dict) or data.get("kind") != SAVED_PLAN_KIND:
        raise fail("not a saved plan (write one with `rtconfig plan FILE --out PLAN.json`)")
    if data.get("format_version") != SAVED_PLAN_FORMAT_VERSION:
        raise fail(
            f"saved plan format_version {data.get('format_version')!r} is not supported; "
            "make the plan again with this rtconfig"
        )
    try:
        saved = _parse(data, plan_path)
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(f"malformed saved plan ({type(exc).__name__}: {exc})") from None
    for t in saved.templates:
        if body_sha256(t.body) != t.sha256:
            raise fail(
                f"the body of {t.name}"
                + (f" [{t.env}]" if t.env else "")
                + " was edited after the plan was made; make the plan again"
            )
    if check:
        check_fresh(saved, os.environ if environ is None else environ)
    return saved


def _parse(data: Mapping[str, Any], plan_path: Path) -> SavedPlan:
    config = data["config"]
    candidate = (plan_path.resolve().parent / config["path"]).resolve()
    absolute = Path(config.get("absolute_path") or candidate)
    config_path = candidate if candidate.exists() or not absolute.exists() else absolute
    inputs = data["inputs"]
    fingerprint = Fingerprint(
        config_sha256=str(inputs["config_sha256"]),
        instructions_files=tuple(
            (str(item["path"]), str(item["sha256"])) for item in inputs["instructions_files"]
        ),
        variables=tuple(
            (str(item["name"]), None if item["sha256"] is None else str(item["sha256"]))
            for item in inputs["environment"]
        ),
        sets=tuple(str(s) for s in inputs["sets"]),
        rtconfig_version=str(inputs["rtconfig_version"]),
    )
    templates = []
    for item in data["templates"]:
        settings = item["settings"]
        if not isinstance(item["body"], dict):
            raise TypeError("a template's body must be an object")
        templates.append(
            SavedTemplate(
                name=str(item["name"]),
                env=item["env"],
                endpoint=Endpoint(item["endpoint"]),
                body=item["body"],
                sha256=str(item["sha256"]),
                settings=Settings(
                    endpoint=Endpoint(settings["endpoint"]),
                    base_url=str(settings["base_url"]),
                    api_key_env=str(settings["api_key_env"]),
                    organization=settings.get("organization"),
                    project=settings.get("project"),
                    timeout_s=float(settings["timeout_s"]),
                    max_retries=int(settings["max_retries"]),
                    concurrency=int(settings["concurrency"]),
                ),
                lock_status=item.get("lock_status"),
            )
        )
    selected = data.get("templates_selected")
    return SavedPlan(
        path=plan_path,
        config_path=config_path,
        config_file=str(config["file"]),
        envs=tuple(data["envs"]),
        selected=tuple(selected) if selected else None,
        templates=tuple(templates),
        fingerprint=fingerprint,
        created_at=str(data.get("created_at", "")),
    )


# --- staleness -------------------------------------------------------------------------------


def stale_reasons(
    saved: SavedPlan, environ: Mapping[str, str], sets: Sequence[str] | None = None
) -> list[str]:
    """What changed since ``saved`` was made, one phrase each; empty when it is fresh.

    ``sets``: the ``--set`` arguments given now, if any; None skips that comparison.
    """
    fp = saved.fingerprint
    reasons: list[str] = []
    shown = saved.config_file
    current = _file_sha256(saved.config_path)
    if current is None:
        reasons.append(f"{shown} no longer exists (looked for {saved.config_path})")
    elif current != fp.config_sha256:
        reasons.append(f"{shown} changed since the plan was made")
    for relative, sha in fp.instructions_files:
        now = _prompt_sha256(saved.config_path.parent, relative)
        if now is None:
            reasons.append(f"{relative} no longer exists")
        elif now != sha:
            reasons.append(f"{relative} changed since the plan was made")
    recorded = dict(fp.variables)
    for name, recorded_sha in fp.variables:
        value = environ.get(name)
        if value is None and recorded_sha is not None:
            reasons.append(f"{name} is no longer set")
        elif value is not None and recorded_sha is None:
            reasons.append(f"{name} is now set (it was not when the plan was made)")
        elif value is not None and _sha256_text(value) != recorded_sha:
            reasons.append(f"{name} changed")
    for name in sorted(environ):
        if name.upper().startswith(OVERRIDE_PREFIX) and name not in recorded:
            reasons.append(f"{name} is now set (it was not when the plan was made)")
    if sets is not None and tuple(sets) != fp.sets:
        reasons.append("the --set arguments differ from the plan's")
    if fp.rtconfig_version != __version__:
        reasons.append(
            f"rtconfig's version changed (the plan was made with {fp.rtconfig_version}, "
            f"this is {__version__})"
        )
    return reasons


def check_fresh(
    saved: SavedPlan, environ: Mapping[str, str], sets: Sequence[str] | None = None
) -> None:
    """Raise :class:`StalePlanError` naming every input that changed since ``saved`` was made."""
    reasons = stale_reasons(saved, environ, sets)
    if reasons:
        raise StalePlanError(
            f"saved plan {os.fspath(saved.path)} is stale: "
            + "; ".join(reasons)
            + "; make it again with `rtconfig plan --out`"
        )


def resolve_saved_plan(
    saved: SavedPlan, environ: Mapping[str, str] | None = None
) -> tuple[ResolvedTemplate, ...]:
    """The saved plan's templates resolved again from their (unchanged) inputs, in plan order.

    For callers that want provenance (``origin_of``) with the planned bodies. Raises
    :class:`StalePlanError` if an input changed or a body no longer matches the plan.
    """
    from rtconfig._config import load

    environ = os.environ if environ is None else environ
    check_fresh(saved, environ)
    config = load(saved.config_path)
    check = config.check(
        envs=list(saved.envs),
        templates=list(saved.selected) if saved.selected else None,
        environ=environ,
        sets=saved.fingerprint.sets,
    )
    check.raise_for_errors()
    by_key = {(t.name, t.env): t for t in check.templates}
    out: list[ResolvedTemplate] = []
    for planned in saved.templates:
        resolved = by_key.get((planned.name, planned.env))
        if resolved is None or resolved.sha256 != planned.sha256:
            raise StalePlanError(
                f"saved plan {os.fspath(saved.path)} is stale: {planned.name} no longer "
                "resolves to the planned body; make it again with `rtconfig plan --out`"
            )
        if resolved.settings != planned.settings:
            # Bodies are hashed, settings are not: an edited base_url would send the API key
            # wherever the editor likes. Settings must be what the unchanged inputs give.
            raise StalePlanError(
                f"saved plan {os.fspath(saved.path)}: the settings of {planned.name} (base_url, "
                "api_key_env, …) differ from what its inputs resolve to: the plan was edited; "
                "make it again with `rtconfig plan --out`"
            )
        out.append(resolved)
    return tuple(out)
