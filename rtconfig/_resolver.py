"""Resolution (contract §3): layers merged in order, every leaf remembering where it came from."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rtconfig._codes import DiagnosticCode
from rtconfig._codes import DiagnosticCode as C
from rtconfig._endpoints import Endpoint
from rtconfig._errors import Diagnostic
from rtconfig._keys import MISSING, KeyPath
from rtconfig._origins import FieldRecord, Origin, OriginKind
from rtconfig._settings import SETTING_KEYS, Settings, check_setting
from rtconfig._sources import Layer, Sources, TemplateSource
from rtconfig._suggest import did_you_mean
from rtconfig._values import canonical_json

# Deeper chains are refused rather than risking Python's recursion limit; real files use < 10.
MAX_INHERITANCE_DEPTH = 128

__all__ = [
    "MAX_INHERITANCE_DEPTH",
    "Inherited",
    "Resolution",
    "ResolvedSettings",
    "ResolvedTemplate",
    "Resolver",
    "body_hashes",
    "body_sha256",
    "merge_layers",
    "resolve_settings",
    "resolve_settings_layers",
    "settings_layers",
]


def body_sha256(body: Mapping[str, Any]) -> str:
    """The contract's body hash: sha256 of the sorted, compact, UTF-8 JSON."""
    return _sha256(canonical_json(body))


def body_hashes(body: Mapping[str, Any]) -> tuple[str, str | None]:
    """``body_sha256(body)`` and, when ``body["session"]`` is a table, its ``body_sha256``
    (CONTRACT §10), encoding the session once: the body's canonical JSON is its sorted
    top-level members' canonical JSON, joined."""
    session = body.get("session")
    if not isinstance(session, dict) or not all(isinstance(key, str) for key in body):
        inner = body_sha256(session) if isinstance(session, Mapping) else None
        return body_sha256(body), inner
    members = {key: canonical_json(value) for key, value in body.items()}
    text = "{" + ",".join(f"{canonical_json(key)}:{members[key]}" for key in sorted(members)) + "}"
    return _sha256(text), _sha256(members["session"])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ResolvedTemplate:
    """A template resolved for one environment and validated: the exact body to send.

    ``fields`` maps every leaf's *template path* (``("audio", "output", "voice")``) to its
    value and provenance. Arrays are leaves. ``settings_fields`` does the same for ``settings``
    (see :meth:`settings_records`).
    """

    name: str
    env: str | None
    endpoint: Endpoint
    settings: Settings
    body: dict[str, Any]
    fields: Mapping[KeyPath, FieldRecord]
    header: Origin
    description: str | None = None
    warnings: tuple[Diagnostic, ...] = field(default=())
    settings_fields: Mapping[KeyPath, FieldRecord] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def sha256(self) -> str:
        return body_sha256(self.body)

    @property
    def body_sha256(self) -> str:
        """The same hash under the plan record's name (so the lock can project either)."""
        return body_sha256(self.body)

    def settings_records(self) -> dict[KeyPath, FieldRecord]:
        """Where each ``[api]`` setting came from, and what it overrode. ``endpoint`` is the
        template's own when it sets one, overriding the setting's chain."""
        records = dict(self.settings_fields)
        own = self.fields.get(("endpoint",))
        if own is not None:
            under = records.get(("endpoint",))
            chain = own.overridden
            if under is not None:
                chain = (*chain, (under.value, under.origin), *under.overridden)
            records[("endpoint",)] = FieldRecord.chain(own.value, own.origin, chain)
        return dict(sorted(records.items()))

    def origin_of(self, path: KeyPath) -> Origin:
        """The origin of the leaf at ``path`` or of the nearest enclosing leaf; else the header."""
        for end in range(len(path), 0, -1):
            record = self.fields.get(path[:end])
            if record is not None:
                return record.origin
        return self.header


# --- resolution ------------------------------------------------------------------------------


