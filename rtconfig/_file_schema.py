"""The JSON Schema of sessions.toml, for editors (taplo, Even Better TOML) via ``#:schema``.

Shaped so an editor names the wrong key on its line (see :mod:`rtconfig._editor_shape`): a
template accepts the keys of every endpoint, and ``if``/``then`` rules refuse, key by key, those
its endpoint (its own ``endpoint``, else ``[api] endpoint``, else the default
realtime/client_secrets) or its GA
``type`` does not take.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rtconfig._editor_shape import editor_shaped, refuse
from rtconfig._endpoints import Endpoint
from rtconfig._serve_settings import SERVE_KEYS
from rtconfig._settings import SETTING_KEYS, Settings
from rtconfig._version import __version__

__all__ = ["sessions_toml_schema"]

_NAME = "^[A-Za-z0-9_-]+$"
_PATHS = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"},
}
_DEFAULT_ENDPOINT = Settings().endpoint  # realtime/client_secrets (v1: realtime/sessions)


def _settings_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "endpoint": {
            "enum": [e.value for e in Endpoint],
            "description": "Which endpoint templates target (default realtime/client_secrets).",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "default": "https://api.openai.com/v1",
        },
        "api_key_env": {
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "description": "The NAME of the environment variable holding the API key.",
        },
        "organization": {"type": "string", "description": "Default: $OPENAI_ORG_ID."},
        "project": {"type": "string", "description": "Default: $OPENAI_PROJECT_ID."},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 256},
    }
    assert set(props) == set(SETTING_KEYS)  # one list of settings
    return {"type": "object", "properties": props, "additionalProperties": False}


def _variants() -> dict[tuple[Endpoint, str | None], dict[str, Any]]:
    """The template schema of each endpoint (and GA session type)."""
    from rtconfig._models import template_json_schema

    return {
        (Endpoint.SESSIONS, None): template_json_schema(Endpoint.SESSIONS),
        (Endpoint.CLIENT_SECRETS, "realtime"): template_json_schema(
            Endpoint.CLIENT_SECRETS, "realtime"
        ),
        (Endpoint.CLIENT_SECRETS, "transcription"): template_json_schema(
            Endpoint.CLIENT_SECRETS, "transcription"
        ),
        (Endpoint.TRANSCRIPTION_SESSIONS, None): template_json_schema(
            Endpoint.TRANSCRIPTION_SESSIONS
        ),
        (Endpoint.TRANSLATIONS, None): template_json_schema(Endpoint.TRANSLATIONS),
    }


def _fields_schema(
    variants: dict[tuple[Endpoint, str | None], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Every API field any endpoint accepts in a template; a key two endpoints shape
    differently accepts either shape (reshaped for editors afterwards)."""
    fields: dict[str, list[dict[str, Any]]] = {}
    for variant in variants.values():
        for key, sub in variant.get("properties", {}).items():
            shapes = fields.setdefault(key, [])
            if sub not in shapes:
                shapes.append(sub)
    return {
        key: shapes[0] if len(shapes) == 1 else {"anyOf": shapes} for key, shapes in fields.items()
    }


def _keys_of(
    variants: dict[tuple[Endpoint, str | None], dict[str, Any]],
    endpoint: Endpoint,
    session_type: str | None = None,
) -> set[str]:
    return {
        key
        for (e, t), variant in variants.items()
        if e is endpoint and (session_type is None or t == session_type)
        for key in variant.get("properties", {})
    }


def _template_rules(
    variants: dict[tuple[Endpoint, str | None], dict[str, Any]], fields: set[str]
) -> list[dict[str, Any]]:
    """Refuse, key by key, what the template's own ``endpoint`` or GA ``type`` does not take."""
    rules = []
    for endpoint in Endpoint:
        foreign = fields - _keys_of(variants, endpoint)
        rules.append(
            {
                "if": {
                    "properties": {"endpoint": {"const": endpoint.value}},
                    "required": ["endpoint"],
                },
                "then": refuse(foreign, f"a field of endpoint {endpoint.value}"),
            }
        )
    for session_type in ("realtime", "transcription"):
        foreign = _keys_of(variants, Endpoint.CLIENT_SECRETS) - _keys_of(
            variants, Endpoint.CLIENT_SECRETS, session_type
        )
        rules.append(
            {
                "if": {"properties": {"type": {"const": session_type}}, "required": ["type"]},
                "then": refuse(foreign, f"a field of a {session_type} session"),
            }
        )
    return rules


