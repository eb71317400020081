"""The sessions.toml format: a loaded document becomes layers the resolver can merge.

A *layer* is one source of template values (contract §3): a template's own table, an environment
overlay, the ``RTCONFIG__`` variables, or ``--set`` flags. Each knows where every one of its
values was written. Structural mistakes (unknown sections, bad names, meta-keys of the wrong
type, key-like strings) are collected here, all at once, with their lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtconfig._codes import DiagnosticCode
from rtconfig._codes import DiagnosticCode as C
from rtconfig._errors import KEY_LIKE, TOKEN_LIKE, Diagnostic
from rtconfig._files import INSTRUCTIONS, FileProblem, FileRefused, read_in_tree
from rtconfig._keys import KeyPath, format_path

# The layer type lives in its own module; the loader's callers import it from here too.
from rtconfig._layer import Layer, iter_leaves
from rtconfig._loader import Document
from rtconfig._origins import Origin, OriginKind
from rtconfig._serve_settings import ServeSettings, read_serve
from rtconfig._settings import SETTING_KEYS, check_setting, type_name
from rtconfig._suggest import did_you_mean

__all__ = [
    "META_KEYS",
    "EnvironmentSource",
    "Layer",
    "Sources",
    "TemplateSource",
    "iter_leaves",
    "read_sources",
]

META_KEYS = frozenset(
    {
        "extends",
        "abstract",
        "description",
        "endpoint",
        "expires_after",
        "instructions_file",
        "instructions_file_allow_hidden",
        "null",
        "unset",
    }
)
# Meta-keys that resolve like fields (inherited, overridable); the rest shape the layer itself.
FIELD_LIKE_META = frozenset({"endpoint", "expires_after"})
TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_-]+")
MAX_INSTRUCTIONS_BYTES = INSTRUCTIONS.max_bytes


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """A ``[templates.NAME]`` table, split into its meta-keys and its own layer."""

    name: str
    extends: tuple[str, ...]
    abstract: bool
    description: str | None
    layer: Layer
    header: Origin


@dataclass(frozen=True, slots=True)
class EnvironmentSource:
    """An ``[environments.NAME]`` table: settings overlay and template overlays (``"*"`` first)."""

    name: str
    api: dict[str, Any]
    overlays: dict[str, Layer]
    header: Origin


@dataclass(frozen=True, slots=True)
class Sources:
    """Everything a sessions.toml declares, as layers."""

    document: Document
    api: dict[str, Any]
    templates: dict[str, TemplateSource]
    environments: dict[str, EnvironmentSource]
    diagnostics: tuple[Diagnostic, ...]
    serve: ServeSettings | None = None  # ``[serve]``, when the file has one

    @property
    def file(self) -> str:
        return self.document.file

    def api_origin(self, key: str, env: str | None = None) -> Origin:
        base: KeyPath = ("environments", env, "api", key) if env else ("api", key)
        return Origin(
            OriginKind.ENVIRONMENT if env else OriginKind.TEMPLATE,
            file=self.file,
            env=env,
            key=base,
            locator=self.document,
        )


class _Collector:
    def __init__(self, document: Document) -> None:
        self.document = document
        self.diagnostics: list[Diagnostic] = []
        # The template/environment whose table is being read, for the diagnostics' prefix.
        self.where: dict[str, Any] = {}

    def error(self, code: DiagnosticCode, message: str, at: KeyPath, **where: Any) -> None:
        where = {**self.where, **where}
        found = self.document.position(at)
        self.diagnostics.append(
            Diagnostic(
                "error",
                message,
                code=code,
                file=self.document.file,
                line=found[0] if found else None,
                col=found[1] if found else None,
                **where,
            )
        )


def read_sources(document: Document, base_dir: Path | None = None) -> Sources:
    """Interpret a document as sessions.toml; every structural problem becomes a diagnostic."""
    c = _Collector(document)
    data = document.data
    if _may_hold_secrets(document.text):
        _refuse_secrets(c, data, ())
    for key in data:
        if key not in _SECTIONS:
            c.error(
                C.UNKNOWN_SECTION,
                f"unknown section {key!r}"
                + did_you_mean(key, _SECTIONS)
                + "; a sessions.toml has [api], [templates.NAME], [environments.NAME] and "
                "[serve]",
                (key,),
            )
    api = _table(c, data, "api", ("api",)) or {}
    _check_api(c, api, ("api",))
    raw_templates = _table(c, data, "templates", ("templates",)) or {}
    base_dir = base_dir if base_dir is not None else Path(document.file).resolve().parent
    templates = _templates(c, raw_templates, base_dir)
    raw_envs = _table(c, data, "environments", ("environments",)) or {}
    environments = _environments(c, raw_envs, templates, base_dir)
    serve = None
    if "serve" in data:
        declared = {
            name: isinstance(t, dict) and t.get("abstract") is True
            for name, t in raw_templates.items()
        }
        serve, problems = read_serve(document, data["serve"], declared)
        c.diagnostics.extend(problems)
    return Sources(document, api, templates, environments, tuple(c.diagnostics), serve)


_SECTIONS = ("api", "templates", "environments", "serve")


def _templates(c: _Collector, raw: Mapping[str, Any], base_dir: Path) -> dict[str, TemplateSource]:
    templates: dict[str, TemplateSource] = {}
    for name, table in raw.items():
        at: KeyPath = ("templates", name)
        if not TEMPLATE_NAME.fullmatch(name):
            c.error(
                C.INVALID_NAME,
                f"invalid template name {name!r}: use letters, digits, '_' and '-'",
                at,
            )
            continue
        if not isinstance(table, dict):
            c.error(C.NOT_A_TABLE, f"template {name!r} must be a table ([templates.{name}])", at)
            continue
        template = _template(c, name, table, at, base_dir)
        if template is not None:
            templates[name] = template
    return templates


def _environments(
    c: _Collector,
    raw: Mapping[str, Any],
    templates: Mapping[str, TemplateSource],
    base_dir: Path,
) -> dict[str, EnvironmentSource]:
    environments: dict[str, EnvironmentSource] = {}
    for env, table in raw.items():
        at: KeyPath = ("environments", env)
        if not TEMPLATE_NAME.fullmatch(env):
            c.error(
                C.INVALID_NAME,
                f"invalid environment name {env!r}: use letters, digits, '_' and '-'",
                at,
            )
            continue
        if not isinstance(table, dict):
            c.error(
                C.NOT_A_TABLE, f"environment {env!r} must be a table ([environments.{env}])", at
            )
            continue
        environment = _environment(c, env, table, at, templates, base_dir)
        if environment is not None:
            environments[env] = environment
    return environments


def _table(
    c: _Collector, parent: Mapping[str, Any], key: str, at: KeyPath
) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        c.error(C.NOT_A_TABLE, f"{format_path(at)} must be a table, not {type_name(value)}", at)
        return None
    return value


_API_KEY_WORD = re.compile(r"\bapi_key\b")


def _may_hold_secrets(text: str) -> bool:
    """Whether any key or string of the document could be ``api_key`` or look like a key.

    Without a backslash in the text every key and string is written as it reads (no escape
    can spell ``sk-`` or put a word boundary before it), so a search of the raw text answers
    for all of them; with one, every key and value is walked."""
    return "\\" in text or bool(KEY_LIKE.search(text) or _API_KEY_WORD.search(text))


def _refuse_secrets(c: _Collector, value: Any, at: KeyPath) -> None:
    """Keys live in the environment: refuse ``api_key`` and key-like strings, never echoing them."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "api_key":
                c.error(
                    C.SECRET_REFUSED,
                    "API keys must not be written in sessions.toml; put the key in an environment "
                    'variable and name it with [api] api_key_env = "OPENAI_API_KEY"',
                    (*at, key),
                    path=format_path((*at, key)),
                )
            elif KEY_LIKE.search(key):
                c.error(
                    C.SECRET_REFUSED,
                    "this key looks like an OpenAI API key (sk-…); keys must not be written in "
                    "sessions.toml: keep the key in an environment variable named by [api] "
                    "api_key_env",
                    (*at, key),
                    path=format_path((*at, key)),
                )
            else:
                _refuse_secrets(c, item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_secrets(c, item, (*at, index))
    elif isinstance(value, str) and KEY_LIKE.search(value):
        c.error(
            C.SECRET_REFUSED,
            "this value looks like an OpenAI API key (sk-…); keys must not be written in "
            "sessions.toml: keep the key in an environment variable named by [api] api_key_env",
            at,
            path=format_path(at),
        )


def _check_api(c: _Collector, api: Mapping[str, Any], at: KeyPath) -> None:
    for key, value in api.items():
        spec = SETTING_KEYS.get(key)
        if spec is None:
            if key != "api_key":  # already refused with its own message
                c.error(
                    C.UNKNOWN_SETTING,
                    f"unknown setting {key!r}" + did_you_mean(key, SETTING_KEYS),
                    (*at, key),
                    path=format_path((*at, key)),
                )
            continue
        problem = check_setting(key, value)
        if problem:
            c.error(C.INVALID_SETTING, problem, (*at, key), path=format_path((*at, key)))


def _paths(c: _Collector, table: Mapping[str, Any], key: str, at: KeyPath) -> tuple[KeyPath, ...]:
    raw = table.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        c.error(
            C.INVALID_META_KEY,
            f'{key} must be a list of dotted paths, e.g. {key} = ["audio.input.turn_detection"]',
            (*at, key),
            path=key,
        )
        return ()
    return tuple(tuple(p.split(".")) for p in raw)


def _layer(
    c: _Collector,
    table: dict[str, Any],
    at: KeyPath,
    kind: OriginKind,
    template: str | None,
    env: str | None,
    base_dir: Path,
) -> Layer:
    """The values of a template table or overlay, with ``instructions_file`` read in."""
    # Problems in the "*" overlay belong to no one template.
    c.where = {"template": None if template == "*" else template, "env": env}
    values = {k: v for k, v in table.items() if k not in META_KEYS or k in FIELD_LIKE_META}
    layer = Layer(
        kind,
        values,
        template=template,
        env=env,
        unset=_paths(c, table, "unset", at),
        null=_paths(c, table, "null", at),
        document=c.document,
        base=at,
    )
    if "endpoint" in table:
        problem = check_setting("endpoint", table["endpoint"])
        if problem:
            c.error(C.INVALID_META_KEY, problem, (*at, "endpoint"), path="endpoint")
            values.pop("endpoint")
    if "instructions_file" in table:
        _instructions(c, table, at, layer, base_dir)
    _check_allow_hidden(c, table, at)
    for key in ("unset", "null"):
        for path in getattr(layer, key):
            if path[0] in META_KEYS - FIELD_LIKE_META:
                c.error(
                    C.INVALID_META_KEY,
                    f"{key} cannot name the meta-key {path[0]!r}",
                    (*at, key),
                    path=key,
                )
    c.where = {}
    return layer


def _instructions(
    c: _Collector, table: Mapping[str, Any], at: KeyPath, layer: Layer, base_dir: Path
) -> None:
    """Read ``instructions_file`` into the layer's ``instructions``, its origin the file."""
    where = (*at, "instructions_file")
    relative = table["instructions_file"]
    if "instructions" in table:
        c.error(
            C.INVALID_META_KEY,
            "instructions and instructions_file are both set in the same table; keep one",
            where,
            path="instructions_file",
        )
    elif not isinstance(relative, str):
        c.error(
            C.INVALID_META_KEY,
            "instructions_file must be a path string",
            where,
            path="instructions_file",
        )
    else:
        allow = table.get("instructions_file_allow_hidden", False) is True
        text = _read_instructions(c, base_dir, relative, where, allow)
        if text is not None:
            layer.values["instructions"] = text
            layer.fixed[("instructions",)] = Origin(
                OriginKind.FILE,
                file=c.document.file,
                template=layer.template,
                env=layer.env,
                source=relative,
                key=where,
                locator=c.document,
            )


def _check_allow_hidden(c: _Collector, table: Mapping[str, Any], at: KeyPath) -> None:
    key = "instructions_file_allow_hidden"
    if key not in table:
        return
    if not isinstance(table[key], bool):
        c.error(C.INVALID_META_KEY, f"{key} must be true or false", (*at, key), path=key)
    elif "instructions_file" not in table:
        c.error(
            C.INVALID_META_KEY,
            f"{key} applies to the instructions_file of the same table, and there is none",
            (*at, key),
            path=key,
        )


def _read_instructions(
    c: _Collector, base_dir: Path, shown: str, where: KeyPath, allow_hidden: bool
) -> str | None:
    """The text of a prompt file, or None after recording why it is refused.

    The text is sent to the API and shown by render, explain and plan (CI logs): a sessions.toml
    changed in a pull request must not read /proc/self/environ, ~/.netrc, .git/config, .env or
    a symlink to them. Only regular files inside the TOML's directory tree, through no
    dot-directory unless ``instructions_file_allow_hidden = true``, can be prompts; the file is
    opened once and judged by what was opened (see :func:`rtconfig._files.read_in_tree`).
    """

    def refuse(message: str, code: DiagnosticCode = C.INSTRUCTIONS_FILE) -> None:
        c.error(code, f"instructions_file {shown!r} {message}", where, path="instructions_file")

    try:
        raw = read_in_tree(base_dir, shown, INSTRUCTIONS, allow_hidden=allow_hidden)
    except FileRefused as exc:
        if exc.problem is FileProblem.MISSING:
            c.error(
                C.INSTRUCTIONS_FILE,
                f"file {shown!r} does not exist (paths are relative to the TOML file)",
                where,
                path="instructions_file",
            )
        elif exc.problem is FileProblem.HIDDEN:
            refuse(exc.message + " (set instructions_file_allow_hidden = true beside it)")
        else:
            refuse(exc.message)
        return None
    try:
        # Universal newlines, as text-mode reading did.
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        refuse("is not UTF-8 text")
        return None
    if KEY_LIKE.search(text) or TOKEN_LIKE.search(text):
        refuse(
            "contains what looks like an OpenAI API key (sk-…) or a minted token (ek_…); "
            "prompts are shown in plans and CI logs",
            C.SECRET_REFUSED,
        )
        return None
    return text


def _template(
    c: _Collector, name: str, table: dict[str, Any], at: KeyPath, base_dir: Path
) -> TemplateSource | None:
    header = Origin(
        OriginKind.TEMPLATE, file=c.document.file, template=name, key=at, locator=c.document
    )
    extends = table.get("extends", [])
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list) or not all(isinstance(p, str) for p in extends):
        c.error(
            C.INVALID_META_KEY,
            'extends must be a template name or a list of names, e.g. extends = ["base"]',
            (*at, "extends"),
            template=name,
            path="extends",
        )
        extends = []
    abstract = table.get("abstract", False)
    if not isinstance(abstract, bool):
        c.error(
            C.INVALID_META_KEY,
            "abstract must be true or false",
            (*at, "abstract"),
            template=name,
            path="abstract",
        )
        abstract = False
    description = table.get("description")
    if description is not None and not isinstance(description, str):
        c.error(
            C.INVALID_META_KEY, "description must be a string", (*at, "description"), template=name
        )
        description = None
    layer = _layer(c, table, at, OriginKind.TEMPLATE, name, None, base_dir)
    return TemplateSource(name, tuple(extends), abstract, description, layer, header)


