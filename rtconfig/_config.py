"""The library façade: load a sessions.toml, then resolve and validate its templates.

::

    config = rtconfig.load("sessions.toml")
    support = config.resolve("support", env="production")      # raises ConfigError if invalid
    support.body, support.endpoint, support.fields[("audio", "output", "voice")].origin
    plan = config.plan(env="production")                        # what `rtconfig plan` shows

``environ=None`` means the process environment (:func:`rtconfig._environ.process_environ`, the
one place it is read); every later stage receives it injected.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rtconfig._codes import DiagnosticCode as C
from rtconfig._environ import process_environ
from rtconfig._errors import ConfigError, Diagnostic
from rtconfig._lifecycle import today
from rtconfig._loader import read_document
from rtconfig._overlay_checks import shadowed_star_overlay
from rtconfig._overrides import override_layers
from rtconfig._resolver import (
    ResolvedSettings,
    ResolvedTemplate,
    Resolver,
    resolve_settings_layers,
)
from rtconfig._settings import endpoint_unreliable
from rtconfig._sources import Sources, read_sources
from rtconfig._suggest import did_you_mean
from rtconfig._validator import validate

if TYPE_CHECKING:
    from rtconfig._plan.records import Plan
    from rtconfig._settings import Settings

__all__ = ["ALL_ENVIRONMENTS", "Check", "Config", "load"]


class _AllEnvironments:
    def __repr__(self) -> str:
        return "ALL_ENVIRONMENTS"


#: Check the default environment and every declared one (what ``rtconfig validate`` does).
ALL_ENVIRONMENTS = _AllEnvironments()


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of checking templates: the valid ones and every diagnostic, in file order."""

    templates: tuple[ResolvedTemplate, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def ok(self, strict: bool = False) -> bool:
        """No errors (and, when ``strict``, no warnings either)."""
        return not (self.diagnostics if strict else self.errors)

    def raise_for_errors(self, strict: bool = False) -> None:
        if not self.ok(strict):
            raise ConfigError(self.diagnostics)


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded sessions.toml. Immutable; resolving never changes it."""

    sources: Sources

    @property
    def path(self) -> str:
        return self.sources.file

    @property
    def templates(self) -> tuple[str, ...]:
        """Every template name, abstract ones included, in file order."""
        return tuple(self.sources.templates)

    @property
    def environments(self) -> tuple[str, ...]:
        return tuple(self.sources.environments)

    def mintable(self) -> tuple[str, ...]:
        """The templates that can be rendered and minted (not abstract)."""
        return tuple(n for n, t in self.sources.templates.items() if not t.abstract)

    def resolve(
        self,
        template: str,
        env: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        sets: Sequence[str] = (),
        base_url: str | None = None,
        env_source: str | None = None,
    ) -> ResolvedTemplate:
        """One template, resolved for ``env`` and validated; :class:`ConfigError` if invalid."""
        check = self.check(
            envs=[env],
            templates=[template],
            environ=environ,
            sets=sets,
            base_url=base_url,
            env_source=env_source,
        )
        check.raise_for_errors()
        return check.templates[0]

    def plan(
        self,
        env: str | None = None,
        environ: Mapping[str, str] | None = None,
        templates: Sequence[str] | None = None,
        sets: Sequence[str] = (),
        base_url: str | None = None,
        *,
        compare_lock: bool = True,
    ) -> Plan:
        """The plan ``rtconfig plan`` shows (and ``rtconfig apply`` sends): one record per
        template of ``env`` (default: ``RTCONFIG_ENV`` from ``environ``, else the default
        environment), compared with the lock file beside the TOML unless ``compare_lock`` is
        False. :class:`ConfigError` if any template is invalid; warnings are in
        ``plan.warnings``. ``environ`` (default ``os.environ``) is kept on the plan: it is where
        :func:`rtconfig.apply` reads the key."""
        from rtconfig._plan.lock import lock_path_for, read_lock
        from rtconfig._plan.make import make_plan

        environ = process_environ() if environ is None else environ
        env_source = None
        if env is None:
            env = (environ.get("RTCONFIG_ENV") or "").strip() or None
            env_source = "RTCONFIG_ENV" if env is not None else None
        if templates is not None and (
            isinstance(templates, str) or not all(isinstance(t, str) for t in templates)
        ):
            raise TypeError("templates must be a sequence of template names (strings)")
        selected = list(templates) if templates else None
        check = self.check(
            envs=[env],
            templates=selected,
            environ=environ,
            sets=sets,
            base_url=base_url,
            env_source=env_source,
        )
        check.raise_for_errors()
        lock_path = lock_path_for(self.path)
        return make_plan(
            check.templates,
            read_lock(lock_path) if compare_lock else None,
            envs=[env],
            selected=selected,
            config_file=self.path,
            lock_file=str(lock_path),
            environ=environ,
            config_path=self.path,
            warnings=check.warnings,
        )

    def settings(
        self,
        env: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> Settings:
        """The ``[api]`` settings of ``env`` (default ``RTCONFIG_ENV``, else the default
        environment), as a template there would use them: for requests that send no template
        (``rtconfig call reject|hangup``). :class:`ConfigError` when they are invalid.
        :meth:`resolve_settings` says where each came from."""
        return self.resolve_settings(env, environ=environ, base_url=base_url).settings

    def check(
        self,
        *,
        envs: Iterable[str | None] | _AllEnvironments | None = ALL_ENVIRONMENTS,
        templates: Sequence[str] | None = None,
        environ: Mapping[str, str] | None = None,
        sets: Sequence[str] = (),
        base_url: str | None = None,
        env_source: str | None = None,
    ) -> Check:
        """Resolve and validate ``templates`` (default: every mintable one) in each of ``envs``
        (default, or None: the default environment and every declared one), reporting all
        problems. ``env_source`` names where the environment names came from (a variable such
        as ``RTCONFIG_ENV``): an unknown one is reported there."""
        environ = process_environ() if environ is None else environ
        sources = self.sources
        env_list: list[str | None] = (
            [None, *sources.environments]
            if envs is None or isinstance(envs, _AllEnvironments)
            else list(envs)
        )
        names = list(self.mintable()) if templates is None else list(templates)
        refused = [
            *(
                _unknown_environment(sources, env, env_source)
                for env in env_list
                if env is not None and env not in sources.environments
            ),
            *filter(None, map(self._unmintable, names)),
        ]
        diagnostics: list[Diagnostic] = [*sources.diagnostics, *refused]
        if any(d.severity == "error" for d in refused):
            return Check((), _dedupe(diagnostics))
        env_layers, set_layers, problems = override_layers(sources.templates, environ, sets)
        diagnostics.extend(problems)
        day = today(environ)
        if day is None:
            diagnostics.append(_bad_today())
        results: list[ResolvedTemplate] = []
        base: Resolver | None = None  # the default environment's, once it has been checked
        for env in env_list:
            resolver = Resolver(sources, env, env_layers, set_layers, base)
            if env is None:
                base = resolver
            in_env = _check_environment(
                resolver, names, environ, base_url, day, diagnostics, every=templates is None
            )
            results.extend(in_env)
        return Check(tuple(results), _dedupe(diagnostics))

    def resolve_settings(
        self,
        env: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        base_url: str | None = None,
        env_source: str | None = None,
    ) -> ResolvedSettings:
        """The ``[api]`` settings of ``env`` (default ``RTCONFIG_ENV``, else the default
        environment), with where each came from (``explain --settings``); :class:`ConfigError`
        if the file or the settings have errors. ``env_source`` names where ``env`` came from
        (``RTCONFIG_ENV``), as for :meth:`check`."""
        environ = process_environ() if environ is None else environ
        if env is None:
            env = environ.get("RTCONFIG_ENV") or None
        unknown = (
            None
            if env is None or env in self.sources.environments
            else _unknown_environment(self.sources, env, env_source)
        )
        resolved, problems = resolve_settings_layers(self.sources, env, environ, base_url)
        errors = [
            d
            for d in (*self.sources.diagnostics, unknown, *problems)
            if d is not None and d.severity == "error"
        ]
        if errors:
            raise ConfigError(errors)
        return resolved

    def _unmintable(self, name: str) -> Diagnostic | None:
        known = self.sources.templates.get(name)
        if known is None:
            return Diagnostic(
                "error",
                f"unknown template {name!r}" + did_you_mean(name, self.mintable()),
                code=C.UNKNOWN_TEMPLATE,
                file=self.sources.file,
            )
        if known.abstract:
            return Diagnostic(
                "error",
                f"template {name!r} is abstract: it is never rendered or minted by itself; "
                "choose a template that extends it",
                code=C.ABSTRACT_TEMPLATE,
                file=self.sources.file,
                line=known.header.line,
                template=name,
            )
        return None


def _check_environment(
    resolver: Resolver,
    names: Sequence[str],
    environ: Mapping[str, str],
    base_url: str | None,
    day: datetime.date | None,
    diagnostics: list[Diagnostic],
    every: bool,
) -> list[ResolvedTemplate]:
    """Resolve and validate ``names`` in the resolver's environment, adding its diagnostics;
    ``every`` says that ``names`` are all the mintable templates."""
    sources, env = resolver.sources, resolver.env
    settings, problems = resolve_settings_layers(sources, env, environ, base_url)
    diagnostics.extend(problems)
    unreliable = endpoint_unreliable(sources, env)  # once per environment, not per template
    in_env: list[ResolvedTemplate] = []
    for name in names:
        resolution = resolver.resolve(name)
        if resolution is None:
            continue
        resolved, problems = validate(
            sources,
            name,
            env,
            settings.settings,
            resolution,
            day,
            settings.fields,
            unreliable=unreliable,
        )
        diagnostics.extend(problems)
        if resolved is not None:
            in_env.append(resolved)
    if env is not None and every and len(in_env) == len(names):
        # Only with every template in view can a "*" key be known to do nothing.
        diagnostics.extend(shadowed_star_overlay(sources, env, in_env))
    for per_template in resolver.diagnostics.values():
        diagnostics.extend(per_template)
    return in_env


def _bad_today() -> Diagnostic:
    return Diagnostic(
        "error",
        "must be a date written YYYY-MM-DD, e.g. RTCONFIG_TODAY=2027-01-01 (it "
        "pins 'today' for the lifecycle checks); unset it to use today's UTC date",
        code=C.INVALID_SETTING,
        file="RTCONFIG_TODAY",
    )


def _unknown_environment(sources: Sources, env: str, env_source: str | None) -> Diagnostic:
    """An unknown environment, reported where its name came from: the variable that named it
    (``RTCONFIG_ENV``), else the file (for ``--env``)."""
    names = ", ".join(sources.environments)
    unknown = f"unknown environment {env!r}" + did_you_mean(env, sources.environments)
    if env_source is None:
        declared = f"declared: {names}" if names else "the file declares no [environments]"
        return Diagnostic(
            "error", f"{unknown}; {declared}", code=C.UNKNOWN_ENVIRONMENT, file=sources.file
        )
    declared = (
        f"{sources.file} declares: {names}"
        if names
        else f"{sources.file} declares no [environments]"
    )
    fix = f"set {env_source} to one of them, or unset it" if names else f"unset {env_source}"
    return Diagnostic(
        "error",
        f"{unknown} (from {env_source}); {declared} ({fix})",
        code=C.UNKNOWN_ENVIRONMENT,
        file=env_source,
    )


def _dedupe(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """One line per distinct problem: a base template's mistake is reported once, not once per
    child and environment that inherits it."""
    seen: set[tuple[object, ...]] = set()
    out: list[Diagnostic] = []
    for d in diagnostics:
        key = (d.severity, d.file, d.line, d.col, d.path, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return tuple(out)


def load(path: str | os.PathLike[str]) -> Config:
    """Read a sessions.toml. TOML syntax errors raise :class:`ConfigError`; everything else is
    reported by :meth:`Config.check`."""
    document = read_document(Path(path), display=os.fspath(path))
    return Config(read_sources(document, Path(path).resolve().parent))
