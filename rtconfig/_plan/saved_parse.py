"""Reading a saved plan's JSON, which is untrusted input: every field's type is checked, and
anything wrong is a :class:`~rtconfig._errors.ConfigError` naming where, never a crash.

Checks, in order: the document's shape and types; the seal (``plan_sha256``: any edit made by
hand shows); each body against its sha256; no (template, environment) twice; every record's
environment among the plan's; the fingerprint's variables limited to the names a plan may record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError
from rtconfig._origins import Origin
from rtconfig._plan.records import Path as KeyPath
from rtconfig._plan.records import PlanRecord, canonical_sha256, label, origin_from_json
from rtconfig._plan.saved import Fingerprint, SavedPlan, _may_fingerprint, _secret_names
from rtconfig._settings import SETTING_KEYS, Settings

__all__ = ["parse_document"]

Fail = Callable[[str], ConfigError]


class _Malformed(Exception):
    """A field of the wrong type or shape; the message names the field."""


def _get(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
        raise _Malformed(f"{where}{key} must be {_name(kind)}")
    return value


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
    names |= {float: "a number", type(None): "null", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in _types(kind))


def parse_document(data: dict[str, Any], plan_path: Path, fail: Fail) -> SavedPlan:
    """The saved plan in ``data`` (already known to be a saved plan of this format)."""
    try:
        saved = _parse(data, plan_path)
    except _Malformed as exc:
        raise fail(f"malformed saved plan: {exc}; make the plan again") from None
    sealed = {k: v for k, v in data.items() if k != "plan_sha256"}
    for record in saved.templates:
        if canonical_sha256(dict(record.body)) != record.body_sha256:
            raise fail(
                f"the body of {label(record.name, record.env)} was edited after the plan was "
                "made; make the plan again"
            )
    if data.get("plan_sha256") != canonical_sha256(sealed):
        raise fail("the plan was edited after it was made (its seal does not match); make it again")
    seen: set[tuple[str, str | None]] = set()
    for record in saved.templates:
        if record.key in seen:
            raise fail(f"{label(record.name, record.env)} is listed twice: the plan was edited")
        seen.add(record.key)
        if record.env not in saved.envs:
            raise fail(f"{label(record.name, record.env)} is not of the plan's environments")
    secrets = _secret_names(saved.templates)
    for name, _ in saved.fingerprint.variables:
        if not _may_fingerprint(name, secrets):
            raise fail(f"the plan's inputs name the variable {name!r}, which a plan never records")
    return saved


def _parse(data: Mapping[str, Any], plan_path: Path) -> SavedPlan:
    config = _get(data, "config", dict, "")
    relative = _get(config, "path", str, "config.")
    candidate = (plan_path.resolve().parent / relative).resolve()
    absolute_text = _get(config, "absolute_path", (str, type(None)), "config.")
    absolute = Path(absolute_text) if absolute_text else candidate
    config_path = candidate if candidate.exists() or not absolute.exists() else absolute
    envs = _get(data, "envs", list, "")
    if not all(env is None or isinstance(env, str) for env in envs):
        raise _Malformed("envs must be a list of strings or null")
    selected = _get(data, "templates_selected", (list, type(None)), "")
    if selected is not None and not all(isinstance(name, str) for name in selected):
        raise _Malformed("templates_selected must be a list of strings")
    items = _get(data, "templates", list, "")
    return SavedPlan(
        path=plan_path,
        config_path=config_path,
        config_file=_get(config, "file", str, "config."),
        envs=tuple(envs),
        selected=tuple(selected) if selected else None,
        templates=tuple(_record(item, f"templates[{i}].") for i, item in enumerate(items)),
        fingerprint=_fingerprint(_get(data, "inputs", dict, "")),
        created_at=str(data.get("created_at", "")),
    )


def _fingerprint(inputs: Mapping[str, Any]) -> Fingerprint:
    files = []
    for i, item in enumerate(_get(inputs, "instructions_files", list, "inputs.")):
        where = f"inputs.instructions_files[{i}]."
        files.append((_get(item, "path", str, where), _get(item, "sha256", str, where)))
    variables = []
    for i, item in enumerate(_get(inputs, "environment", list, "inputs.")):
        where = f"inputs.environment[{i}]."
        variables.append(
            (_get(item, "name", str, where), _get(item, "sha256", (str, type(None)), where))
        )
    sets = _get(inputs, "sets", list, "inputs.")
    if not all(isinstance(s, str) for s in sets):
        raise _Malformed("inputs.sets must be a list of strings")
    return Fingerprint(
        config_sha256=_get(inputs, "config_sha256", str, "inputs."),
        instructions_files=tuple(files),
        variables=tuple(variables),
        sets=tuple(sets),
        rtconfig_version=_get(inputs, "rtconfig_version", str, "inputs."),
    )


def _endpoint(value: Any, where: str) -> Endpoint:
    if not isinstance(value, str) or value not in Endpoint._value2member_map_:
        raise _Malformed(f"{where} must be one of {', '.join(e.value for e in Endpoint)}")
    return Endpoint(value)


def _record(item: Any, where: str) -> PlanRecord:
    if not isinstance(item, dict):
        raise _Malformed(f"{where.rstrip('.')} must be an object")
    status = _get(item, "lock_status", (str, type(None)), where)
    if status not in (None, "new", "changed", "unchanged"):
        raise _Malformed(f"{where}lock_status must be new, changed, unchanged or null")
    session_sha = _get(item, "session_sha256", (str, type(None)), where)
    return PlanRecord(
        name=_get(item, "name", str, where),
        env=_get(item, "env", (str, type(None)), where),
        endpoint=_endpoint(item.get("endpoint"), where + "endpoint"),
        settings=_settings(_get(item, "settings", dict, where), where + "settings."),
        body=_get(item, "body", dict, where),
        body_sha256=_get(item, "sha256", str, where),
        origins=_origins(_get(item, "origins", list, where), where + "origins"),
        lock_status=status,
        header=_origin(item.get("header"), where + "header") if item.get("header") else None,
        session_sha256=session_sha,
    )


def _origin(data: Any, where: str) -> Origin:
    if not isinstance(data, dict):
        raise _Malformed(f"{where} must be an object")
    try:
        return origin_from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise _Malformed(f"{where}: {exc}") from None


def _origins(items: list[Any], where: str) -> dict[KeyPath, Origin]:
    out: dict[KeyPath, Origin] = {}
    for i, item in enumerate(items):
        path = _get(item, "path", list, f"{where}[{i}].")
        if not path or not all(isinstance(p, str | int) and not isinstance(p, bool) for p in path):
            raise _Malformed(f"{where}[{i}].path must be a non-empty list of keys and indexes")
        out[tuple(path)] = _origin(item.get("origin"), f"{where}[{i}].origin")
    return out


def _settings(data: Mapping[str, Any], where: str) -> Settings:
    values: dict[str, Any] = {}
    for key, (kinds, _) in SETTING_KEYS.items():
        if key not in data:
            continue
        value = data[key]
        if value is None and key in ("organization", "project"):
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            raise _Malformed(f"{where}{key} must be {_name(kinds)}")
        values[key] = value
    if "endpoint" in values:
        values["endpoint"] = _endpoint(values["endpoint"], where + "endpoint")
    if "timeout_s" in values:
        values["timeout_s"] = float(values["timeout_s"])
    return Settings(**values)
