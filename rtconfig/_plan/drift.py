"""Drift as data: how bodies compare with what the lock file records, as typed values.

One comparison serves ``plan`` (each record's ``lock_status`` and the removed pairs), ``lock
--check``, ``apply --locked`` and saved plans applied with ``--locked``. It returns
:class:`Drift` values (a kind, the template, the environment, and the endpoints when they
differ); only :mod:`rtconfig._plan.render` turns them into sentences.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from rtconfig._endpoints import Endpoint

if TYPE_CHECKING:
    from rtconfig._plan.lock import Lock, LockEntry

__all__ = ["Drift", "DriftKind", "Lockable", "drift"]


class DriftKind(StrEnum):
    """Why a (template, environment) is not what the lock records."""

    NO_LOCK = "no_lock"  # there is no lock file at all (template/env are None)
    NEW = "new"  # the pair is not in the lock file
    ENDPOINT = "endpoint"  # it is sent to another endpoint than the locked one
    BODY = "body"  # its body differs (same endpoint)
    REMOVED = "removed"  # the lock records a pair the configuration no longer produces


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference from the lock file. ``locked`` is the lock's entry (None for ``NEW``
    and ``NO_LOCK``); ``endpoint`` the endpoint now planned (None for ``REMOVED``)."""

    kind: DriftKind
    template: str | None = None
    env: str | None = None
    endpoint: Endpoint | None = None
    locked: LockEntry | None = None


class Lockable(Protocol):
    """What the comparison needs of a record (a PlanRecord or a lock entry)."""

    @property
    def name(self) -> str: ...
    @property
    def env(self) -> str | None: ...
    @property
    def endpoint(self) -> Endpoint: ...
    @property
    def body_sha256(self) -> str: ...


def drift(
    records: Iterable[Lockable],
    lock: Lock | None,
    *,
    removable: Callable[[LockEntry], bool] | None = None,
) -> tuple[Drift, ...]:
    """Every difference between ``records`` and ``lock``, in the records' order, then removed
    pairs in the lock's order. ``removable`` says which locked pairs the records were meant to
    cover (None: report no removed pair). Empty when everything matches."""
    if lock is None:
        return (Drift(DriftKind.NO_LOCK),)
    entries = lock.by_key()
    out: list[Drift] = []
    seen: set[tuple[str, str | None]] = set()
    for record in records:
        key = (record.name, record.env)
        seen.add(key)
        locked = entries.get(key)
        kind = _compare(record, locked)
        if kind is not None:
            out.append(Drift(kind, record.name, record.env, record.endpoint, locked))
    if removable is not None:
        for entry in lock.entries:
            if entry.key not in seen and removable(entry):
                out.append(Drift(DriftKind.REMOVED, entry.name, entry.env, None, entry))
    return tuple(out)


def _compare(record: Lockable, locked: LockEntry | None) -> DriftKind | None:
    if locked is None:
        return DriftKind.NEW
    if locked.endpoint != record.endpoint:
        return DriftKind.ENDPOINT
    if locked.body_sha256 != record.body_sha256:
        return DriftKind.BODY
    return None
