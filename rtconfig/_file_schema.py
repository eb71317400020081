"""The JSON Schema of sessions.toml, for editors (taplo, Even Better TOML) via ``#:schema``."""

from __future__ import annotations

from typing import Any

from rtconfig._endpoints import Endpoint
from rtconfig._settings import SETTING_KEYS
from rtconfig._version import __version__

__all__ = ["sessions_toml_schema"]

_NAME = "^[A-Za-z0-9_-]+$"
_PATHS = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"},
}


def _settings_schema() -> dict[str, Any]:
    props: dict[str, Any] = {
        "endpoint": {
            "enum": [e.value for e in Endpoint],
            "description": "Which endpoint templates target (default realtime/sessions).",
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
        "organization": {"type": "string"},
        "project": {"type": "string"},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 256},
    }
    assert set(props) == set(SETTING_KEYS)  # one list of settings
    return {"type": "object", "properties": props, "additionalProperties": False}


def _fields_schema() -> dict[str, dict[str, Any]]:
    """Every API field any endpoint accepts in a template; a key two endpoints shape
    differently accepts either shape (the validator knows the template's endpoint, editors don't).
    """
    from rtconfig._models import template_json_schema

    variants = [
        template_json_schema(Endpoint.SESSIONS),
        template_json_schema(Endpoint.CLIENT_SECRETS, "realtime"),
        template_json_schema(Endpoint.CLIENT_SECRETS, "transcription"),
        template_json_schema(Endpoint.TRANSCRIPTION_SESSIONS),
    ]
    fields: dict[str, list[dict[str, Any]]] = {}
    for variant in variants:
        for key, sub in variant.get("properties", {}).items():
            shapes = fields.setdefault(key, [])
            if sub not in shapes:
                shapes.append(sub)
    return {
        key: shapes[0] if len(shapes) == 1 else {"anyOf": shapes} for key, shapes in fields.items()
    }


def sessions_toml_schema() -> dict[str, Any]:
    """The whole-file schema: ``[api]``, ``[templates.*]`` and ``[environments.*]``."""
    fields = _fields_schema()
    meta: dict[str, Any] = {
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
    template: dict[str, Any] = {
        "type": "object",
        "properties": {**fields, **meta},
        "additionalProperties": False,
    }
    overlay = {
        "type": "object",
        "properties": {
            k: v for k, v in template["properties"].items() if k not in ("extends", "abstract")
        },
        "additionalProperties": False,
    }
    settings = _settings_schema()
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://rtconfig.dev/schema/sessions-{__version__}.json",
        "title": "rtconfig sessions.toml",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api": settings,
            "templates": {
                "type": "object",
                "propertyNames": {"pattern": _NAME},
                "additionalProperties": template,
            },
            "environments": {
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
            },
        },
    }
