"""The audit log (contract §7): one JSON line per event, appended, synced, secrets redacted.

structlog is used with its own processor chain built here (``structlog.wrap_logger``), never
``structlog.configure``: a host application's global structlog configuration is neither used
nor touched. The chain::

    _add_standard_fields → TimeStamper(iso, UTC) → Redactor (values and keys)
        → _render_json → Redactor.scrub_rendered (last line of defence on the final text)
        → _AppendOnlyFile (one os.write on an O_APPEND fd; fsync grouped, see below)

One ``os.write`` per record on an ``O_APPEND`` descriptor means concurrent runs appending to
the same file interleave whole lines; a crash can at most leave the last line incomplete, which
:func:`read_audit_log` tolerates (and the next writer starts on a fresh line).

Durability, exactly:

- When :meth:`AuditLog.emit` returns, its record has been written to the file with one
  ``os.write``: it is in the kernel's page cache, readable by others, and survives the process
  being killed (``kill -9``, a crash, an exception).
- It is on stable storage (survives an OS crash or a power cut) once the next ``fsync``
  completes. A background thread fsyncs while records are pending, at most once per
  ``fsync_interval_s`` (default 0.05 s), so that records written meanwhile share one fsync
  (group commit): a record is on stable storage about ``fsync_interval_s`` plus one fsync
  after ``emit`` returns. :meth:`AuditLog.sync` and :meth:`AuditLog.close` fsync before they
  return; ``rtconfig apply`` closes its log before it prints any token, so every record of a
  run is on stable storage before the run's tokens reach its output.
- ``fsync_interval_s=0`` fsyncs each record before ``emit`` returns (the old guarantee, at one
  fsync per record: 0.3–3 ms of waiting and 0.1–0.5 ms of CPU per mint on the benchmark
  machine, see ``docs/performance.md``); ``fsync=False`` never fsyncs.
- A failed background fsync is raised (``OSError``) by the next ``emit``, ``sync`` or
  ``close``.
- A path that is not a regular file — a FIFO (``mkfifo``), ``/dev/stdout``, a pipe a log
  collector reads, a character device — is written the same way (one ``os.write`` per record,
  so lines stay whole up to ``PIPE_BUF``) and never fsynced: there is no storage under it to
  sync, and the reader decides what is durable. A FIFO nobody is reading is refused at once.

:class:`LoggingAudit` sends the same records (the same fields, the same redaction) to a stdlib
``logging`` logger instead, so a backend's audit reaches whatever log pipeline it already has;
with several replicas, give each process its own file (``audit-<host>-<pid>.jsonl``) or use it.
"""

from __future__ import annotations

import errno
import getpass
import hashlib
import json
import os
import re
import socket
import stat
import threading
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rtconfig._environ import process_environ
from rtconfig._redact import SecretRegistry
from rtconfig._version import __version__

__all__ = [
    "REDACTED",
    "AuditLog",
    "LoggingAudit",
    "NullAudit",
    "Redactor",
    "default_audit_path",
    "new_run_id",
    "read_audit_log",
    "resolve_actor",
    "secret_fingerprint",
]

REDACTED = "[REDACTED]"
STANDARD_KEYS = ("timestamp", "event", "run_id", "event_id", "actor", "rtconfig_version")

# CI systems' "who triggered this" variables, most specific first.
CI_ACTOR_VARIABLES = (
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "CIRCLE_USERNAME",
    "BITBUCKET_STEP_TRIGGERER_UUID",
    "BUILD_REQUESTEDFOR",  # Azure Pipelines
    "TRAVIS_COMMIT_AUTHOR",
    "DRONE_COMMIT_AUTHOR",
    "CI_COMMIT_AUTHOR",  # Woodpecker
)

# Keys whose values are credentials whatever they contain.
_SECRET_KEY = re.compile(
    r"(?i)^(authorization|proxy-authorization|api[_-]?key|openai[_-]?api[_-]?key|client_secret"
    r"|secret|token|access[_-]?token|password|value|cookie|set-cookie)$"
)
# Values that look like credentials wherever they appear.
_SECRET_VALUE = re.compile(
    r"(?i)(bearer\s+[A-Za-z0-9._~+/=-]+|\bsk-[A-Za-z0-9_-]{8,}|\bek_[A-Za-z0-9_-]{8,})"
)


def secret_fingerprint(token: str) -> str:
    """First 12 hex digits of the token's sha256: names a token without revealing it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def new_run_id() -> str:
    return uuid.uuid4().hex


def resolve_actor(environ: Mapping[str, str]) -> str:
    """Who is applying: ``RTCONFIG_ACTOR``, else the CI's user variable, else ``user@host``."""
    explicit = environ.get("RTCONFIG_ACTOR", "").strip()
    if explicit:
        return explicit
    for name in CI_ACTOR_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return value
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = environ.get("USER") or environ.get("USERNAME") or "unknown"
    return f"{user}@{socket.gethostname()}"


