"""The carriers for a template record (a resolved template or a plan record): the public
``rtconfig.session_update`` and the session a call sends, refused with a located diagnostic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rtconfig._carriers._session import call_session, session_sha256, session_update_event
from rtconfig._endpoints import Endpoint
from rtconfig._errors import ConfigError

__all__ = ["TemplateRecord", "call_session_for", "session_update", "sha256_of_session"]


class TemplateRecord(Protocol):
    """What a carrier needs of a template: its name, environment, endpoint and minting body."""

    @property
    def name(self) -> str: ...
    @property
    def env(self) -> str | None: ...
    @property
    def endpoint(self) -> Endpoint: ...
    @property
    def body(self) -> Mapping[str, Any]: ...


def _refused(record: TemplateRecord, message: str) -> ConfigError:
    header = getattr(record, "header", None)  # a ResolvedTemplate knows its TOML header
    where: dict[str, Any] = {"template": record.name, "env": record.env}
    if header is not None:
        where.update(file=header.file, line=header.line, col=header.col)
    from rtconfig._codes import DiagnosticCode

    return ConfigError.single(message, code=DiagnosticCode.CARRIER_NOT_SUPPORTED, **where)


def session_update(record: TemplateRecord, *, event_id: str | None = None) -> dict[str, Any]:
    """The ``session.update`` client event carrying ``record``'s session (CONTRACT §10), for a
    WebSocket or data-channel connection. :class:`~rtconfig.ConfigError` for a beta template."""
    try:
        return session_update_event(record.endpoint, record.body, event_id=event_id)
    except ValueError as exc:
        raise _refused(record, str(exc)) from None


def call_session_for(record: TemplateRecord) -> dict[str, Any]:
    """The session object ``calls`` and ``accept`` send for ``record``; ConfigError saying why
    when the template cannot take calls (beta, transcription, translation)."""
    try:
        return call_session(record.endpoint, record.body)
    except ValueError as exc:
        raise _refused(record, str(exc)) from None


def sha256_of_session(record: TemplateRecord) -> str | None:
    """``session_sha256`` of a record (None for a beta template, which has no session)."""
    return session_sha256(record.endpoint, record.body)
