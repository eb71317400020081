"""Saved plans (``rtconfig plan --out PLAN.json``): a plan as data, sealed to its inputs.

A saved plan holds every record as ``apply`` needs it (endpoint, settings, exact body, body and
session hashes, and the origin of every leaf, so that an API error still points at a TOML line),
and a fingerprint of every input that produced it: the sha256 of the TOML's bytes and of each
``instructions_file`` a body uses, the names and value hashes of the variables that influence
resolution (every ``RTCONFIG__*``, ``OPENAI_BASE_URL``, and ``RTCONFIG_ENV`` when it chose the
environment), the ``--set`` arguments and rtconfig's version. ``apply PLAN.json`` never resolves
templates again: it checks freshness by fingerprint only, and sends exactly what was reviewed.

Saved plans are untrusted input (they travel between CI jobs). Reading one refuses wrong types,
duplicated records, records of environments the plan was not made for, edited bodies, an edited
file (``plan_sha256`` seals the document), settings that differ from what the TOML says (the
``base_url`` receives the API key), and template names the TOML does not have (a plan made from
another file and relabelled). A saved plan never holds a secret, nor a hash of one: the key is
named (``settings.api_key_env``), and the fingerprint's variables are limited to the names above
(so the list cannot be edited into an oracle that confirms guesses of the key).
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

from rtconfig._codes import DiagnosticCode as C
from rtconfig._environ import process_environ
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
from rtconfig._origins import OriginKind
from rtconfig._plan.lock import atomic_write_text
from rtconfig._plan.records import Plan, PlanRecord, canonical_sha256, label
from rtconfig._settings import Settings
from rtconfig._version import __version__

__all__ = [
    "SAVED_PLAN_FORMAT_VERSION",
    "SAVED_PLAN_KIND",
    "Fingerprint",
    "SavedPlan",
    "check_fresh",
    "dumps_saved_plan",
    "fingerprint_inputs",
    "is_saved_plan",
    "read_saved_plan",
    "stale_reasons",
    "write_saved_plan",
]

SAVED_PLAN_KIND = "rtconfig-plan"
SAVED_PLAN_FORMAT_VERSION = 2  # 2: records carry their origins and the document is sealed

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


def _may_fingerprint(name: str, secret_names: set[str]) -> bool:
    """Only the variables that influence resolution, and never one naming a key."""
    influencing = name.upper().startswith(OVERRIDE_PREFIX) or name in (
        BASE_URL_VARIABLE,
        ENV_VARIABLE,
    )
    return influencing and name not in secret_names


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
class SavedPlan:
    """A plan read back from ``plan --out``: its records and the fingerprint of its inputs."""

    path: Path
    config_path: Path
    config_file: str
    envs: tuple[str | None, ...]
    selected: tuple[str, ...] | None
    templates: tuple[PlanRecord, ...]
    fingerprint: Fingerprint
    created_at: str

    def plan(self, environ: Mapping[str, str] | None = None) -> Plan:
        """The saved records as a :class:`Plan` (what :func:`rtconfig.apply` takes)."""
        return Plan(
            templates=self.templates,
            envs=self.envs,
            config_file=self.config_file,
            environ=environ,
            config_path=os.fspath(self.config_path),
        )


# --- making ----------------------------------------------------------------------------------


def _secret_names(records: Sequence[PlanRecord]) -> set[str]:
    return {"OPENAI_API_KEY"} | {t.settings.api_key_env for t in records}


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
        for origin in template.origins.values():
            if origin.kind is OriginKind.FILE and origin.source and origin.source not in files:
                sha = _prompt_sha256(config.parent, origin.source)
                if sha is not None:
                    files[origin.source] = sha
    secrets = _secret_names(plan.templates)
    names = sorted(v for v in environ if v.upper().startswith(OVERRIDE_PREFIX))
    names.append(BASE_URL_VARIABLE)
    if env_from_variable:
        names.append(ENV_VARIABLE)
    variables = tuple(
        (name, _sha256_text(environ[name]) if name in environ else None)
        for name in names
        if _may_fingerprint(name, secrets)
    )
    return Fingerprint(
        config_sha256=_file_sha256(config) or "",
        instructions_files=tuple(sorted(files.items())),
        variables=variables,
        sets=tuple(sets),
        rtconfig_version=__version__,
    )


def _record_json(t: PlanRecord) -> dict[str, Any]:
    return {
        "name": t.name,
        "env": t.env,
        "endpoint": t.endpoint.value,
        "sha256": t.body_sha256,
        "session_sha256": t.session_sha256,
        "lock_status": t.lock_status,
        "settings": _settings_json(t.settings),
        "body": t.body,
        "header": t.header.to_json() if t.header is not None else None,
        "origins": [
            {"path": list(path), "origin": origin.to_json()} for path, origin in t.origins.items()
        ],
    }


def dumps_saved_plan(
    plan: Plan,
    fingerprint: Fingerprint,
    *,
    config_path: str | os.PathLike[str],
    plan_path: str | os.PathLike[str],
    selected: Sequence[str] | None = None,
    now: datetime | None = None,
) -> str:
    """The saved plan's text (JSON, sorted keys, 2-space indent, trailing newline), sealed by
    ``plan_sha256`` (the hash of the document without it)."""
    config = Path(config_path).resolve()
    plan_dir = Path(plan_path).resolve().parent
    document: dict[str, Any] = {
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
        "templates": [_record_json(t) for t in plan.templates],
    }
    document["plan_sha256"] = canonical_sha256(document)
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
    every input is unchanged and the settings are the TOML's (see :func:`check_fresh`).
    ``environ=None`` means ``os.environ``.

    A file that is not a saved plan, is malformed, or was edited is a :class:`ConfigError`.
    """
    from rtconfig._plan.saved_parse import parse_document

    plan_path = Path(path)
    shown = os.fspath(path)

    def fail(message: str) -> ConfigError:
        return ConfigError.single(message, code=C.INVALID_PLAN_FILE, file=shown)

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
    if data is None or deeper_than(data, MAX_NESTING_DEPTH + 4) is not None:
        raise fail(f"not a saved plan: it nests more than {MAX_NESTING_DEPTH} levels deep")
    if not isinstance(data, dict) or data.get("kind") != SAVED_PLAN_KIND:
        raise fail("not a saved plan (write one with `rtconfig plan FILE --out PLAN.json`)")
    if data.get("format_version") != SAVED_PLAN_FORMAT_VERSION:
        raise fail(
            f"saved plan format_version {data.get('format_version')!r} is not supported; "
            "make the plan again with this rtconfig"
        )
    saved = parse_document(data, plan_path, fail)
    if check:
        check_fresh(saved, process_environ() if environ is None else environ)
    return saved


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
    """Raise :class:`StalePlanError` naming every input that changed since ``saved`` was made;
    then check that the plan's settings and template names are the (unchanged) TOML's."""
    reasons = stale_reasons(saved, environ, sets)
    if reasons:
        raise StalePlanError(
            f"saved plan {os.fspath(saved.path)} is stale: "
            + "; ".join(reasons)
            + "; make it again with `rtconfig plan --out`"
        )
    _check_against_config(saved, environ)


def _check_against_config(saved: SavedPlan, environ: Mapping[str, str]) -> None:
    """Bodies are hashed, settings are not: an edited ``base_url`` would send the API key
    wherever the editor likes. The TOML is unchanged (its hash matched), so its ``[api]``
    settings and template names are read again — not its templates resolved — and compared."""
    from rtconfig._config import load
    from rtconfig._resolver import resolve_settings

    sources = load(saved.config_path).sources
    settings: dict[str | None, Settings] = {}
    for record in saved.templates:
        template = sources.templates.get(record.name)
        if template is None or template.abstract:
            raise StalePlanError(
                f"saved plan {os.fspath(saved.path)}: {saved.config_file} has no mintable "
                f"template {record.name!r}: the plan was made from another file or edited; "
                "make it again with `rtconfig plan --out`"
            )
        if record.env not in settings:
            settings[record.env] = resolve_settings(sources, record.env, environ)[0]
        if settings[record.env] != record.settings:
            raise StalePlanError(
                f"saved plan {os.fspath(saved.path)}: the settings of "
                f"{label(record.name, record.env)} (base_url, api_key_env, …) differ from what "
                "its inputs resolve to: the plan was edited; make it again with "
                "`rtconfig plan --out`"
            )
