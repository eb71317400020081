"""The request validators, built once per installed version and then reused from a private cache.

Building the three endpoints' validators means importing the models (about a hundred
``TypedDict``\\ s) and letting pydantic generate their core schemas: most of a short command's
time. The core schema itself is plain data, so the first process to need the validators writes
it to a cache file and the next ones build ``pydantic_core.SchemaValidator``\\ s straight from it,
without importing the models or pydantic's schema generation at all.

The cache is never stale and never shared:

- its key hashes rtconfig's version, every source file of the installed package (by path, size
  and modification time: what Python trusts to tell whether bytecode is current), the versions
  of pydantic and pydantic-core, the Python implementation and the cache format: any change to
  the models (or to anything else in rtconfig) makes a new key;
- it lives in a directory of the user's own (``$RTCONFIG_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/rtconfig``, else ``~/.cache/rtconfig``) that must be owned by the user and
  closed to everyone else (``0700``); the file must be a regular file owned by the user with mode
  ``0600``, and is written to a temporary name and renamed into place (atomic);
- the file holds only JSON data: the callables the schema needs are named, and rebuilt from
  :mod:`rtconfig._pickers`, never unpickled or evaluated.

Anything unexpected (no home directory, a foreign owner, loose permissions, a symlink, a corrupt
or oversized file, a schema that does not rebuild) silently falls back to building the validators
from the models, exactly as without a cache. ``RTCONFIG_CACHE_DIR=""`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rtconfig._endpoints import Endpoint
from rtconfig._environ import process_environ
from rtconfig._pickers import rebuild, spec_of

__all__ = ["KnownValues", "cache_dir", "cache_key", "known_values", "validator"]

CACHE_FORMAT = 1
_MAX_BYTES = 8 * 1024 * 1024
_PREFIX = "validators-"
_KEEP = 8  # cache files of other versions kept (an upgrade or an edit makes a new one)


class Validator(Protocol):
    """What the checks need of a validator: a ``TypeAdapter`` and a ``SchemaValidator`` both fit."""

    def validate_python(self, input: Any, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class KnownValues:
    """The known values of the open sets (the models' ``KNOWN_*``), which the checks warn about."""

    models: frozenset[str]
    beta_models: frozenset[str]
    transcription_models: frozenset[str]
    voices: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Snapshot:
    validators: Mapping[Endpoint, Validator]
    known: KnownValues


def validator(endpoint: Endpoint) -> Validator:
    """The validator of ``endpoint``'s request body (as ``rtconfig._models.request_adapter``)."""
    return _snapshot().validators[endpoint]


def known_values() -> KnownValues:
    """The models' known values, without importing the models when the cache has them."""
    return _snapshot().known


@functools.cache
def _snapshot() -> _Snapshot:
    directory = cache_dir()
    key = cache_key() if directory is not None else None
    if directory is not None and key is not None:
        cached = _read(directory, key)
        if cached is not None:
            return cached
    snapshot, payload = _build()
    if directory is not None and key is not None and payload is not None:
        _write(directory, key, payload)
    return snapshot


# --------------------------------------------------------------------------------------------
# Building from the models (the cold path) and the cached form


class _Uncacheable(Exception):
    """The schema holds something this cache cannot write down as data."""


def _build() -> tuple[_Snapshot, dict[str, Any] | None]:
    from rtconfig import _models as models

    adapters = {endpoint: models.request_adapter(endpoint) for endpoint in Endpoint}
    known = KnownValues(
        models=frozenset(models.KNOWN_MODELS),
        beta_models=frozenset(models.KNOWN_BETA_MODELS),
        transcription_models=frozenset(models.KNOWN_TRANSCRIPTION_MODELS),
        voices=frozenset(models.KNOWN_VOICES),
    )
    snapshot = _Snapshot(validators=adapters, known=known)
    try:
        from pydantic._internal._config import ConfigWrapper

        payload = {
            # What TypeAdapter(T) builds its validator with (T's own config is in the schema).
            "config": _encode(ConfigWrapper(None).core_config(None), [], []),
            "validators": {e.value: _encoded(a.core_schema) for e, a in adapters.items()},
            "known": {name: sorted(values) for name, values in _known_items(known)},
        }
    except (_Uncacheable, ImportError, AttributeError, TypeError):
        return snapshot, None
    return snapshot, payload


def _known_items(known: KnownValues) -> list[tuple[str, frozenset[str]]]:
    return [(name, getattr(known, name)) for name in KnownValues.__slots__]


def _encoded(schema: Any) -> dict[str, Any]:
    """A core schema as JSON data, and where in it each callable goes (with how to rebuild it)."""
    calls: list[list[Any]] = []
    return {"schema": _encode(schema, [], calls), "calls": calls}


def _encode(node: Any, path: list[str | int], calls: list[list[Any]]) -> Any:
    if isinstance(node, dict):
        schema_node = isinstance(node.get("type"), str)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if not isinstance(key, str):
                raise _Uncacheable(f"key {key!r}")
            # `metadata` is pydantic's (JSON Schema hints); a typed dict's `cls` is the Python
            # class, which the validator never reads. A field *named* "metadata" is kept: field
            # maps are not schema nodes.
            python_class = key == "cls" and node["type"] == "typed-dict"
            if schema_node and (key == "metadata" or python_class):
                continue
            out[key] = _encode(value, [*path, key], calls)
        return out
    if isinstance(node, list):
        return [_encode(item, [*path, i], calls) for i, item in enumerate(node)]
    if node is None or isinstance(node, str | bool | int | float):
        return node
    spec = spec_of(node)
    if spec is None:
        raise _Uncacheable(type(node).__name__)
    calls.append([path, spec])
    return None  # a placeholder: decoding puts the rebuilt callable here


def _decoded(encoded: Any) -> Any:
    """The core schema :func:`_encoded` wrote down (``ValueError`` when it is not one)."""
    schema = encoded["schema"]
    for path, spec in encoded["calls"]:
        if not isinstance(path, list) or not path or not isinstance(spec, dict):
            raise ValueError("a callable's place is a non-empty path")
        holder = schema
        for step in path[:-1]:
            holder = holder[step]
        last = path[-1]
        if not isinstance(holder, dict | list) or holder[last] is not None:
            raise ValueError("a callable goes where its placeholder is")
        holder[last] = rebuild(spec)
    return schema


def _from_payload(payload: Any) -> _Snapshot:
    from pydantic_core import SchemaValidator

    raw_config = payload["config"]
    if not isinstance(raw_config, dict):
        raise ValueError("the validators' config is a table")
    config: Any = raw_config  # a CoreConfig, as _build wrote it
    validators = {
        endpoint: SchemaValidator(_decoded(payload["validators"][endpoint.value]), config)
        for endpoint in Endpoint
    }
    known = {name: frozenset(payload["known"][name]) for name in KnownValues.__slots__}
    if not all(isinstance(v, str) for values in known.values() for v in values):
        raise ValueError("known values are strings")
    return _Snapshot(validators=validators, known=KnownValues(**known))


# --------------------------------------------------------------------------------------------
# Where, and under which key


def cache_dir() -> Path | None:
    """The cache directory in use, or None when caching is off or impossible here."""
    if not hasattr(os, "getuid") or not hasattr(os, "O_NOFOLLOW"):
        return None  # no owner checks without POSIX: build every time
    environ = process_environ()
    override = environ.get("RTCONFIG_CACHE_DIR")
    if override is not None:
        return Path(override) if os.path.isabs(override) else None
    xdg = environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg, "rtconfig")
    home = environ.get("HOME", "")
    return Path(home, ".cache", "rtconfig") if os.path.isabs(home) else None


