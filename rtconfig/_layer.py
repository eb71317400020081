"""A layer: one source of template values (contract §3), knowing where each value was written.

A template's own table, an environment overlay, the ``RTCONFIG__`` variables, ``--set`` flags, or
(for settings) ``[api]`` and rtconfig's defaults. The resolver merges layers in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rtconfig._keys import KeyPath
from rtconfig._loader import Document
from rtconfig._origins import Origin, OriginKind

__all__ = ["Layer", "iter_leaves"]


@dataclass(eq=False)
class Layer:
    """One source of template values, with the origin of each of its leaves.

    ``values`` is template-shaped (nested tables; arrays and scalars are leaves) and may hold the
    field-like meta-keys ``endpoint`` and ``expires_after``.
    """

    kind: OriginKind
    values: dict[str, Any]
    template: str | None = None
    env: str | None = None
    unset: tuple[KeyPath, ...] = ()
    null: tuple[KeyPath, ...] = ()
    # File layers: the document and where this layer's table sits in it.
    document: Document | None = None
    base: KeyPath = ()
    # Leaves whose origin is not a position in the document (env vars, --set, instructions_file).
    fixed: dict[KeyPath, Origin] = field(default_factory=dict)
    _cache: dict[KeyPath, Origin] = field(default_factory=dict, repr=False)
    _leaves: dict[KeyPath, Origin] | None = field(default=None, repr=False)

    def origin(self, path: KeyPath) -> Origin:
        """Where the value at ``path`` was written."""
        try:
            return self._cache[path]
        except KeyError:
            pass
        for end in range(len(path), 0, -1):
            fixed = self.fixed.get(path[:end])
            if fixed is not None:
                self._cache[path] = fixed
                return fixed
        origin = Origin(
            self.kind,
            file=self.document.file if self.document else None,
            template=self.template,
            env=self.env,
            key=(*self.base, *path),
            locator=self.document,
        )
        self._cache[path] = origin
        return origin

    @property
    def label(self) -> str:
        """Which layer this is, for debugging: ``template support``, ``--set support``."""
        target = '"*"' if self.template in (None, "*") else self.template
        names = {
            OriginKind.TEMPLATE: f"template {target}",
            OriginKind.ENVIRONMENT: f"environment {self.env} overlay {target}",
            OriginKind.ENV_VAR: (
                f"RTCONFIG__ variables for {target}"
                if self.template is not None
                else "OPENAI_ORG_ID and OPENAI_PROJECT_ID"
            ),
            OriginKind.SET: f"--set for {target}",
            OriginKind.API: f"[environments.{self.env}.api]" if self.env else "[api]",
            OriginKind.DEFAULT: "rtconfig's defaults",
        }
        return names.get(self.kind, self.kind.value)

    def leaf_origins(self) -> dict[KeyPath, Origin]:
        """The origin of every leaf of ``values``, computed once per layer."""
        if self._leaves is None:
            self._leaves = {path: self.origin(path) for path, _ in iter_leaves(self.values)}
        return self._leaves

    def meta_origin(self, key: str) -> Origin:
        """Where a meta-key of this layer (``null``, ``unset``) was written."""
        if self.document is None:
            return self.origin(())
        return Origin(
            self.kind,
            file=self.document.file,
            template=self.template,
            env=self.env,
            key=(*self.base, key),
            locator=self.document,
        )


def iter_leaves(values: Mapping[str, Any], prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every leaf of a template-shaped table: scalars, arrays, nulls and empty tables."""
    for key, value in values.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            yield from iter_leaves(value, path)
        else:
            yield path, value
