"""Planning (pure): resolved templates and the lock file's data become a :class:`Plan`.

A plan says, for each (template, environment), what ``apply`` would send and how each leaf of the
body compares with the spec's documented default (``override`` or ``redundant``), and how the
whole body compares with the lock file (``new``, ``changed`` with a field-level diff, or
``unchanged``; locked pairs no longer in the file are ``removed``). Arrays are leaves; paths are
template paths (``audio.output.voice``, ``expires_after.seconds``).

No I/O, no printing: :mod:`rtconfig._plan.render` turns a plan into text or JSON without making
any decision of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from rtconfig._endpoints import Endpoint, template_view
from rtconfig._errors import Diagnostic
from rtconfig._origins import Origin, OriginKind
from rtconfig._plan.drift import Drift, DriftKind, drift
from rtconfig._plan.lock import Lock, LockEntry
from rtconfig._plan.records import (
    ChangeAction,
    FieldChange,
    LockStatus,
    Path,
    Plan,
    PlannedField,
    PlanRecord,
)
from rtconfig._resolver import ResolvedTemplate, body_hashes
from rtconfig._sources import iter_leaves
from rtconfig._values import canonical_json, same_value

__all__ = ["diff_fields", "make_plan"]


# --- values and leaves -----------------------------------------------------------------------


def diff_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[tuple[Path, ChangeAction, Any, Any], ...]:
    """Leaf-level differences between two template views, in ``after``'s reading order.

    A removed leaf is shown next to its closest surviving relative (after the last leaf sharing
    the longest path prefix), and the old leaves of a table replaced by a value
    (``turn_detection = null``) just before that value; ``before``'s own order does not matter
    (a lock file's keys are sorted).
    """
    old = dict(iter_leaves(before))
    new = dict(iter_leaves(after))
    order = list(new)
    ahead: dict[int, list[Path]] = {}
    behind: dict[int, list[Path]] = {}
    tail: list[Path] = []
    for gone in (path for path in old if path not in new):
        replaced = next(
            (i for i, path in enumerate(order) if path not in old and _overlaps(path, gone)), None
        )
        if replaced is not None:
            ahead.setdefault(replaced, []).append(gone)
            continue
        best, best_length = None, 0
        for i, path in enumerate(order):
            length = _common(path, gone)
            if length and length >= best_length:
                best, best_length = i, length
        (behind.setdefault(best, []) if best is not None else tail).append(gone)
    out: list[tuple[Path, ChangeAction, Any, Any]] = []
    for i, path in enumerate(order):
        out.extend((gone, "remove", old[gone], None) for gone in ahead.get(i, ()))
        value = new[path]
        if path not in old:
            out.append((path, "add", None, value))
        elif canonical_json(old[path]) != canonical_json(value):
            out.append((path, "update", old[path], value))
        out.extend((gone, "remove", old[gone], None) for gone in behind.get(i, ()))
    out.extend((gone, "remove", old[gone], None) for gone in tail)
    return tuple(out)


def _common(a: Path, b: Path) -> int:
    """The length of the longest common prefix of two paths."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _overlaps(a: Path, b: Path) -> bool:
    """One path is the other or lies under it."""
    return _common(a, b) == min(len(a), len(b))


# --- planning --------------------------------------------------------------------------------


def _fields(resolved: ResolvedTemplate, view: Mapping[str, Any]) -> tuple[PlannedField, ...]:
    """Every leaf of ``view`` with its default and origin (one walk: plans can be large)."""
    records = resolved.fields

    def origin(path: Path) -> Origin:
        record = records.get(path)  # nearly always exact; origin_of searches upwards
        return record.origin if record is not None else resolved.origin_of(path)

    return _walk_fields(resolved.endpoint, view, origin)


def with_fields(record: PlanRecord) -> PlanRecord:
    """``record`` with its fields compared with the spec's defaults again: a saved plan keeps
    each record's body and origins, not that comparison (``rtconfig show`` needs it)."""
    if record.fields:
        return record

    def origin(path: Path) -> Origin:
        found = record.origin_of(path)
        return found if found is not None else Origin(OriginKind.SET)

    view = template_view(record.endpoint, dict(record.body))
    return replace(record, fields=_walk_fields(record.endpoint, view, origin))


def _walk_fields(
    endpoint: Endpoint, view: Mapping[str, Any], origin_of: Callable[[Path], Origin]
) -> tuple[PlannedField, ...]:
    from rtconfig._models import defaults_for  # the models are a heavy import; load on demand

    defaults: Mapping[Any, Any] = defaults_for(endpoint, view)
    out: list[PlannedField] = []
    append = out.append

    def walk(table: Mapping[str, Any], prefix: Path) -> None:
        for key, value in table.items():
            path = (*prefix, key)
            if isinstance(value, dict) and value:
                walk(value, path)
                continue
            origin = origin_of(path)
            if path in defaults:
                default = defaults[path]
                append(PlannedField(path, value, default, True, origin, same_value(value, default)))
            else:
                append(PlannedField(path, value, None, False, origin))

    walk(view, ())
    return tuple(out)


def _changes(
    resolved: ResolvedTemplate, view: Mapping[str, Any], found: Drift | None
) -> tuple[LockStatus, tuple[FieldChange, ...]]:
    if found is None:
        return "unchanged", ()
    if found.kind is DriftKind.NEW or found.locked is None:
        return "new", ()
    locked = found.locked
    changes: list[FieldChange] = []
    if found.kind is DriftKind.ENDPOINT:
        changes.append(
            FieldChange(
                ("endpoint",),
                "update",
                locked.endpoint.value,
                resolved.endpoint.value,
                resolved.origin_of(("endpoint",)),
            )
        )
    old_view = template_view(locked.endpoint, dict(locked.body))
    for path, action, before, after in diff_fields(old_view, view):
        origin = None if action == "remove" else resolved.origin_of(path)
        changes.append(FieldChange(path, action, before, after, origin))
    return "changed", tuple(changes)


def _record(template: ResolvedTemplate) -> PlanRecord:
    body_hash, session_hash = body_hashes(template.body)
    if template.endpoint is not Endpoint.CLIENT_SECRETS:
        return PlanRecord.from_resolved(template, body_sha256=body_hash)
    return PlanRecord.from_resolved(template, body_sha256=body_hash, session_sha256=session_hash)


def make_plan(
    resolved: Iterable[ResolvedTemplate],
    lock: Lock | None = None,
    *,
    envs: Sequence[str | None] = (None,),
    selected: Collection[str] | None = None,
    config_file: str | None = None,
    lock_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | None = None,
    warnings: Sequence[Diagnostic] = (),
) -> Plan:
    """Plan ``resolved`` (the valid templates of ``envs``) against ``lock`` (None: no lock file).

    Locked pairs of ``envs`` that are not planned are ``removed``, unless ``selected`` limits the
    plan to some templates, in which case only locked pairs of those templates can be.
    """
    templates = list(resolved)
    # sha256 is computed on each access: once is enough, with the session's in the same pass
    records = [_record(t) for t in templates]
    found: dict[tuple[str, str | None], Drift] = {}
    removed: tuple[LockEntry, ...] = ()
    if lock is not None:
        drifts = drift(
            records,
            lock,
            removable=lambda e: e.env in envs and (selected is None or e.name in selected),
        )
        found = {(d.template or "", d.env): d for d in drifts if d.kind is not DriftKind.REMOVED}
        removed = tuple(d.locked for d in drifts if d.kind is DriftKind.REMOVED and d.locked)
    entries = lock.by_key() if lock is not None else {}
    out: list[PlanRecord] = []
    for template, record in zip(templates, records, strict=True):
        view = template_view(template.endpoint, template.body)
        status: LockStatus | None = None
        changes: tuple[FieldChange, ...] = ()
        locked = entries.get(record.key)
        if lock is not None:
            status, changes = _changes(template, view, found.get(record.key))
        out.append(
            replace(
                record,
                fields=_fields(template, view),
                lock_status=status,
                changes=changes,
                locked_sha256=locked.body_sha256 if locked is not None else None,
            )
        )
    return Plan(
        templates=tuple(out),
        removed=removed,
        locked=lock is not None,
        envs=tuple(envs),
        config_file=config_file,
        lock_file=lock_file,
        environ=environ,
        config_path=config_path,
        warnings=tuple(warnings),
    )