def cache_key() -> str | None:
    """The hash of everything the cached validators depend on, or None when it cannot be read."""
    try:
        import pydantic_core

        from rtconfig._version import __version__

        digest = hashlib.sha256()
        for part in (
            f"format {CACHE_FORMAT}",
            f"rtconfig {__version__}",
            f"pydantic-core {pydantic_core.__version__} {pydantic_core.__file__}",
            f"python {sys.implementation.cache_tag} {sys.version}",
        ):
            digest.update(part.encode() + b"\0")
        _hash_pydantic_version(digest)
        # Each source file by path, size and modification time: what Python itself trusts to
        # tell whether a module's bytecode is current.
        for name, size, mtime in _sources(os.path.dirname(os.path.abspath(__file__)), ""):
            digest.update(f"{name} {size} {mtime}".encode() + b"\0")
    except (OSError, ImportError, AttributeError, ValueError):
        return None
    return digest.hexdigest()


def _sources(directory: str, prefix: str) -> list[tuple[str, int, int]]:
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                found.extend(_sources(entry.path, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(".py"):
                info = entry.stat()
                found.append((prefix + entry.name, info.st_size, info.st_mtime_ns))
    return sorted(found)


def _hash_pydantic_version(digest: Any) -> None:
    # pydantic's version file, read rather than imported: importing pydantic costs more than
    # building the validators from the cache (and importlib.util costs more than the machinery).
    import importlib.machinery

    spec = importlib.machinery.PathFinder.find_spec("pydantic")
    if spec is None or spec.origin is None:
        raise ImportError("pydantic")
    version_file = Path(spec.origin).with_name("version.py")
    digest.update(f"pydantic {version_file}".encode() + b"\0" + version_file.read_bytes())


# --------------------------------------------------------------------------------------------
# Reading and writing, with the owner and permission checks


def _open_dir(directory: Path, create: bool) -> int | None:
    """A descriptor of ``directory`` if it is ours and closed to others (made so if absent)."""
    try:
        if create:
            directory.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory, 0o700)
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        return None
    return fd


def _file_name(key: str) -> str:
    return f"{_PREFIX}{key[:40]}.json"


def _read(directory: Path, key: str) -> _Snapshot | None:
    dir_fd = _open_dir(directory, create=False)
    if dir_fd is None:
        return None
    try:
        fd = os.open(_file_name(key), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            info = os.fstat(fd)
            if (
                not stat.S_ISREG(info.st_mode)
                or info.st_uid != os.getuid()
                or info.st_mode & 0o077
                or info.st_size > _MAX_BYTES
            ):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = json.loads(handle.read(_MAX_BYTES + 1))
        finally:
            os.close(fd)
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        if data.get("format") != CACHE_FORMAT:
            return None
        return _from_payload(data["payload"])
    except Exception:  # a cache must never break a command: anything odd means "build"
        return None
    finally:
        os.close(dir_fd)


def _write(directory: Path, key: str, payload: dict[str, Any]) -> None:
    dir_fd = _open_dir(directory, create=True)
    if dir_fd is None:
        return
    temp = f".{_PREFIX}{os.getpid()}-{os.urandom(8).hex()}.tmp"
    try:
        text = json.dumps(
            {"format": CACHE_FORMAT, "key": key, "payload": payload},
            allow_nan=False,
            separators=(",", ":"),
        )
        _from_payload(json.loads(text)["payload"])  # never write what would not read back
        data = memoryview(text.encode())
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(temp, flags, 0o600, dir_fd=dir_fd)
        try:
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        os.replace(temp, _file_name(key), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        _prune(dir_fd, keep=_file_name(key))
    except Exception:  # as for reading: a cache that cannot be written is simply not written
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _prune(dir_fd: int, keep: str) -> None:
    """Remove all but the newest few cache files of other versions."""
    others = []
    for name in os.listdir(dir_fd):
        if name.startswith(_PREFIX) and name.endswith(".json") and name != keep:
            with contextlib.suppress(OSError):
                others.append((os.stat(name, dir_fd=dir_fd).st_mtime_ns, name))
    for _, name in sorted(others, reverse=True)[_KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
