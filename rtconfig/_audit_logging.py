"""The stdlib-:mod:`logging` audit sink, re-exported as :class:`rtconfig.audit.LoggingAudit`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from rtconfig._environ import process_environ
from rtconfig.audit import Redactor, _record_logger, new_run_id, resolve_actor

__all__ = ["LoggingAudit"]


class _LoggingSink:
    """structlog's "logger" for :class:`LoggingAudit`: hands each rendered (redacted) record to
    a stdlib logger, the JSON line as the message and its fields as ``record.audit``."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level

    def msg(self, message: str) -> None:
        if self._logger.isEnabledFor(self._level):
            fields = json.loads(message)
            self._logger.log(self._level, "%s", message, extra={"audit": fields})

    info = msg


class LoggingAudit:
    """The audit log's records, sent to a stdlib :mod:`logging` logger instead of a file.

    Each record is the JSON line :class:`AuditLog` would write — the same standard fields, the
    same redaction (credential-named keys, key- and token-like values, every registered secret)
    — logged at ``level`` as the message, with the parsed fields in ``record.audit`` for
    structured handlers. Durability is the logging pipeline's; ``sync`` and ``close`` flush the
    logger's handlers. Thread-safe, like logging itself.
    """

    def __init__(
        self,
        logger: str | logging.Logger = "rtconfig.audit",
        *,
        level: int = logging.INFO,
        run_id: str | None = None,
        actor: str | None = None,
        environ: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.run_id = run_id or new_run_id()
        self.actor = actor or resolve_actor(process_environ() if environ is None else environ)
        self.redactor = Redactor(secrets)
        self._logger = _record_logger(_LoggingSink(self.logger, level), self, self.redactor)

    def __repr__(self) -> str:
        return f"<LoggingAudit {self.logger.name!r} run_id={self.run_id!r}>"

    def __enter__(self) -> LoggingAudit:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` (a key, a token) reach a logged record."""
        self.redactor.add(secret)

    def emit(self, event: str, /, **fields: Any) -> None:
        """Log one record: ``event`` plus ``fields`` plus the standard fields."""
        self._logger.info(event, **fields)

    def sync(self) -> None:
        """Flush the logger's handlers (and its ancestors', while they propagate)."""
        logger: logging.Logger | None = self.logger
        while logger is not None:
            for handler in logger.handlers:
                handler.flush()
            logger = logger.parent if logger.propagate else None

    close = sync