@dataclass(slots=True)
class Resolution:
    """What the layers built for one template in one environment: nested values (with the
    field-like meta-keys ``endpoint`` and ``expires_after``) and a record per leaf.

    ``layers`` are the layers merged, lowest first, each with its own output (``Layer.values``,
    or an inherited parent's resolution), kept for debugging: ``[l.label for l in r.layers]``.
    """

    values: dict[str, Any]
    records: dict[KeyPath, FieldRecord]
    layers: tuple[Layer | Inherited, ...] = ()

    def copy(self) -> Resolution:
        # Nested tables are copied on write by the merge functions, so a shallow copy suffices.
        return Resolution(dict(self.values), dict(self.records), self.layers)


class Inherited(NamedTuple):
    """A parent template (``extends``), resolved fully, merged as one layer (a tuple: one per
    parent of every template in every environment)."""

    name: str
    resolution: Resolution

    @property
    def label(self) -> str:
        return f"parent {self.name}"


def merge_layers(layers: Sequence[Layer | Inherited]) -> Resolution:
    """The one merge loop: each layer over the ones before it, lowest first (contract §3)."""
    acc = Resolution({}, {})
    for layer in layers:
        if isinstance(layer, Inherited):
            _inherit(acc, layer.resolution)
        else:
            _apply(acc, layer)
    acc.layers = tuple(layers)
    return acc


class Resolver:
    """Resolves templates of one file for one environment, caching each result (contract §3).

    Layers, lowest first: the environment's ``"*"`` overlay, each parent (resolved fully, later
    parents winning), the template's own table, its environment overlay, ``RTCONFIG__``
    variables, ``--set``. The ``"*"`` overlay sits beneath the root of each inheritance chain
    only: a child's parents already carry it.
    """

    def __init__(
        self,
        sources: Sources,
        env: str | None,
        env_layers: Mapping[str, Layer],
        set_layers: Mapping[str, Layer],
        base: Resolver | None = None,
    ) -> None:
        self.sources = sources
        self.env = env
        self.environment = sources.environments.get(env) if env else None
        self.env_layers = env_layers
        self.set_layers = set_layers
        # The default environment's resolver (same variables and --set): a template this
        # environment does not touch resolves to the very same Resolution, records map included.
        environment = self.environment
        shareable = environment is not None and "*" not in environment.overlays
        self.base = base if shareable and base is not self else None
        self._done: dict[str, Resolution | None] = {}
        self._stack: list[str] = []
        self._untouched: dict[str, bool] = {}
        self.diagnostics: dict[str, list[Diagnostic]] = {}

    def resolve(self, name: str) -> Resolution | None:
        """The resolution of ``name``, or None when it (or an ancestor) cannot be resolved."""
        if name in self._done:
            return self._done[name]
        if self.base is not None and self.untouched(name):
            result = self._done[name] = self.base.resolve(name)
            return result
        template = self.sources.templates[name]
        self._stack.append(name)
        try:
            result = self._resolve(template)
        finally:
            self._stack.pop()
        self._done[name] = result
        return result

    def untouched(self, name: str) -> bool:
        """Whether this environment adds no layer to ``name`` or any of its ancestors (no
        ``"*"`` overlay, no overlay of theirs). A cycle or an unknown parent counts as touched:
        this resolver then reports it itself."""
        found = self._untouched.get(name)
        if found is not None:
            return found
        environment = self.environment
        self._untouched[name] = False  # while deciding: a cycle back here is "touched"
        template = self.sources.templates.get(name)
        result = (
            environment is not None
            and "*" not in environment.overlays
            and template is not None
            and name not in environment.overlays
            and all(self.untouched(parent) for parent in template.extends)
        )
        self._untouched[name] = result
        return result

    def _fail(self, template: TemplateSource, code: DiagnosticCode, message: str) -> None:
        layer = template.layer
        origin = layer.meta_origin("extends")
        self.diagnostics.setdefault(template.name, []).append(
            Diagnostic(
                "error",
                message,
                code=code,
                file=origin.file,
                line=origin.line,
                col=origin.col,
                template=template.name,
                env=self.env,
                path="extends",
            )
        )

    def _resolve(self, template: TemplateSource) -> Resolution | None:
        layers = self.layers(template)
        return None if layers is None else merge_layers(layers)

    def layers(self, template: TemplateSource) -> list[Layer | Inherited] | None:
        """The layers of ``template`` in this environment, lowest first; None when a parent
        cannot be resolved (its diagnostic says why)."""
        parents: list[Layer | Inherited] = []
        for parent in template.extends:
            resolved = self._parent(template, parent)
            if resolved is None:
                return None
            parents.append(Inherited(parent, resolved))
        environment = self.environment
        star = environment.overlays.get("*") if environment and not parents else None
        ordered = [
            *parents,
            star,
            template.layer,
            environment.overlays.get(template.name) if environment else None,
            self.env_layers.get(template.name),
            self.set_layers.get(template.name),
        ]
        return [layer for layer in ordered if layer is not None]

    def _parent(self, template: TemplateSource, parent: str) -> Resolution | None:
        if parent in self._stack:
            chain = [*self._stack[self._stack.index(parent) :], parent]
            self._fail(template, C.EXTENDS_CYCLE, "inheritance cycle: " + " -> ".join(chain))
            return None
        if parent not in self.sources.templates:
            self._fail(
                template,
                C.UNKNOWN_TEMPLATE,
                f"unknown parent template {parent!r}"
                + did_you_mean(parent, self.sources.templates),
            )
            return None
        if len(self._stack) >= MAX_INHERITANCE_DEPTH:
            self._fail(
                template,
                C.LIMIT_EXCEEDED,
                f"inheritance chain is deeper than {MAX_INHERITANCE_DEPTH} templates "
                f"(the limit): {self._stack[0]} -> … -> {template.name} -> {parent}",
            )
            return None
        return self.resolve(parent)


