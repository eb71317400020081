"""``rtconfig migrate`` (CONTRACT §9): a sessions.toml's beta templates rewritten for GA.

The file is edited with tomlkit, so comments, key order and formatting stay wherever a key does
not change. Every layer is rewritten by :mod:`rtconfig._ga_mapping` for the endpoint of the
template(s) it applies to: template tables, the ``"*"`` and per-template environment overlays,
their ``null``/``unset`` paths, ``[api]``/``[environments.E.api]``/per-template ``endpoint``.
Then the result is resolved: a template still without ``type``, or with a turn detection that
names no type, gets it written where the template (or its VAD table) is defined, and the result
must validate. What cannot be carried over is reported at its ``file:line``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array, InlineTable, Table

from rtconfig import _toml_edit as toml_edit
from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._errors import Diagnostic
from rtconfig._ga_mapping import RENAMES, SessionKind, kind_of, map_path, map_value
from rtconfig._keys import format_path, label
from rtconfig._lifecycle import replacement_for
from rtconfig._loader import Document, parse_document
from rtconfig._overrides import ENV_PREFIX
from rtconfig._resolver import Resolver
from rtconfig._sources import Sources, read_sources
from rtconfig._validator import BETA_ONLY_KEYS

__all__ = ["Migration", "migrate_text"]

GA = Endpoint.CLIENT_SECRETS
BETA = (Endpoint.SESSIONS, Endpoint.TRANSCRIPTION_SESSIONS)
TomlPath = toml_edit.TomlPath
_META = ("extends", "abstract", "description", "endpoint", "instructions_file", "expires_after")


@dataclass
class Migration:
    """The outcome: the new text, and every warning (lossy steps) or error (does not validate)."""

    file: str
    original: str
    migrated: str
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.migrated != self.original

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.migrated.splitlines(keepends=True),
                fromfile=self.file,
                tofile=self.file,
            )
        )


def migrate_text(
    text: str,
    file: str,
    *,
    base_dir: Path,
    models: bool = False,
    environ: Mapping[str, str] | None = None,
    lock_path: Path | None = None,
) -> Migration:
    """Migrate the sessions.toml ``text`` (shown as ``file``); raises ConfigError on bad TOML."""
    document = parse_document(text, file)
    sources = read_sources(document, base_dir)
    result = Migration(file, text, text)
    endpoints = {name: _endpoint_of(sources, name) for name in sources.templates}
    beta = {name: ep for name, ep in endpoints.items() if ep in BETA}
    tdoc = tomlkit.parse(text)
    notes = _Notes(file, document)
    if beta:
        _rewrite(tdoc, sources, beta, notes)
    if models:
        _adopt_models(tdoc, sources, notes)
    migrated = tomlkit.dumps(tdoc)
    if beta:
        migrated = _fill_types(migrated, file, base_dir, beta)
    result.migrated = migrated
    result.diagnostics.extend(notes.items)
    if beta:
        result.diagnostics.extend(_outside_notes(beta, environ or {}, lock_path))
    if result.changed:
        result.diagnostics.extend(_verify(migrated, file, base_dir, environ or {}))
    return result


# --- which templates are beta ------------------------------------------------------------------


def _endpoint_of(sources: Sources, name: str) -> Endpoint:
    """The endpoint ``name`` is minted at in the default environment; a template written for
    v1's default (beta keys, no ``type``, no ``endpoint`` anywhere) counts as beta."""
    own = _inherited(sources, name, "endpoint")
    if isinstance(own, str) and own in Endpoint._value2member_map_:
        return Endpoint(own)
    api = sources.api.get("endpoint")
    if isinstance(api, str) and api in Endpoint._value2member_map_:
        return Endpoint(api)
    keys = _chain_keys(sources, name)
    if "type" not in keys and keys & BETA_ONLY_KEYS:
        return Endpoint.SESSIONS
    return GA


def _inherited(sources: Sources, name: str, key: str, seen: frozenset[str] = frozenset()) -> Any:
    template = sources.templates.get(name)
    if template is None or name in seen:
        return None
    if key in template.layer.values:
        return template.layer.values[key]
    for parent in reversed(template.extends):  # later parents win
        found = _inherited(sources, parent, key, seen | {name})
        if found is not None:
            return found
    return None


