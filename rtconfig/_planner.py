"""Planning: resolved templates (and the lock file's data) become a :class:`Plan`, plain data.

A plan says, for each (template, environment), what ``apply`` would send and how each leaf of the
body compares with the spec's documented default (``override`` or ``redundant``), and how the
whole body compares with the lock file (``new``, ``changed`` with a field-level diff, or
``unchanged``; locked pairs no longer in the file are ``removed``). Arrays are leaves; paths are
template paths (``audio.output.voice``, ``expires_after.seconds``).

This module is pure: no I/O, no printing. :mod:`rtconfig._plan_render` turns a plan into text or
JSON without making any decision of its own.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from rtconfig._endpoints import Endpoint, template_view
from rtconfig._errors import format_path
from rtconfig._lockfile import Lock, LockEntry, env_label
from rtconfig._origins import Origin
from rtconfig._resolver import ResolvedTemplate
from rtconfig._settings import Settings
from rtconfig._sources import iter_leaves

__all__ = [
    "PLAN_FORMAT_VERSION",
    "FieldChange",
    "LockStatus",
    "Lockable",
    "Plan",
    "PlannedField",
    "RemovedTemplate",
    "TemplatePlan",
    "diff_fields",
    "locked_mismatches",
    "make_plan",
    "same_value",
]

PLAN_FORMAT_VERSION = 1

Path = tuple[str | int, ...]
LockStatus = Literal["new", "changed", "unchanged"]
ChangeAction = Literal["add", "update", "remove"]


@dataclass(frozen=True, slots=True)
class PlannedField:
    """One leaf of a body: its value, the spec's documented default, and where it came from.

    ``has_default`` tells a documented default of ``null`` from no documented default at all.
    """

    path: Path
    value: Any
    default: Any
    has_default: bool
    origin: Origin
    #: Set to exactly the documented default: deleting it would send the same session.
    redundant: bool = False

    @property
    def action(self) -> Literal["override", "redundant"]:
        return "redundant" if self.redundant else "override"

    @property
    def dotted(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A leaf that differs from the lock file: added, updated (before -> after) or removed."""

    path: Path
    action: ChangeAction
    before: Any = None
    after: Any = None
    origin: Origin | None = None  # where the new value came from (None when removed)

    @property
    def dotted(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class TemplatePlan:
    """What ``apply`` would send for one template in one environment, and how it compares."""

    name: str
    env: str | None
    endpoint: Endpoint
    settings: Settings
    body: Mapping[str, Any]
    sha256: str
    fields: tuple[PlannedField, ...]
    lock_status: LockStatus | None
    changes: tuple[FieldChange, ...] = ()
    locked_sha256: str | None = None
    description: str | None = None

    @property
    def overrides(self) -> tuple[PlannedField, ...]:
        """Leaves that differ from the documented default, or have none documented."""
        return tuple(f for f in self.fields if not f.redundant)

    @property
    def redundant(self) -> tuple[PlannedField, ...]:
        """Leaves set to exactly the documented default (a lint: they can be deleted)."""
        return tuple(f for f in self.fields if f.redundant)

    @property
    def label(self) -> str:
        return self.name + (f" [{self.env}]" if self.env is not None else "")


@dataclass(frozen=True, slots=True)
class RemovedTemplate:
    """A pair the lock file records but the configuration no longer produces."""

    name: str
    env: str | None
    endpoint: Endpoint
    body: Mapping[str, Any]
    sha256: str

    @property
    def label(self) -> str:
        return self.name + (f" [{self.env}]" if self.env is not None else "")


@dataclass(frozen=True, slots=True)
class Plan:
    """The whole plan: templates in the order they were resolved, then removed pairs.

    ``locked`` is False when there was no lock file to compare with (every ``lock_status`` is
    then None). ``config_file``/``lock_file`` are the names to show, as given by the caller.
    """

    templates: tuple[TemplatePlan, ...]
    removed: tuple[RemovedTemplate, ...] = ()
    locked: bool = False
    envs: tuple[str | None, ...] = (None,)
    config_file: str | None = None
    lock_file: str | None = None
    format_version: int = field(default=PLAN_FORMAT_VERSION)

    def count(self, status: LockStatus) -> int:
        return sum(1 for t in self.templates if t.lock_status == status)

    @property
    def differs_from_lock(self) -> bool:
        """True when any body is new, changed or removed, or there is no lock file at all."""
        return (
            not self.locked
            or bool(self.removed)
            or any(t.lock_status != "unchanged" for t in self.templates)
        )


# --- values and leaves -----------------------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """JSON equality with JSON's types: ``1 == 1.0`` but ``true != 1``; arrays in order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _canonical(value: Any) -> str:
    """The form the body hash sees: ``1`` and ``1.0`` differ here, as they do on the wire."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
        elif _canonical(old[path]) != _canonical(value):
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
    from rtconfig._models import defaults_for  # the models are a heavy import; load on demand

    defaults: Mapping[Any, Any] = defaults_for(resolved.endpoint, view)
    records = resolved.fields
    out: list[PlannedField] = []
    append = out.append

    def walk(table: Mapping[str, Any], prefix: Path) -> None:
        for key, value in table.items():
            path = (*prefix, key)
            if isinstance(value, dict) and value:
                walk(value, path)
                continue
            record = records.get(path)  # nearly always exact; origin_of searches upwards
            origin = record.origin if record is not None else resolved.origin_of(path)
            if path in defaults:
                default = defaults[path]
                append(PlannedField(path, value, default, True, origin, same_value(value, default)))
            else:
                append(PlannedField(path, value, None, False, origin))

    walk(view, ())
    return tuple(out)


def _compare(
    resolved: ResolvedTemplate, sha256: str, view: Mapping[str, Any], locked: LockEntry | None
) -> tuple[LockStatus, tuple[FieldChange, ...]]:
    if locked is None:
        return "new", ()
    if locked.endpoint == resolved.endpoint and locked.sha256 == sha256:
        return "unchanged", ()
    changes: list[FieldChange] = []
    if locked.endpoint != resolved.endpoint:
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


def make_plan(
    resolved: Iterable[ResolvedTemplate],
    lock: Lock | None = None,
    *,
    envs: Sequence[str | None] = (None,),
    selected: Collection[str] | None = None,
    config_file: str | None = None,
    lock_file: str | None = None,
) -> Plan:
    """Plan ``resolved`` (the valid templates of ``envs``) against ``lock`` (None: no lock file).

    Locked pairs of ``envs`` that are not planned are ``removed``, unless ``selected`` limits the
    plan to some templates, in which case only locked pairs of those templates can be.
    """
    lock_entries = lock.by_key() if lock is not None else {}
    plans: list[TemplatePlan] = []
    for template in resolved:
        view = template_view(template.endpoint, template.body)
        sha256 = template.sha256  # computed on each access: once is enough
        status: LockStatus | None = None
        changes: tuple[FieldChange, ...] = ()
        locked = lock_entries.get((template.name, template.env))
        if lock is not None:
            status, changes = _compare(template, sha256, view, locked)
        plans.append(
            TemplatePlan(
                name=template.name,
                env=template.env,
                endpoint=template.endpoint,
                settings=template.settings,
                body=template.body,
                sha256=sha256,
                fields=_fields(template, view),
                lock_status=status,
                changes=changes,
                locked_sha256=locked.sha256 if locked is not None else None,
                description=template.description,
            )
        )
    planned = {(p.name, p.env) for p in plans}
    removed = tuple(
        RemovedTemplate(entry.name, entry.env, entry.endpoint, entry.body, entry.sha256)
        for entry in (lock.entries if lock is not None else ())
        if entry.env in envs
        and entry.key not in planned
        and (selected is None or entry.name in selected)
    )
    return Plan(
        templates=tuple(plans),
        removed=removed,
        locked=lock is not None,
        envs=tuple(envs),
        config_file=config_file,
        lock_file=lock_file,
    )


class Lockable(Protocol):
    """What ``--locked`` compares: a ResolvedTemplate, or a saved plan's SavedTemplate."""

    @property
    def name(self) -> str: ...
    @property
    def env(self) -> str | None: ...
    @property
    def endpoint(self) -> Endpoint: ...
    @property
    def sha256(self) -> str: ...


def locked_mismatches(
    resolved: Iterable[Lockable], lock: Lock | None, lock_file: str = "the lock file"
) -> list[str]:
    """For ``apply --locked``: why each template's body is not the one the lock records.

    ``resolved`` may be ResolvedTemplates or a saved plan's templates. Empty when every template
    is locked with exactly this endpoint and body; with no lock file, a single message saying so.
    """
    if lock is None:
        return [f"{lock_file} does not exist: run `rtconfig lock` first"]
    problems: list[str] = []
    for template in resolved:
        label = f"{template.name} {env_label(template.env)}"
        locked = lock.get(template.name, template.env)
        if locked is None:
            problems.append(f"{label} is not in {lock_file}")
        elif locked.endpoint != template.endpoint:
            problems.append(
                f"{label}: endpoint {template.endpoint.value} differs from {lock_file} "
                f"({locked.endpoint.value})"
            )
        elif locked.sha256 != template.sha256:
            problems.append(
                f"{label}: body differs from {lock_file} (`rtconfig plan` shows how; "
                "`rtconfig lock` accepts it)"
            )
    return problems