def _file_rules(
    variants: dict[tuple[Endpoint, str | None], dict[str, Any]], fields: set[str]
) -> list[dict[str, Any]]:
    """Refuse what ``[api] endpoint`` (or the default endpoint) does not take, in templates
    that do not name their own endpoint."""
    rules = []
    for endpoint in Endpoint:
        names = {"properties": {"endpoint": {"const": endpoint.value}}, "required": ["endpoint"]}
        condition: dict[str, Any] = {"properties": {"api": names}, "required": ["api"]}
        if endpoint is _DEFAULT_ENDPOINT:
            unnamed = {
                "not": {"properties": {"api": {"required": ["endpoint"]}}, "required": ["api"]}
            }
            condition = {"anyOf": [condition, unnamed]}
        foreign = fields - _keys_of(variants, endpoint)
        own = {
            "if": {"not": {"required": ["endpoint"]}},
            "then": refuse(foreign, f"a field of endpoint {endpoint.value}"),
        }
        rules.append(
            {
                "if": condition,
                "then": {"properties": {"templates": {"additionalProperties": own}}},
            }
        )
    return rules


def _serve_schema() -> dict[str, Any]:
    """``[serve]`` and ``[[serve.sip]]`` (CONTRACT §11); the loader checks the same rules."""
    env_name = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
    names = {"type": "array", "items": {"type": "string", "pattern": _NAME}, "uniqueItems": True}
    props: dict[str, Any] = {
        "templates": names,
        "allow_origins": {
            "type": "array",
            "items": {"type": "string", "pattern": "^https?://[^/*?#@]+$"},
        },
        "tokens_env": env_name,
        "rate": {"type": "string", "pattern": r"^\s*\d+\s*/\s*(second|minute|hour|day)s?\s*$"},
        "burst": {"type": "integer", "minimum": 1},
        "rate_storage": {"type": "string", "pattern": "^(memory|redis|rediss)://"},
        "webhook_secret_env": env_name,
        "trace_caller": names,
        "sip": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "header": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9-]*$"},
                    "match": {"type": "string"},
                    "template": {"type": "string", "pattern": _NAME},
                },
                "required": ["header", "match", "template"],
                "additionalProperties": False,
            },
        },
    }
    assert set(props) == set(SERVE_KEYS)  # one list of [serve] keys
    for key, text in SERVE_KEYS.items():
        props[key] = {**props[key], "description": text[0].upper() + text[1:] + "."}
    return {"type": "object", "properties": props, "additionalProperties": False}


def sessions_toml_schema() -> dict[str, Any]:
    """The whole-file schema: ``[api]``, ``[templates.*]`` and ``[environments.*]``."""
    variants = _variants()
    fields = _fields_schema(variants)
    template: dict[str, Any] = {
        "type": "object",
        "properties": {**fields, **_meta_keys()},
        "additionalProperties": False,
        "allOf": _template_rules(variants, set(fields)),
    }
    settings = _settings_schema()
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://rtconfig.dev/schema/sessions-{__version__}.json",
        "title": "rtconfig sessions.toml",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api": settings,
            "serve": _serve_schema(),
            "templates": {
                "type": "object",
                "propertyNames": {"pattern": _NAME},
                "additionalProperties": template,
            },
            "environments": _environments_schema(settings, _overlay_schema(template)),
        },
        "allOf": _file_rules(variants, set(fields)),
    }
    shaped: dict[str, Any] = editor_shaped(schema)
    return shaped


def _meta_keys() -> dict[str, Any]:
    """A template's meta-keys (CONTRACT §2), never sent as such (a fresh copy per schema)."""
    return {
        "extends": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "description": "Template(s) to inherit from; later parents win.",
        },
        "abstract": {"type": "boolean", "description": "A building block, never minted itself."},
        "description": {"type": "string", "description": "Documentation only; never sent."},
        "endpoint": {"enum": [e.value for e in Endpoint]},
        "instructions_file": {
            "type": "string",
            "description": "Path (relative to this file) whose text becomes `instructions`.",
        },
        "instructions_file_allow_hidden": {
            "type": "boolean",
            "description": "Allow this table's instructions_file to go through a dot-directory.",
        },
        "null": {**_PATHS, "description": "Dotted paths to send as explicit JSON null."},
        "unset": {**_PATHS, "description": "Dotted paths to drop from inherited values."},
    }


def _overlay_schema(template: Mapping[str, Any]) -> dict[str, Any]:
    """An environment overlay: a template's keys but ``extends`` and ``abstract``."""
    return {
        "type": "object",
        "properties": {
            k: v for k, v in template["properties"].items() if k not in ("extends", "abstract")
        },
        "additionalProperties": False,
    }


def _environments_schema(settings: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``[environments.E]``: its ``[api]`` settings and its template overlays."""
    return {
        "type": "object",
        "propertyNames": {"pattern": _NAME},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "api": settings,
                "templates": {"type": "object", "additionalProperties": overlay},
            },
        },
    }