def _apply(acc: Resolution, layer: Layer) -> None:
    """Merge one layer: its ``unset`` first, then its values (tables deep), then its ``null``."""
    for path in layer.unset:
        _remove(acc, path)
    # acc.values is merge_layers' own (a fresh dict, or a copy of the first parent's): nested
    # tables are copied on write, so the top level needs no copy per layer.
    _merge(acc.values, layer.values, (), layer.leaf_origins(), acc.records)
    if layer.null:
        origin = layer.meta_origin("null")
        for path in layer.null:
            _set_leaf(acc, path, None, origin)


def _merge(
    dst: dict[str, Any],
    src: Mapping[str, Any],
    prefix: KeyPath,
    origins: Mapping[KeyPath, Origin],
    records: dict[KeyPath, FieldRecord],
) -> None:
    # The hot loop of resolution: exact class checks and one records lookup per leaf.
    for key, value in src.items():
        path = (*prefix, key)
        if value.__class__ is dict and value:
            existing = dst.get(key)
            if existing.__class__ is dict:
                child = existing.copy()
            else:
                if key in dst:
                    records.pop(path, None)  # a scalar replaced by a table
                child = {}
            dst[key] = child
            _merge(child, value, path, origins, records)
            continue
        # The record replaced is linked, not copied: one new object per override.
        below = records.get(path)
        if below is None and key in dst:
            below = _overridden(records, path, dst[key])
        dst[key] = value
        records[path] = FieldRecord(value, origins[path], below)


def _overridden(
    records: dict[KeyPath, FieldRecord], path: KeyPath, existing: Any
) -> FieldRecord | None:
    """The record a new leaf at ``path`` overrides (and forgets the leaves it replaces)."""
    current = records.get(path)
    if current is not None:
        return current
    if isinstance(existing, dict) and existing:
        removed = _drop_under(records, path)
        if removed:
            return FieldRecord(existing, removed[0].origin)
    return None