def _environment(
    c: _Collector,
    env: str,
    table: dict[str, Any],
    at: KeyPath,
    templates: Mapping[str, TemplateSource],
    base_dir: Path,
) -> EnvironmentSource | None:
    for key in table:
        if key not in ("api", "templates"):
            c.error(
                C.UNKNOWN_SECTION,
                f"unknown key {key!r} in environment {env!r}"
                + did_you_mean(key, ["api", "templates"])
                + f"; an environment has [environments.{env}.api] and "
                f"[environments.{env}.templates.NAME]",
                (*at, key),
            )
    api = _table(c, table, "api", (*at, "api")) or {}
    _check_api(c, api, (*at, "api"))
    overlays: dict[str, Layer] = {}
    raw = _table(c, table, "templates", (*at, "templates")) or {}
    for target, overlay in raw.items():
        where: KeyPath = (*at, "templates", target)
        if target != "*" and target not in templates:
            c.error(
                C.UNKNOWN_TEMPLATE,
                f"environment {env!r} has an overlay for template {target!r}, which does not "
                "exist" + did_you_mean(target, templates),
                where,
            )
            continue
        if not isinstance(overlay, dict):
            c.error(C.NOT_A_TABLE, "an environment overlay must be a table", where)
            continue
        for meta in ("extends", "abstract"):
            if meta in overlay:
                c.error(
                    C.INVALID_META_KEY,
                    f"{meta} cannot be set in an environment overlay; set it on the template",
                    (*where, meta),
                    template=None if target == "*" else target,
                    env=env,
                    path=meta,
                )
        layer = _layer(
            c,
            {k: v for k, v in overlay.items() if k not in ("extends", "abstract")},
            where,
            OriginKind.ENVIRONMENT,
            target,  # "*" too: explain names the overlay's template "*" (CONTRACT §13)
            env,
            base_dir,
        )
        overlays[target] = layer
    header = Origin(
        OriginKind.ENVIRONMENT, file=c.document.file, env=env, key=at, locator=c.document
    )
    return EnvironmentSource(env, api, overlays, header)
