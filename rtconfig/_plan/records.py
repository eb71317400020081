"""The plan's values: one :class:`PlanRecord` per (template, environment), and the :class:`Plan`.

A record is everything ``apply`` needs to send one request and to explain it: where it goes
(``endpoint``, ``settings``), exactly what is sent (``body`` and its ``body_sha256``), where each
value came from (``origins``, to point OpenAI's ``error.param`` at a TOML line), and how it
compares with the spec's defaults (``fields``) and with the lock file (``lock_status``,
``changes``). ``apply FILE``, ``apply PLAN.json``, ``--dry-run``, ``--locked``, ``lock`` and the
library's :func:`rtconfig.apply` all consume these records; nothing else describes a mint.

Pure values: no I/O, no printing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rtconfig._endpoints import Endpoint
from rtconfig._errors import Diagnostic, format_path
from rtconfig._keys import KeyPath, label
from rtconfig._origins import FieldRecord, Origin, OriginKind
from rtconfig._resolver import body_sha256 as canonical_sha256
from rtconfig._settings import Settings

if TYPE_CHECKING:
    from rtconfig._plan.lock import LockEntry
    from rtconfig._resolver import ResolvedTemplate

__all__ = [
    "PLAN_FORMAT_VERSION",
    "ChangeAction",
    "FieldChange",
    "LockStatus",
    "Path",
    "Plan",
    "PlanRecord",
    "PlannedField",
    "canonical_sha256",
    "env_label",
    "label",
]

PLAN_FORMAT_VERSION = 1

Path = KeyPath
LockStatus = Literal["new", "changed", "unchanged"]
ChangeAction = Literal["add", "update", "remove"]


def env_label(env: str | None) -> str:
    return f"[{env}]" if env is not None else "[default environment]"


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


class FieldOrigins(Mapping[Path, Origin]):
    """A resolved template's leaves seen as ``path -> Origin`` without copying them (plans of
    10,000 templates must not build 40,000 dictionaries nobody reads)."""

    __slots__ = ("_records",)

    def __init__(self, records: Mapping[Path, FieldRecord]) -> None:
        self._records = records

    def __getitem__(self, path: Path) -> Origin:
        return self._records[path].origin

    def __iter__(self) -> Iterator[Path]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


@dataclass(frozen=True, slots=True)
class PlanRecord:
    """One (template, environment): what ``apply`` sends, where, and why each value is there.

    ``session``/``session_sha256`` are set for ``realtime/client_secrets`` bodies: the session
    object the other carriers send (CONTRACT §10) and its hash. ``origins`` maps *template*
    paths to where they were set; :meth:`origin_of` finds the nearest one. ``fields`` and
    ``changes`` compare the body with the spec's defaults and with the lock file (empty when the
    record was not planned against them).
    """

    name: str
    env: str | None
    endpoint: Endpoint
    settings: Settings
    body: Mapping[str, Any]
    body_sha256: str
    origins: Mapping[Path, Origin] = field(default_factory=dict, compare=False, repr=False)
    lock_status: LockStatus | None = None
    changes: tuple[FieldChange, ...] = ()
    fields: tuple[PlannedField, ...] = field(default=(), repr=False)
    locked_sha256: str | None = None
    description: str | None = None
    header: Origin | None = field(default=None, compare=False, repr=False)
    session_sha256: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not isinstance(self.endpoint, Endpoint):
            raise TypeError("PlanRecord needs a str name and an Endpoint endpoint")
        if not isinstance(self.settings, Settings):
            raise TypeError(f"PlanRecord.settings must be a Settings, not {type(self.settings)}")
        if not isinstance(self.body, Mapping):
            raise TypeError(f"PlanRecord.body must be a mapping, not {type(self.body).__name__}")
        if self.session_sha256 is None:
            session = self.session
            if session is not None:
                object.__setattr__(self, "session_sha256", canonical_sha256(session))

    @classmethod
    def from_resolved(cls, resolved: ResolvedTemplate, **planned: Any) -> PlanRecord:
        """The record of a resolved (and validated) template; ``planned`` adds the comparison
        with defaults and the lock (see :func:`rtconfig._plan.make.make_plan`)."""
        return cls(
            name=resolved.name,
            env=resolved.env,
            endpoint=resolved.endpoint,
            settings=resolved.settings,
            body=resolved.body,
            body_sha256=planned.pop("body_sha256", None) or canonical_sha256(resolved.body),
            origins=FieldOrigins(resolved.fields),
            description=resolved.description,
            header=resolved.header,
            **planned,
        )

    @classmethod
    def for_body(
        cls,
        name: str,
        body: Mapping[str, Any],
        *,
        env: str | None = None,
        endpoint: Endpoint = Endpoint.CLIENT_SECRETS,
        settings: Settings | None = None,
    ) -> PlanRecord:
        """A record for a body made elsewhere (tests, scripts): no origins, no comparison."""
        settings = settings or Settings(endpoint=endpoint)
        return cls(name, env, endpoint, settings, body, canonical_sha256(body))

    @property
    def sha256(self) -> str:
        """The body hash under the name ``plan --json`` and the lock file use."""
        return self.body_sha256

    @property
    def session(self) -> Mapping[str, Any] | None:
        """The session object of a GA body (``realtime/client_secrets``), else None."""
        if self.endpoint is not Endpoint.CLIENT_SECRETS:
            return None
        session = self.body.get("session")
        return session if isinstance(session, Mapping) else None

    @property
    def label(self) -> str:
        return label(self.name, self.env)

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.env)

    @property
    def url(self) -> str:
        return self.settings.base_url.rstrip("/") + "/" + self.endpoint.value

    @property
    def overrides(self) -> tuple[PlannedField, ...]:
        """Leaves that differ from the documented default, or have none documented."""
        return tuple(f for f in self.fields if not f.redundant)

    @property
    def redundant(self) -> tuple[PlannedField, ...]:
        """Leaves set to exactly the documented default (a lint: they can be deleted)."""
        return tuple(f for f in self.fields if f.redundant)

    def origin_of(self, path: Path) -> Origin | None:
        """The origin of the leaf at ``path`` or of the nearest enclosing one; else the header."""
        origins = self.origins
        for end in range(len(path), 0, -1):
            found = origins.get(path[:end])
            if found is not None:
                return found
        return self.header


@dataclass(frozen=True, slots=True)
class Plan:
    """The whole plan: records in the order they were resolved, then locked pairs the
    configuration no longer produces (``removed``).

    ``locked`` is False when there was no lock file to compare with (every ``lock_status`` is
    then None). ``config_file``/``lock_file`` are the names to show. ``environ`` is where the
    plan was made (and where :func:`rtconfig.apply` reads the key); it is never saved.
    """

    templates: tuple[PlanRecord, ...]
    removed: tuple[LockEntry, ...] = ()
    locked: bool = False
    envs: tuple[str | None, ...] = (None,)
    config_file: str | None = None
    lock_file: str | None = None
    format_version: int = PLAN_FORMAT_VERSION
    environ: Mapping[str, str] | None = field(default=None, compare=False, repr=False)
    config_path: str | None = field(default=None, compare=False, repr=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.templates, tuple) or not all(
            isinstance(t, PlanRecord) for t in self.templates
        ):
            raise TypeError("Plan.templates must be a tuple of PlanRecord")

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


def origin_from_json(data: Mapping[str, Any]) -> Origin:
    """An origin as a saved plan stores it (``Origin.to_json``); raises on wrong types."""
    kind = OriginKind(data["kind"])
    values: dict[str, str | None] = {}
    for key in ("file", "template", "env", "var", "source"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"origin {key} must be a string or null")
        values[key] = value
    line = data.get("line")
    if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
        raise TypeError("origin line must be a positive integer or null")
    return Origin(
        kind,
        file=values["file"],
        line=line,
        template=values["template"],
        env=values["env"],
        var=values["var"],
        source=values["source"],
    )