def _drop_under(records: dict[KeyPath, FieldRecord], path: KeyPath) -> list[FieldRecord]:
    n = len(path)
    doomed = [p for p in records if p[:n] == path]
    return [records.pop(p) for p in doomed]


def _walk_copying(acc: Resolution, path: KeyPath, create: bool) -> dict[Any, Any] | None:
    """The table holding ``path[-1]``, copying every table on the way (copy on write)."""
    acc.values = dict(acc.values)
    node: dict[Any, Any] = acc.values
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            if not create:
                return None
            if child is not None or part in node:
                acc.records.pop(path[: depth + 1], None)
            child = {}
        else:
            child = dict(child)
        node[part] = child
        node = child
    return node


def _remove(acc: Resolution, path: KeyPath) -> None:
    node = _walk_copying(acc, path, create=False)
    if node is not None and path[-1] in node:
        del node[path[-1]]
        acc.records.pop(path, None)
        _drop_under(acc.records, path)
        # A table that held only unset keys goes too: `unset = ["audio.output.voice"]` must
        # not leave an empty `audio.output` to be sent (the tables were copied on the way).
        for end in range(len(path) - 1, 0, -1):
            parent: Any = acc.values
            for part in path[: end - 1]:
                parent = parent[part]
            if parent.get(path[end - 1]) != {}:
                break
            del parent[path[end - 1]]


def _set_leaf(
    acc: Resolution,
    path: KeyPath,
    value: Any,
    origin: Origin,
    more: FieldRecord | None = None,
) -> None:
    node = _walk_copying(acc, path, create=True)
    assert node is not None
    existing = node.get(path[-1], MISSING)
    below = _overridden(acc.records, path, existing)
    node[path[-1]] = value
    if more is None:
        acc.records[path] = FieldRecord(value, origin, below)
        return
    # A later parent's leaf: its own chain follows, less what this one already lists.
    chain = () if below is None else ((below.value, below.origin), *below.overridden)
    extra = tuple(item for item in FieldRecord(value, origin, more).overridden if item not in chain)
    acc.records[path] = FieldRecord.chain(value, origin, (*chain, *extra))


def _inherit(acc: Resolution, parent: Resolution) -> None:
    """A later parent wins, except with values ``acc`` already knows and overrode: in a diamond,
    a value inherited from the shared ancestor cannot undo the other parent's override."""
    if not acc.values and not acc.records:  # the first parent: take it whole
        acc.values = dict(parent.values)
        acc.records = dict(parent.records)
        return
    for path, record in parent.records.items():
        current = acc.records.get(path)
        if current is not None and (
            current.origin == record.origin or current.overrode(record.origin)
        ):
            continue
        _set_leaf(acc, path, record.value, record.origin, record.below)


@dataclass(frozen=True, slots=True)
class ResolvedSettings:
    """``[api]`` settings for one environment, and where each came from (``explain --settings``)."""

    settings: Settings
    fields: Mapping[KeyPath, FieldRecord]
    layers: tuple[Layer, ...]
    env: str | None = None


