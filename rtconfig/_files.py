"""Every file rtconfig reads, and every file it writes, goes through this module.

Reading: a file is opened once and judged by ``fstat`` on the opened descriptor — never by a
check before the open, which a swapped symlink could race. Only regular files are read (a FIFO
would block for ever, ``/dev/zero`` never end, even through a symlink a pull request committed),
and never more than the limit of the file's kind (:class:`FileKind`): a file that grows while it
is read is still cut off one byte past the limit. :func:`read_in_tree` additionally walks a
relative path component by component with ``O_NOFOLLOW`` from an opened directory, so what it
reads is the file it checked: inside the directory, through no dot-directory unless allowed.

Writing: :func:`atomic_write` writes a temporary file in the same directory, fsyncs it, renames
it over the target and fsyncs the directory: a reader sees the old file or the new one, and
after a crash the new one is either complete or absent. A symlink at the target is replaced
(never written through); a device node, FIFO or directory at the target, or a file the caller
must not overwrite (the audit log under ``--output``), is refused.

Problems are :class:`FileRefused` with a :class:`FileProblem` code and a message that names no
path (callers add ``file=``).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rtconfig._codes import DiagnosticCode

__all__ = [
    "AUDIT_LOG",
    "IMPORT_JSON",
    "INSTRUCTIONS",
    "LOCK_FILE",
    "SAVED_PLAN",
    "SESSIONS_TOML",
    "FileKind",
    "FileProblem",
    "FileRefused",
    "atomic_write",
    "hidden_part",
    "read_file",
    "read_in_tree",
    "read_stream",
    "refuse_unwritable",
]

_MiB = 1024 * 1024
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class FileKind:
    """What a file is to rtconfig, and the most of it rtconfig will read."""

    label: str
    max_bytes: int

    @property
    def limit_text(self) -> str:
        if self.max_bytes % _MiB == 0:
            return f"{self.max_bytes} bytes ({self.max_bytes // _MiB} MiB)"
        return f"{self.max_bytes} bytes"


SESSIONS_TOML = FileKind("TOML file", 16 * _MiB)
INSTRUCTIONS = FileKind("instructions_file", 1 * _MiB)
# Lock files and saved plans hold every template's body; they are untrusted input (a pull request
# can commit one, or a symlink to /dev/zero in its place).
LOCK_FILE = FileKind("lock file", 64 * _MiB)
SAVED_PLAN = FileKind("saved plan", 64 * _MiB)
IMPORT_JSON = FileKind("session JSON", 16 * _MiB)
AUDIT_LOG = FileKind("audit log", 1024 * _MiB)


class FileProblem(enum.Enum):
    MISSING = "missing"
    INVALID_PATH = "invalid_path"  # no file can have this name (it holds a NUL)
    IS_DIRECTORY = "is_directory"
    NOT_REGULAR = "not_regular"
    TOO_LARGE = "too_large"
    SYMLINK = "symlink"
    OUTSIDE = "outside"
    HIDDEN = "hidden"
    FORBIDDEN = "forbidden"
    UNREADABLE = "unreadable"


class FileRefused(Exception):
    """A file rtconfig will not read or write; ``message`` names no path."""

    def __init__(self, problem: FileProblem, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
        self.size = size

    @property
    def code(self) -> DiagnosticCode:
        """The diagnostic code of this refusal: missing, too large, or otherwise unreadable."""
        if self.problem is FileProblem.MISSING or self.problem is FileProblem.INVALID_PATH:
            return DiagnosticCode.FILE_NOT_FOUND
        if self.problem is FileProblem.TOO_LARGE:
            return DiagnosticCode.LIMIT_EXCEEDED
        return DiagnosticCode.FILE_UNREADABLE


_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


def _from_oserror(exc: OSError) -> FileRefused:
    if exc.errno == errno.ENOENT:
        return FileRefused(FileProblem.MISSING, "no such file")
    if exc.errno == errno.EISDIR:
        return FileRefused(FileProblem.IS_DIRECTORY, "is a directory, not a file")
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return FileRefused(FileProblem.SYMLINK, "is a symbolic link, which is not followed here")
    if exc.errno == errno.ENOTDIR:
        return FileRefused(
            FileProblem.MISSING, "no such file (a part of the path is not a directory)"
        )
    return FileRefused(FileProblem.UNREADABLE, f"cannot be read: {exc.strerror or exc}")


def _read_fd(fd: int, kind: FileKind) -> bytes:
    """Judge the opened descriptor, then read at most one byte past the limit."""
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(FileProblem.IS_DIRECTORY, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(
            FileProblem.NOT_REGULAR,
            f"is not a regular file ({_describe_mode(info.st_mode)}); rtconfig reads only "
            "regular files",
        )
    if info.st_size > kind.max_bytes:
        raise _too_large(kind, info.st_size)
    # A regular file ignores O_NONBLOCK; clear it anyway so reads behave as usual.
    os.set_blocking(fd, True)
    chunks: list[bytes] = []
    total = 0
    while total <= kind.max_bytes:
        chunk = os.read(fd, min(_CHUNK, kind.max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > kind.max_bytes:  # it grew while being read
        raise _too_large(kind, None)
    return b"".join(chunks)


def _too_large(kind: FileKind, size: int | None) -> FileRefused:
    shown = f"{size} bytes" if size is not None else f"more than {kind.max_bytes} bytes"
    return FileRefused(
        FileProblem.TOO_LARGE,
        f"is {shown}; the limit is {kind.limit_text}",
        size=size,
    )


def _describe_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_file(
    path: str | os.PathLike[str], kind: FileKind, *, follow_symlinks: bool = True
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``kind.max_bytes`` of them.

    ``follow_symlinks=False`` refuses a symlink as the last component (``O_NOFOLLOW``).
    """
    flags = _READ_FLAGS | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _from_oserror(exc) from None
    except ValueError:  # an embedded NUL: no file has that name
        raise FileRefused(FileProblem.MISSING, "no such file (the path holds a NUL)") from None
    try:
        return _read_fd(fd, kind)
    except OSError as exc:
        raise _from_oserror(exc) from None
    finally:
        os.close(fd)