def _chain_keys(sources: Sources, name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    template = sources.templates.get(name)
    if template is None or name in seen:
        return set()
    keys = set(template.layer.values)
    for parent in template.extends:
        keys |= _chain_keys(sources, parent, seen | {name})
    return keys


# --- notes at file:line ------------------------------------------------------------------------


class _Notes:
    def __init__(self, file: str, document: Document) -> None:
        self.file, self.document = file, document
        self.items: list[Diagnostic] = []

    def error(self, at: TomlPath, message: str, template: str | None = None) -> None:
        self.warn(at, message, template, severity="error", code=C.MIGRATE_REFUSED)

    def warn(
        self,
        at: TomlPath,
        message: str,
        template: str | None = None,
        severity: Any = "warning",
        code: C = C.MIGRATE_LOSSY,
    ) -> None:
        found = self.document.position(at)
        self.items.append(
            Diagnostic(
                severity,
                message,
                code=code,
                file=self.file,
                line=found[0] if found else None,
                col=found[1] if found else None,
                template=template,
                path=format_path(at[2:]) if at[:1] == ("templates",) else format_path(at),
            )
        )


# --- rewriting layers --------------------------------------------------------------------------


def _rewrite(tdoc: Any, sources: Sources, beta: Mapping[str, Endpoint], notes: _Notes) -> None:
    api = tdoc.get("api")
    if isinstance(api, toml_edit.TABLE_LIKE) and api.get("endpoint") in [e.value for e in BETA]:
        toml_edit.set_keeping_trivia(api, "endpoint", GA.value)
    templates = tdoc.get("templates")
    replaced = _shared_formats(tdoc)
    for name, endpoint in beta.items():
        table: Any = templates.get(name) if templates is not None else None
        if _refused(table, ("templates", name), notes, name):
            continue
        kind = kind_of(endpoint)
        at: TomlPath = ("templates", name)
        _rewrite_layer(table, kind, at, notes, name, replaced)
        if not sources.templates[name].extends and "type" not in table:
            toml_edit.insert(table, _first_field_index(table), "type", kind)
    kinds = {kind_of(ep) for ep in beta.values()}
    for env, env_table in toml_edit.tables(tdoc.get("environments")):
        env_api = env_table.get("api")
        if isinstance(env_api, toml_edit.TABLE_LIKE) and env_api.get("endpoint") in [
            e.value for e in BETA
        ]:
            toml_edit.set_keeping_trivia(env_api, "endpoint", GA.value)
        for target, overlay in toml_edit.tables(env_table.get("templates")):
            at = ("environments", env, "templates", target)
            if (target == "*" or target in beta) and _refused(overlay, at, notes, target):
                continue
            if target == "*":
                star: SessionKind = "transcription" if kinds == {"transcription"} else "realtime"
                _rewrite_layer(overlay, star, at, notes, None)
            elif target in beta:
                _rewrite_layer(overlay, kind_of(beta[target]), at, notes, target, replaced)


def _refused(table: Any, at: TomlPath, notes: _Notes, template: str | None) -> bool:
    """A layer that is not one table (top-level dotted keys, or parts with other tables between
    them: tomlkit's out-of-order proxy) is refused with an error: its keys are rewritten in
    place, which needs the one table that holds them."""
    if isinstance(table, Table | InlineTable):
        return False
    header = ".".join(p if _BARE_KEY.fullmatch(p) else json.dumps(p) for p in map(str, at))
    what = f"template {at[1]!r}" if at[0] == "templates" else f"the overlay [{header}]"
    notes.error(
        at,
        f"{what} is written with dotted keys outside its own table, or in parts with other "
        f"tables between them; migrate rewrites [{header}] tables kept in one piece and inline "
        f"tables only: move its keys under one [{header}] header, its sub-tables right after "
        "it, and run migrate again",
        None if template == "*" else template,
    )
    return True


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_FORMATS = ("input_audio_format", "output_audio_format")


def _shared_formats(tdoc: Any) -> frozenset[str]:
    """The beta format keys set by more than one layer. A beta format is a string, so a higher
    layer replaces a lower one; a GA format is a table, which would *merge*
    (``{type = "audio/pcmu"}`` over ``{type = "audio/pcm", rate = 24000}`` keeps the rate):
    such a layer must unset the lower one first."""
    layers = [table for _, table in toml_edit.tables(tdoc.get("templates"))]
    for _, env_table in toml_edit.tables(tdoc.get("environments")):
        layers.extend(table for _, table in toml_edit.tables(env_table.get("templates")))
    return frozenset(k for k in _FORMATS if sum(k in layer for layer in layers) > 1)


def _first_field_index(table: Any) -> int:
    """Where ``type`` goes: after the leading meta-keys (description, extends, …)."""
    index = 0
    for position, key in enumerate(table.value.body):
        name = key[0]
        if name is None:
            continue
        if name.key not in _META:
            return position
        index = position + 1
    return index


def _rewrite_layer(
    table: Any,
    kind: SessionKind,
    at: TomlPath,
    notes: _Notes,
    template: str | None,
    replaced: frozenset[str] = frozenset(),
) -> None:
    renames = RENAMES[kind]
    replacing = [
        ".".join(renames[k]) for k in _FORMATS if k in replaced and k in table and k in renames
    ]
    if table.get("endpoint") in [e.value for e in BETA]:
        toml_edit.set_keeping_trivia(table, "endpoint", GA.value)
    for key in ("null", "unset"):
        if key in table:
            _rewrite_paths(table, key, kind, (*at, key), notes, template)
    moved_tables: list[tuple[str, Table]] = []
    for key in list(table.keys()):
        value = table[key]
        if key in _dropped(kind):
            notes.warn((*at, key), _drop_note(key, value, kind), template)
            table.remove(key)
            continue
        mapped, note = map_value(key, toml_edit.plain(value), kind)
        if note is not None:
            notes.warn((*at, key), note, template)
        new_path = renames.get(key)
        if isinstance(value, Table) and not value.is_super_table() and new_path is not None:
            moved_tables.append((key, value))
            continue
        if mapped != toml_edit.plain(value):
            toml_edit.replace_key(
                table, key, new_path or (key,), toml_edit.item_like(mapped, value)
            )
        elif new_path is not None:
            table.value._replace(key, tomlkit.key(list(new_path)), value)
    for key, value in moved_tables:
        table.remove(key)
        toml_edit.append_nested(table, renames[key], value)
    if replacing and at[-1:] != ("*",):  # "*" is the lowest layer: nothing under it to unset
        _unset_first(table, replacing)


def _unset_first(table: Any, paths: list[str]) -> None:
    """Add ``paths`` to the layer's ``unset`` (applied before its values)."""
    current = toml_edit.plain(table.get("unset")) if "unset" in table else []
    if not isinstance(current, list):
        return
    wanted = [*current, *(p for p in paths if p not in current)]
    if wanted == current:
        return
    if "unset" in table:
        toml_edit.replace_key(
            table, "unset", ("unset",), toml_edit.item_like(wanted, table["unset"])
        )
    else:
        toml_edit.insert(table, _first_field_index(table), "unset", toml_edit.inline(wanted))


def _dropped(kind: SessionKind) -> Mapping[str, str]:
    from rtconfig._ga_mapping import DROPPED

    return DROPPED[kind]


def _drop_note(key: str, value: Any, kind: SessionKind) -> str:
    return f"{key} = {json.dumps(toml_edit.plain(value))}: {_dropped(kind)[key]}"


def _rewrite_paths(
    table: Any, key: str, kind: SessionKind, at: TomlPath, notes: _Notes, template: str | None
) -> None:
    old = table[key]
    if not isinstance(old, Array):
        return
    kept: list[str] = []
    for entry in toml_edit.plain(old):
        if not isinstance(entry, str):
            kept.append(entry)
            continue
        mapped = map_path(tuple(entry.split(".")), kind)
        if mapped is None:
            notes.warn(at, f"{key} path {entry!r} names a dropped beta field; removed", template)
        else:
            kept.append(".".join(mapped))
    if kept == toml_edit.plain(old):
        return
    if not kept:
        table.remove(key)
        return
    toml_edit.replace_key(table, key, (key,), toml_edit.item_like(kept, old))


# --- --models ----------------------------------------------------------------------------------


def _adopt_models(tdoc: Any, sources: Sources, notes: _Notes) -> None:
    layers: list[tuple[TomlPath, Any, str | None]] = [
        (("templates", name), table, name)
        for name, table in toml_edit.tables(tdoc.get("templates"))
    ]
    for env, env_table in toml_edit.tables(tdoc.get("environments")):
        for target, overlay in toml_edit.tables(env_table.get("templates")):
            layers.append((("environments", env, "templates", target), overlay, None))
    for at, table, template in layers:
        model = table.get("model")
        if isinstance(toml_edit.plain(model), str):
            replacement = replacement_for("model", toml_edit.plain(model))
            if replacement is not None:
                toml_edit.set_keeping_trivia(table, "model", replacement)
        holder, path = _transcription_of(table)
        if holder is not None:
            name = toml_edit.plain(holder.get("model"))
            if isinstance(name, str) and replacement_for("transcription_model", name) is None:
                from rtconfig._lifecycle import LIFECYCLE

                if any(r.name == name for r in LIFECYCLE):
                    notes.warn(
                        (*at, *path, "model"),
                        f"transcription model {name!r} has an announced shutdown but OpenAI "
                        "names no replacement; left as is (current: 'gpt-transcribe', "
                        "'gpt-live-transcribe')",
                        template,
                    )


def _transcription_of(table: Any) -> tuple[Any, TomlPath]:
    for path in (("audio", "input", "transcription"), ("input_audio_transcription",)):
        node = table
        for part in path:
            node = node.get(part) if isinstance(node, toml_edit.TABLE_LIKE) else None
        if isinstance(node, toml_edit.TABLE_LIKE):
            return node, path
    return None, ()


# --- filling in type and VAD type, via resolution ----------------------------------------------


def _fill_types(text: str, file: str, base_dir: Path, beta: Mapping[str, Endpoint]) -> str:
    """Write ``type`` where a migrated template still resolves without one, and
    ``type = "server_vad"`` in a turn detection that names none (the API's default)."""
    for _ in range(4):
        document = parse_document(text, file)
        sources = read_sources(document, base_dir)
        tdoc = tomlkit.parse(text)
        changed = False
        for env in [None, *sources.environments]:
            resolver = Resolver(sources, env, {}, {})
            for name in beta:
                resolution = resolver.resolve(name)
                if resolution is None:
                    continue
                changed |= _fill_one(tdoc, name, beta[name], resolution)
        if not changed:
            return text
        text = tomlkit.dumps(tdoc)
    return text


def _fill_one(tdoc: Any, name: str, endpoint: Endpoint, resolution: Any) -> bool:
    values = resolution.values
    table = toml_edit.navigate(tdoc, ("templates", name))
    if not isinstance(table, Table | InlineTable):
        return False  # reported by _rewrite
    if "type" not in values:
        toml_edit.insert(table, _first_field_index(table), "type", kind_of(endpoint))
        return True
    detection = values.get("audio", {}).get("input", {}).get("turn_detection")
    if not isinstance(detection, dict) or "type" in detection:
        return False
    prefix = ("audio", "input", "turn_detection")
    for leaf, record in resolution.records.items():
        if leaf[:3] == prefix and record.origin.key is not None:
            key = record.origin.key
            table = toml_edit.navigate(tdoc, key[: len(key) - (len(leaf) - 3)])
            if isinstance(table, Table | InlineTable) and "type" not in table:
                toml_edit.insert(table, 0, "type", "server_vad")
                return True
    return False


# --- what lives outside the file, and the final check ------------------------------------------


def _outside_notes(
    beta: Mapping[str, Endpoint], environ: Mapping[str, str], lock_path: Path | None
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_var = {name.upper().replace("-", "_"): name for name in beta}
    for var in sorted(environ):
        if not var.upper().startswith(ENV_PREFIX):
            continue
        parts = var[len(ENV_PREFIX) :].split("__")
        name = by_var.get(parts[0].upper().replace("-", "_"))
        if name is None or len(parts) < 2:
            continue
        path = tuple(p.lower() for p in parts[1:])
        mapped = map_path(path, kind_of(beta[name]))
        if mapped == path:
            continue
        if mapped is None:
            advice = "it has no GA equivalent: unset it"
        else:
            advice = f"rename it {ENV_PREFIX}{parts[0]}__{'__'.join(p.upper() for p in mapped)}"
        out.append(
            Diagnostic(
                "warning",
                f"this variable sets the beta path {'.'.join(path)!r}; {advice}",
                code=C.MIGRATE_LOSSY,
                file=var,
                template=name,
            )
        )
    out.extend(_lock_notes(beta, lock_path))
    return out


def _lock_notes(beta: Mapping[str, Endpoint], lock_path: Path | None) -> list[Diagnostic]:
    if lock_path is None or not lock_path.is_file():
        return []
    try:
        text = lock_path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return []
    entries = data.get("templates") if isinstance(data, dict) else None
    out: list[Diagnostic] = []
    lines = text.splitlines()
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("name", entry.get("template")) not in beta:
            continue
        if entry.get("endpoint") not in [e.value for e in BETA]:
            continue
        name = entry.get("name", entry.get("template"))
        needle = json.dumps(name)
        line = next((i + 1 for i, text_line in enumerate(lines) if needle in text_line), None)
        out.append(
            Diagnostic(
                "warning",
                f"the lock entry of {label(repr(name), entry.get('env') or None)} records a "
                "beta body; run `rtconfig lock` after migrating",
                code=C.MIGRATE_LOSSY,
                file=str(lock_path),
                line=line,
                template=str(name),
            )
        )
    return out


def _verify(text: str, file: str, base_dir: Path, environ: Mapping[str, str]) -> list[Diagnostic]:
    """The migrated file must validate; its errors (and any beta warning left) are errors."""
    from rtconfig._config import Config

    document = parse_document(text, file)
    config = Config(read_sources(document, base_dir))
    check = config.check(environ={k: v for k, v in environ.items() if k == "RTCONFIG_TODAY"})
    out = [
        Diagnostic(
            "error",
            "after migration: " + d.message,
            code=d.code,
            file=d.file,
            line=d.line,
            col=d.col,
            template=d.template,
            env=d.env,
            path=d.path,
        )
        for d in check.diagnostics
        if d.severity == "error"
    ]
    out.extend(
        Diagnostic(
            "error",
            "still on a beta endpoint after migration: " + d.message,
            code=C.BETA_ENDPOINT,
            file=d.file,
            line=d.line,
            template=d.template,
            env=d.env,
        )
        for d in check.warnings
        if d.code is C.BETA_ENDPOINT
    )
    return out