def settings_layers(
    sources: Sources,
    env: str | None,
    environ: Mapping[str, str],
    base_url: str | None = None,
) -> tuple[list[Layer], list[Diagnostic]]:
    """The layers of ``[api]`` settings, lowest first: rtconfig's defaults, ``OPENAI_ORG_ID`` and
    ``OPENAI_PROJECT_ID`` (as the openai SDK reads them when they are not given explicitly),
    ``[api]``, ``[environments.E.api]``, ``OPENAI_BASE_URL``, ``--base-url``.

    Values in the file were checked when it was read (an invalid one is left out here, so it
    overrides nothing); the variable and the flag are checked here.
    """
    defaults = Layer(OriginKind.DEFAULT, dict(_DEFAULTS), fixed=dict(_DEFAULT_ORIGINS))
    layers = [defaults]
    sdk_values: dict[str, Any] = {}
    sdk_origins: dict[KeyPath, Origin] = {}
    for key, variable in SDK_DEFAULT_VARIABLES.items():
        value = environ.get(variable)
        if value and check_setting(key, value) is None:  # an unusable value is left out
            sdk_values[key] = value
            sdk_origins[(key,)] = Origin(OriginKind.ENV_VAR, var=variable)
    if sdk_values:
        layers.append(Layer(OriginKind.ENV_VAR, sdk_values, fixed=sdk_origins))
    layers.append(_api_layer(sources, sources.api, ("api",), None))
    environment = sources.environments.get(env) if env else None
    if environment is not None:
        at: KeyPath = ("environments", environment.name, "api")
        layers.append(_api_layer(sources, environment.api, at, environment.name))
    diagnostics: list[Diagnostic] = []
    for value, origin in (
        (environ.get("OPENAI_BASE_URL"), Origin(OriginKind.ENV_VAR, var="OPENAI_BASE_URL")),
        (base_url, Origin(OriginKind.FLAG, source="--base-url")),
    ):
        if not value:
            continue
        problem = check_setting("base_url", value)
        if problem:
            where = origin.var or origin.source
            diagnostics.append(
                Diagnostic("error", problem, code=C.INVALID_SETTING, file=where, path="base_url")
            )
        else:
            fixed: dict[KeyPath, Origin] = {("base_url",): origin}
            layers.append(Layer(origin.kind, {"base_url": value}, fixed=fixed))
    return layers, diagnostics


def _api_layer(sources: Sources, table: Mapping[str, Any], at: KeyPath, env: str | None) -> Layer:
    values = {
        key: value
        for key, value in table.items()
        if key in SETTING_KEYS and check_setting(key, value) is None
    }
    return Layer(OriginKind.API, values, env=env, document=sources.document, base=at)


def _default_values() -> dict[str, Any]:
    """``Settings()``'s values as ``[api]`` would write them (unset ones left out)."""
    defaults = Settings()
    values: dict[str, Any] = {}
    for field_ in dataclasses.fields(Settings):
        value = getattr(defaults, field_.name)
        if value is not None:
            values[field_.name] = value.value if isinstance(value, Endpoint) else value
    return values


_DEFAULTS = _default_values()
_DEFAULT_ORIGINS: dict[KeyPath, Origin] = {(key,): Origin(OriginKind.DEFAULT) for key in _DEFAULTS}


def resolve_settings_layers(
    sources: Sources,
    env: str | None,
    environ: Mapping[str, str],
    base_url: str | None = None,
) -> tuple[ResolvedSettings, list[Diagnostic]]:
    """The settings for ``env`` through the same merge loop as templates, with provenance."""
    layers, diagnostics = settings_layers(sources, env, environ, base_url)
    merged = merge_layers(layers)
    kwargs: dict[str, Any] = {
        key: Endpoint(value) if key == "endpoint" else value
        for key, value in merged.values.items()
        if key in SETTING_KEYS
    }
    if isinstance(kwargs.get("base_url"), str):
        kwargs["base_url"] = kwargs["base_url"].rstrip("/")
    return ResolvedSettings(Settings(**kwargs), merged.records, tuple(layers), env), diagnostics


# Settings the openai SDK takes from these variables when they are not given explicitly.
SDK_DEFAULT_VARIABLES = {"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"}


def resolve_settings(
    sources: Sources,
    env: str | None,
    environ: Mapping[str, str],
    base_url: str | None = None,
) -> tuple[Settings, list[Diagnostic]]:
    """``[api]``, then ``[environments.E.api]``, then ``OPENAI_BASE_URL``, then ``--base-url``
    (see :func:`settings_layers`); the settings only, without their provenance."""
    resolved, diagnostics = resolve_settings_layers(sources, env, environ, base_url)
    return resolved.settings, diagnostics