def read_stream(stream: BinaryIO, kind: FileKind) -> bytes:
    """At most ``kind.max_bytes`` from a stream (stdin); more is refused, not read."""
    chunks: list[bytes] = []
    total = 0
    while total <= kind.max_bytes:
        chunk = stream.read(min(_CHUNK, kind.max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > kind.max_bytes:
        raise _too_large(kind, None)
    return b"".join(chunks)


def hidden_part(parts: Iterable[str]) -> str | None:
    """The first component of a path that starts with a dot (``.git``, ``.env``), or None."""
    for part in parts:
        if part.startswith(".") and part not in (".", ".."):
            return part
    return None


def read_in_tree(
    base_dir: str | os.PathLike[str],
    relative: str,
    kind: FileKind,
    *,
    allow_hidden: bool = False,
) -> bytes:
    """The regular file at ``relative`` below ``base_dir``, opened without a race.

    Refused: a path that leaves ``base_dir`` (``..``, absolute, a symlink pointing out), one that
    passes through a dot-directory or names a dot-file (as written or once symlinks are resolved)
    unless ``allow_hidden``, and anything but a regular file. The resolved path is opened one
    component at a time with ``O_NOFOLLOW`` from a descriptor of ``base_dir``: a symlink swapped
    in after the check makes the open fail rather than read elsewhere.
    """
    if "\0" in relative:
        raise FileRefused(FileProblem.INVALID_PATH, "is not a valid path (it holds a NUL)")
    base = Path(base_dir).resolve()
    written = Path(relative)
    if not allow_hidden and hidden_part(written.parts):
        raise _hidden(hidden_part(written.parts))
    try:
        target = (base / written).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise FileRefused(FileProblem.SYMLINK, f"cannot be resolved: {exc}") from None
    if not target.is_relative_to(base) or target == base:
        raise FileRefused(
            FileProblem.OUTSIDE,
            "is outside the directory of the TOML file (files are read only from that "
            "directory and below; symlinks included)",
        )
    parts = target.relative_to(base).parts
    if not allow_hidden and hidden_part(parts):
        raise _hidden(hidden_part(parts))
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _from_oserror(exc) from None
    try:
        for part in parts[:-1]:
            step = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd
            )
            os.close(fd)
            fd = step
        step = os.open(parts[-1], _READ_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = step
        return _read_fd(fd, kind)
    except OSError as exc:
        raise _from_oserror(exc) from None
    finally:
        os.close(fd)


def _hidden(part: str | None) -> FileRefused:
    return FileRefused(
        FileProblem.HIDDEN,
        f"goes through {part!r}, a hidden (dot) file or directory such as .git, .env or "
        ".rtconfig, which can hold credentials; it is read only when allowed for this file",
    )


# --- writing ---------------------------------------------------------------------------------


def _default_mode(existing: os.stat_result | None) -> int:
    if existing is not None and stat.S_ISREG(existing.st_mode):
        return stat.S_IMODE(existing.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    mode: int | None = None,
    not_onto: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Replace ``path`` with ``data`` atomically (temporary file, fsync, rename, fsync directory).

    ``mode`` defaults to the existing file's permissions, else 0666 less the umask; it is set on
    the temporary file before any data is written, so the data is never readable more widely.
    Refused (:class:`FileRefused`, nothing written): a directory, device node, FIFO or socket at
    ``path``, or the same file as one of ``not_onto`` (e.g. the audit log). A symlink at ``path``
    is replaced by the file, never written through.
    """
    target = Path(path)
    existing = refuse_unwritable(target, not_onto=not_onto)
    if mode is None:
        mode = _default_mode(existing)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(temp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def refuse_unwritable(
    path: str | os.PathLike[str], *, not_onto: Iterable[str | os.PathLike[str]] = ()
) -> os.stat_result | None:
    """Raise :class:`FileRefused` unless :func:`atomic_write` may replace ``path``; return what
    is there now (``lstat``), or None."""
    target = Path(path)
    try:
        existing: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise FileRefused(FileProblem.UNREADABLE, f"cannot be written: {exc.strerror}") from None
    if existing is not None and not (
        stat.S_ISREG(existing.st_mode) or stat.S_ISLNK(existing.st_mode)
    ):
        what = "a directory" if stat.S_ISDIR(existing.st_mode) else _describe_mode(existing.st_mode)
        raise FileRefused(
            FileProblem.NOT_REGULAR, f"is {what}; rtconfig replaces only regular files"
        )
    _refuse_same_file(target, not_onto)
    return existing


def _refuse_same_file(target: Path, not_onto: Iterable[str | os.PathLike[str]]) -> None:
    guarded: list[os.stat_result] = []
    for name in not_onto:
        with contextlib.suppress(OSError):
            guarded.append(os.stat(name))
    if not guarded:
        return
    candidates = []
    for follow in (False, True):
        with contextlib.suppress(OSError):
            candidates.append(os.stat(target, follow_symlinks=follow))
    for info in candidates:
        for other in guarded:
            if (info.st_dev, info.st_ino) == (other.st_dev, other.st_ino):
                raise FileRefused(
                    FileProblem.FORBIDDEN,
                    "is the audit log (or another file rtconfig keeps); choose another path",
                )


def _fsync_directory(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(dir_fd)
