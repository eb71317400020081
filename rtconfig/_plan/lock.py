"""The lock file, ``<stem>.lock.json`` beside the TOML: every (template, environment) body.

The lock records what each mintable template sends in the default environment and in every
declared one, so that a change to any body shows up in code review and in ``rtconfig plan``.
It holds request bodies and their hashes only, never a setting or a secret. It is written
deterministically: writing it twice gives the same bytes.

Format 2 (docs/plan-and-lock.md) is one JSON document with one line per
entry, sorted by template then environment, so that a diff names the pair it changes on the
changed line itself. A default-environment entry carries its ``body``; another environment's
entry carries a ``patch`` (:mod:`rtconfig._plan.patch`) against the same template's
default-environment body when that is shorter, else its own ``body``. Every entry keeps its
``sha256``, checked against the body rebuilt on reading. Format 1 (the whole document indented,
every body in full) is still read, and written for a ``Lock`` whose ``format_version`` is 1.

The lock is a projection of a plan: :func:`build_lock` keeps, of each record, what a reviewer
must see change (endpoint, body, and their hashes). Reading and building a lock are pure;
:func:`read_lock` and :func:`write_lock` do the I/O. How a plan differs from a lock is
:func:`rtconfig._plan.drift.drift`'s business.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError
from rtconfig._files import LOCK_FILE, FileProblem, FileRefused, atomic_write, read_file
from rtconfig._loader import MAX_NESTING_DEPTH, deeper_than
from rtconfig._plan.drift import Lockable
from rtconfig._plan.patch import PatchError, apply_patch, diff_patch
from rtconfig._plan.records import canonical_sha256, env_label
from rtconfig._resolver import body_hashes
from rtconfig._values import canonical_json
from rtconfig._version import __version__

__all__ = [
    "LOCK_FORMAT_VERSION",
    "Lock",
    "LockEntry",
    "atomic_write_text",
    "build_lock",
    "dumps_lock",
    "lock_path_for",
    "parse_lock",
    "read_lock",
    "write_lock",
]

LOCK_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)

Key = tuple[str, str | None]


def _sort_key(key: Key) -> tuple[str, bool, str]:
    """Template name, then the default environment before the declared ones (by name)."""
    name, env = key
    return (name, env is not None, env or "")


@dataclass(frozen=True, slots=True)
class LockEntry:
    """One (template, environment) pair as locked: its endpoint, body and the body's sha256
    (and, for a GA body, the session object's: CONTRACT §10). Also what ``plan`` shows for a
    locked pair the configuration no longer produces."""

    name: str
    env: str | None
    endpoint: Endpoint
    body: Mapping[str, Any]
    body_sha256: str
    session_sha256: str | None = None

    @property
    def sha256(self) -> str:
        return self.body_sha256

    @property
    def key(self) -> Key:
        return (self.name, self.env)

    @property
    def label(self) -> str:
        """``support [production]`` or ``support [default environment]``."""
        return f"{self.name} {env_label(self.env)}"

    def to_json(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "env": self.env,
            "endpoint": self.endpoint.value,
            "sha256": self.body_sha256,
            "body": self.body,
        }
        if self.session_sha256 is not None:
            data["session_sha256"] = self.session_sha256
        return data


@dataclass(frozen=True, slots=True)
class Lock:
    """A whole lock file: entries in their canonical order."""

    entries: tuple[LockEntry, ...]
    rtconfig_version: str = __version__
    format_version: int = LOCK_FORMAT_VERSION

    def get(self, name: str, env: str | None) -> LockEntry | None:
        for entry in self.entries:
            if entry.name == name and entry.env == env:
                return entry
        return None

    def by_key(self) -> dict[Key, LockEntry]:
        return {entry.key: entry for entry in self.entries}


def lock_path_for(config_path: str | os.PathLike[str]) -> Path:
    """``sessions.toml`` -> ``sessions.lock.json`` in the same directory."""
    path = Path(config_path)
    return path.with_name(path.stem + ".lock.json")


class _Lockable(Lockable, Protocol):
    @property
    def body(self) -> Mapping[str, Any]: ...


def build_lock(records: Iterable[_Lockable]) -> Lock:
    """The lock of plan records (normally every mintable template in every environment)."""
    entries = {(r.name, r.env): _entry(r) for r in records}
    return Lock(tuple(entries[key] for key in sorted(entries, key=_sort_key)))


def _entry(record: _Lockable) -> LockEntry:
    session = getattr(record, "session_sha256", None)
    if session is None and record.endpoint is Endpoint.CLIENT_SECRETS:
        inner = record.body.get("session")
        session = canonical_sha256(inner) if isinstance(inner, Mapping) else None
    return LockEntry(
        record.name, record.env, record.endpoint, record.body, record.body_sha256, session
    )


def dumps_lock(lock: Lock) -> str:
    """The file's exact text, non-ASCII kept, trailing newline: format 2 (one line per entry),
    or format 1 (sorted keys, 2-space indent) for a lock whose ``format_version`` is 1."""
    if lock.format_version == 1:
        document = {
            "format_version": 1,
            "rtconfig_version": lock.rtconfig_version,
            "templates": [entry.to_json() for entry in lock.entries],
        }
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    defaults = {e.name: e for e in lock.entries if e.env is None}
    lines = [_entry_line(entry, defaults.get(entry.name)) for entry in lock.entries]
    head = json.dumps(lock.rtconfig_version, ensure_ascii=False)
    entries = "[\n    " + ",\n    ".join(lines) + "\n  ]" if lines else "[]"
    return (
        f'{{\n  "format_version": {LOCK_FORMAT_VERSION},\n  "rtconfig_version": {head},\n'
        f'  "templates": {entries}\n}}\n'
    )


def _entry_line(entry: LockEntry, default: LockEntry | None) -> str:
    """One entry on one line: identity first (what a diff reader looks for), then the hashes,
    then the body or the patch against the default environment's body."""
    head: dict[str, Any] = {
        "name": entry.name,
        "env": entry.env,
        "endpoint": entry.endpoint.value,
        "sha256": entry.body_sha256,
    }
    if entry.session_sha256 is not None:
        head["session_sha256"] = entry.session_sha256
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    body = canonical_json(entry.body)
    if default is not None and default is not entry and default.endpoint is entry.endpoint:
        patch = diff_patch(default.body, entry.body)
        patched = canonical_json(patch)
        # Shorter, and rebuilding it gives the very body hashed (1 and 1.0 compare equal).
        if (
            len(patched) < len(body)
            and canonical_sha256(apply_patch(default.body, patch)) == entry.body_sha256
        ):
            return f'{text},"patch":{patched}}}'
    return f'{text},"body":{body}}}'


def parse_lock(text: str, file: str) -> Lock:
    """A lock from its text; anything malformed or tampered with is a :class:`ConfigError`."""

    def fail(message: str) -> ConfigError:
        return ConfigError.single(
            message + "; regenerate it with `rtconfig lock`",
            code=C.INVALID_LOCK_FILE,
            file=file,
            path=None,
        )

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise fail(f"not valid JSON ({exc})") from None
    except RecursionError:
        data = None
    # A body rtconfig wrote nests no deeper than a template may (plus the lock's own levels).
    if data is None or deeper_than(data, MAX_NESTING_DEPTH + 3) is not None:
        raise fail(f"nests more than {MAX_NESTING_DEPTH} levels deep (the limit)")
    if not isinstance(data, dict) or not isinstance(data.get("templates"), list):
        raise fail('not an rtconfig lock file (no "templates" list)')
    version = data.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS or isinstance(version, bool):
        raise fail(
            f"lock format_version {version!r} is not supported (this rtconfig writes "
            f"{LOCK_FORMAT_VERSION} and reads {', '.join(map(str, READABLE_FORMAT_VERSIONS))})"
        )
    items = data["templates"]
    defaults = {
        item.get("name"): item.get("body")
        for item in items
        if isinstance(item, dict) and item.get("env") is None
    }
    entries: dict[Key, LockEntry] = {}
    for index, item in enumerate(items):
        entry = _parse_entry(item, f"templates[{index}]", defaults, version, fail)
        if entry.key in entries:
            raise fail(f"{entry.label} is listed twice")
        entries[entry.key] = entry
    recorded = data.get("rtconfig_version")
    return Lock(
        tuple(entries[key] for key in sorted(entries, key=_sort_key)),
        rtconfig_version=recorded if isinstance(recorded, str) else "unknown",
        format_version=version,
    )


def _parse_entry(
    item: Any,
    where: str,
    defaults: Mapping[Any, Any],
    version: int,
    fail: Callable[[str], ConfigError],
) -> LockEntry:
    """One entry, its body rebuilt from a patch when it has one, its hashes checked."""
    if not isinstance(item, dict):
        raise fail(f"{where} is not an object")
    name, env, endpoint = item.get("name"), item.get("env"), item.get("endpoint")
    body, sha = item.get("body"), item.get("sha256")
    if not isinstance(name, str) or not (env is None or isinstance(env, str)):
        raise fail(f'{where} needs a string "name" and a string or null "env"')
    if not isinstance(endpoint, str) or endpoint not in Endpoint._value2member_map_:
        raise fail(f"{where} has an unknown endpoint {endpoint!r}")
    if version >= 2 and body is None and "patch" in item and env is not None:
        base = defaults.get(name)
        if not isinstance(base, dict):
            raise fail(f"{where} has a patch but {name!r} has no default-environment body")
        try:
            body = apply_patch(base, item["patch"])
        except PatchError as exc:
            raise fail(f"{where}: {exc}") from None
    if not isinstance(body, dict) or not isinstance(sha, str):
        raise fail(f'{where} needs an object "body" (or a "patch") and a string "sha256"')
    session_sha = item.get("session_sha256")
    if session_sha is not None and not isinstance(session_sha, str):
        raise fail(f'{where} has a "session_sha256" that is not a string')
    entry = LockEntry(name, env, Endpoint(endpoint), body, sha, session_sha)
    body_hash, session_hash = body_hashes(body)
    if body_hash != sha:
        raise fail(f"{entry.label}: sha256 does not match its body (edited by hand?)")
    if session_sha is not None and session_hash != session_sha:
        raise fail(f"{entry.label}: session_sha256 does not match its session (edited?)")
    return entry


def read_lock(path: str | os.PathLike[str]) -> Lock | None:
    """The lock at ``path``, or None when there is no lock file.

    Untrusted input (a pull request can commit one, or a symlink to ``/dev/zero``): read through
    :func:`rtconfig._files.read_file`, regular files only, at most 64 MiB.
    """
    try:
        text = read_file(path, LOCK_FILE).decode("utf-8")
    except FileRefused as exc:
        if exc.problem is FileProblem.MISSING:
            return None
        raise ConfigError.single(
            f"cannot read the lock file: it {exc.message}",
            code=C.INVALID_LOCK_FILE,
            file=os.fspath(path),
        ) from None
    except UnicodeDecodeError:
        raise ConfigError.single(
            "cannot read the lock file: it is not UTF-8 text",
            code=C.INVALID_LOCK_FILE,
            file=os.fspath(path),
        ) from None
    return parse_lock(text, os.fspath(path))


def write_lock(path: str | os.PathLike[str], lock: Lock) -> bool:
    """Write ``lock`` atomically (temporary file, then rename); False when already identical."""
    target = Path(path)
    text = dumps_lock(lock)
    try:
        if read_file(target, LOCK_FILE) == text.encode("utf-8"):
            return False
    except FileRefused:
        pass
    atomic_write_text(target, text)
    return True


def atomic_write_text(target: Path, text: str, mode: int | None = None) -> None:
    """Replace ``target`` with ``text`` so that readers see the old file or the new, never half.

    ``mode`` defaults to the existing file's permissions, else 0644 less the umask. A device
    node or directory at ``target`` is refused with a :class:`ConfigError`.
    """
    try:
        atomic_write(target, text, mode=mode)
    except FileRefused as exc:
        raise ConfigError.single(
            f"cannot write: it {exc.message}", code=exc.code, file=os.fspath(target)
        ) from None