def default_audit_path(config_file: str | os.PathLike[str]) -> Path:
    """``.rtconfig/audit.jsonl`` beside the configuration file."""
    return Path(config_file).resolve().parent / ".rtconfig" / "audit.jsonl"


class Redactor:
    """A structlog processor that keeps credentials out of rendered records.

    Three nets: values under credential-named keys (``authorization``, ``api_key``, ``token``,
    …) are replaced; strings that look like keys or tokens (``sk-…``, ``ek_…``, ``Bearer …``)
    are replaced; and every *registered* secret (the API key in use, each minted token) is cut
    out of the final JSON text by :meth:`scrub_rendered`, wherever it sits (values, keys, nested
    structures, exception messages), in its raw and its JSON-escaped form.

    A long-lived applier registers a token per mint, so the last net must cost neither
    O(secrets) per record nor unbounded memory: secrets are indexed by their last 8 characters,
    the text is scanned once (only runs of token characters long enough to hold a secret), and
    only the ``max_secrets`` most recently registered secrets are remembered (re-registering
    refreshes one: the API key, registered on every mint, is never forgotten while in use).
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        max_secrets: int = 10_000,
        registry: SecretRegistry | None = None,
    ) -> None:
        # The run's one registry (rtconfig._redact), shared with whatever else prints its text.
        self.registry = (
            registry if registry is not None else SecretRegistry(max_secrets=max_secrets)
        )
        for secret in secrets:
            self.registry.add(secret)

    def add(self, secret: str) -> None:
        self.registry.add(secret)

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        out = {}
        for key, value in event_dict.items():
            key = str(key)
            kind = type(value)
            if kind is str and not _secret_key(key):  # most fields: look at the text only
                out[key] = _looks_secret(value)
            elif (value is None or kind is int or kind is float) and not _secret_key(key):
                out[key] = value
            else:
                out[key] = self._value(key, value)
        return out

    def scrub_rendered(self, logger: Any, method_name: str, rendered: Any) -> Any:
        """Cut every registered secret out of ``rendered`` (the final text)."""
        return self.scrub(str(rendered))

    def scrub(self, text: str) -> str:
        return self.registry.scrub(text)

    def _value(self, key: str, value: Any) -> Any:
        if _secret_key(key):
            return REDACTED if value is not None else None
        return self._any(value)

    def _any(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return _looks_secret(value)
        if isinstance(value, Mapping):
            return {str(k): self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._any(item) for item in value]
        if isinstance(value, bytes):
            return _looks_secret(value.decode("utf-8", "replace"))
        return _looks_secret(str(value))


_KEY_VERDICTS: dict[str, bool] = {}  # field name -> credential-named? (names are few)


def _secret_key(key: str) -> bool:
    """Whether ``key`` names a credential (its value is replaced whatever it holds)."""
    verdict = _KEY_VERDICTS.get(key)
    if verdict is None:
        verdict = key not in STANDARD_KEYS and key != "secret_fingerprint"
        verdict = verdict and _SECRET_KEY.match(key) is not None
        if len(_KEY_VERDICTS) < 4096:
            _KEY_VERDICTS[key] = verdict
    return verdict


def _looks_secret(text: str) -> str:
    if "sk-" in text or "ek_" in text or "bearer" in text.lower():
        return _SECRET_VALUE.sub(REDACTED, text)
    return text


class _AppendOnlyFile:
    """structlog's "logger": writes each rendered record with one ``os.write``; fsyncs them in
    groups from a background thread (or each one at once when ``interval_s`` is 0)."""

    def __init__(self, fd: int, *, fsync: bool, interval_s: float) -> None:
        self._fd = fd
        self._fsync = fsync
        self._interval_s = interval_s
        self._needs_newline = _ends_without_newline(fd)
        # Set after a write, cleared by the syncer just before it fsyncs: a write that finished
        # before the clear is covered by that fsync, one after it sets the flag again.
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._error: OSError | None = None

    def msg(self, message: str) -> None:
        data = (message + "\n").encode("utf-8")
        if self._needs_newline:  # a previous writer died mid-line: start on a fresh one
            data = b"\n" + data
            self._needs_newline = False
        written = os.write(self._fd, data)
        while written < len(data):  # only on a full disk or a signal; keep the line whole
            written += os.write(self._fd, data[written:])
        if not self._fsync:
            return
        if self._interval_s <= 0:
            os.fsync(self._fd)
            return
        self._raise_error()
        if not self._dirty.is_set():
            self._dirty.set()
        if self._syncer is None:
            self._start_syncer()

    info = msg

    def sync(self) -> None:
        """fsync now: every record written so far is on stable storage when this returns."""
        self._raise_error()
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        """Stop the syncer and fsync what it has not; the caller closes the descriptor."""
        self._closing.set()
        self._dirty.set()  # wake the syncer so that it sees _closing
        if self._syncer is not None:
            self._syncer.join()
        if self._fsync and self._syncer is not None and self._error is None:
            os.fsync(self._fd)
        self._raise_error()

    def _start_syncer(self) -> None:
        with self._start_lock:
            if self._syncer is None:
                thread = threading.Thread(
                    target=self._run, name="rtconfig-audit-fsync", daemon=True
                )
                thread.start()
                self._syncer = thread

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._closing.is_set():
                return  # close() does the last fsync itself, after joining
            self._dirty.clear()
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._error = exc
                return
            # Group commit: records written while we wait share the next fsync.
            if self._closing.wait(self._interval_s):
                return

    def _raise_error(self) -> None:
        error = self._error
        if error is not None:
            raise OSError(error.errno, f"audit log fsync failed: {error.strerror}") from error


def _ends_without_newline(fd: int) -> bool:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
        return False
    size = info.st_size
    try:
        return os.pread(fd, 1, size - 1) != b"\n"
    except OSError:
        return False


class AuditLog:
    """An append-only JSON-lines audit log (file 0600, parent directory created 0700).

    Every record carries ``timestamp`` (ISO 8601 UTC), ``event``, ``run_id``, ``event_id``,
    ``actor`` and ``rtconfig_version``. Thread-safe; usable as a context manager. Each record
    is written when :meth:`emit` returns and fsynced within about ``fsync_interval_s`` (0:
    before :meth:`emit` returns); the module docstring states the guarantee exactly.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        run_id: str | None = None,
        actor: str | None = None,
        environ: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        fsync: bool = True,
        fsync_interval_s: float = 0.05,
        registry: SecretRegistry | None = None,
    ) -> None:
        if fsync_interval_s < 0:
            raise ValueError("fsync_interval_s must not be negative")
        self.path = Path(path)
        self.run_id = run_id or new_run_id()
        self.actor = actor or resolve_actor(process_environ() if environ is None else environ)
        self.redactor = Redactor(secrets, registry=registry)
        self._fd = _open_append(self.path)
        #: False for a FIFO, a pipe, /dev/stdout: written the same way, never fsynced.
        self.regular_file = stat.S_ISREG(os.fstat(self._fd).st_mode)
        self._sink = _AppendOnlyFile(
            self._fd, fsync=fsync and self.regular_file, interval_s=fsync_interval_s
        )
        self._closed = False
        self._logger = _record_logger(self._sink, self, self.redactor)

    def __repr__(self) -> str:
        return f"<AuditLog {str(self.path)!r} run_id={self.run_id!r}>"

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` (a key, a token) reach a rendered record."""
        self.redactor.add(secret)

    def emit(self, event: str, /, **fields: Any) -> None:
        """Append one record: ``event`` plus ``fields`` plus the standard fields."""
        if self._closed:
            raise ValueError(f"audit log {self.path} is closed")
        self._logger.info(event, **fields)

    def sync(self) -> None:
        """Put every record emitted so far on stable storage (fsync) before returning."""
        if self._closed:
            raise ValueError(f"audit log {self.path} is closed")
        self._sink.sync()

    def close(self) -> None:
        """fsync what is pending, then close the file."""
        if not self._closed:
            self._closed = True
            try:
                self._sink.close()
            finally:
                os.close(self._fd)


def _record_logger(sink: Any, owner: Any, redactor: Redactor) -> Any:
    """The structlog chain both sinks share (see the module docstring), writing to ``sink``;
    the standard fields are read from ``owner`` (its ``run_id`` and ``actor``) per record."""
    import structlog  # here, so that importing this module stays cheap

    def add_standard_fields(logger: Any, method_name: str, event_dict: Any) -> Any:
        event_dict["run_id"] = owner.run_id
        event_dict["event_id"] = uuid.uuid4().hex
        event_dict["actor"] = owner.actor
        event_dict["rtconfig_version"] = __version__
        return event_dict

    return structlog.wrap_logger(
        sink,
        processors=[
            add_standard_fields,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            redactor,
            _render_json,
            redactor.scrub_rendered,
        ],
        wrapper_class=structlog.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    ).bind()


class NullAudit:
    """An audit sink that records nothing (the library default)."""

    def emit(self, event: str, /, **fields: Any) -> None:
        return None

    def add_secret(self, secret: str) -> None:
        return None


def _render_json(logger: Any, method_name: str, event_dict: Any) -> str:
    ordered = {key: event_dict[key] for key in STANDARD_KEYS if key in event_dict}
    ordered.update((k, v) for k, v in event_dict.items() if k not in ordered)
    return json.dumps(ordered, ensure_ascii=True, default=str, separators=(",", ":"))


def _open_append(path: Path) -> int:
    """Open ``path`` for appending, creating it 0600 and missing parents 0700.

    A path that exists and is not a regular file (a FIFO, ``/dev/stdout``) is opened write-only
    as it is: nothing is created or chmod-ed, and a FIFO without a reader is refused at once.

    Otherwise a repository may have committed ``.rtconfig/audit.jsonl -> victim`` or
    ``.rtconfig -> elsewhere``: the log is opened with ``O_NOFOLLOW`` relative to a descriptor
    of its directory, itself opened with ``O_NOFOLLOW``; a directory or log that is a symlink,
    is not owned by this user, or a log with other hard links is refused (an ``OSError`` naming
    why; nothing is sent). Only directories created here are chmod-ed (an existing
    ``.rtconfig`` is left as it is), and only the log itself is tightened to 0600.
    """
    try:
        existing = os.stat(path)
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        return _open_stream(path)
    _make_parents(path)
    dir_fd = _open_directory(path.parent)
    if path.parent.name == ".rtconfig":
        _write_gitignore(path.parent)  # after the check: never into a symlinked directory
    try:
        fd = os.open(
            path.name,
            os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK,
            0o600,
            dir_fd=dir_fd,
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refused(
                path, "is a symbolic link; the audit log is never written through one"
            ) from None
        raise
    finally:
        os.close(dir_fd)
    try:
        _vet_log(path, fd)
    except OSError:
        os.close(fd)
        raise
    return fd


def _make_parents(path: Path) -> None:
    """Create the log's missing parent directories 0700 (mkdir's mode is filtered by the umask;
    only directories created here are chmod-ed)."""
    parent = path.parent
    missing: list[Path] = []
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        created = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fchmod(created, 0o700)
        finally:
            os.close(created)


def _vet_log(path: Path, fd: int) -> None:
    """Refuse an opened log that is not a regular file of this user with one link; make the
    descriptor blocking and tighten the file to 0600."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise _refused(path, "is not a regular file")
    if info.st_uid != os.geteuid():
        raise _refused(path, "belongs to another user")
    if info.st_nlink > 1:
        raise _refused(path, "has other hard links (it may be another file's name)")
    os.set_blocking(fd, True)
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.fchmod(fd, 0o600)


GITIGNORE = "# Created by rtconfig automatically: audit logs stay out of version control.\n*\n"


def _write_gitignore(directory: Path) -> None:
    """A ``.gitignore`` ignoring everything in rtconfig's own directory (as pytest and ruff do
    for their caches), unless one is there already; best effort."""
    try:
        fd = os.open(
            directory / ".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644
        )
    except OSError:
        return  # already there (maybe the user's own), or not writable: leave it
    try:
        os.write(fd, GITIGNORE.encode())
    finally:
        os.close(fd)


def _open_stream(path: Path) -> int:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no reader
            raise OSError(
                exc.errno, f"audit log {path} is a FIFO that nobody is reading", str(path)
            ) from None
        raise
    os.set_blocking(fd, True)  # opened non-blocking only so that a reader-less FIFO fails
    return fd


def _open_directory(directory: Path) -> int:
    """A descriptor of the log's directory: not a symlink, and ours."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(directory):
            raise _refused(
                directory, "is a symbolic link; the audit log's directory must be a real one"
            ) from None
        raise
    info = os.fstat(fd)
    if info.st_uid != os.geteuid():
        os.close(fd)
        raise _refused(
            directory, "belongs to another user; the audit log's directory must be yours"
        )
    return fd


def _refused(path: Path, why: str) -> OSError:
    return OSError(errno.EPERM, f"refusing the audit log: {path} {why}", str(path))


def read_audit_log(path: str | os.PathLike[str], *, strict: bool = False) -> list[dict[str, Any]]:
    """Every record of an audit log, in order.

    An incomplete last line (a writer killed mid-record) is skipped. A damaged line elsewhere
    raises ``ValueError`` when ``strict``, else is skipped too.
    """
    from rtconfig._files import AUDIT_LOG, FileProblem, FileRefused, read_file

    records: list[dict[str, Any]] = []
    try:
        data = read_file(path, AUDIT_LOG)  # a regular file, at most 1 GiB
    except FileRefused as exc:
        if exc.problem is FileProblem.MISSING:
            raise FileNotFoundError(errno.ENOENT, exc.message, os.fspath(path)) from None
        raise OSError(errno.EINVAL, exc.message, os.fspath(path)) from None
    lines = data.split(b"\n")
    last = len(lines) - 1
    for number, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif strict and number != last:
            raise ValueError(f"{os.fspath(path)}:{number + 1}: not a JSON record")
    return records


# The stdlib-logging sink shares this module's chain; it lives beside it to keep modules small.
from rtconfig._audit_logging import LoggingAudit  # noqa: E402
