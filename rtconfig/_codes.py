"""Stable machine names for every diagnostic and checker problem (CONTRACT §8).

A code says *what kind* of problem a :class:`~rtconfig.Diagnostic` is; its message says it to a
person. Code that reacts to a problem (the importer dropping server-echoed fields, the CLI, a
deployment script reading ``validate --json``) branches on the code, never on the message. Codes
are part of the public contract: add new ones freely, never rename or reuse one.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DiagnosticCode"]


class DiagnosticCode(StrEnum):
    """What kind of problem a diagnostic reports; the value is what ``--json`` prints."""

    # --- reading the file
    FILE_NOT_FOUND = "file_not_found"
    """The file (TOML, lock file, saved plan, import input) does not exist."""
    FILE_UNREADABLE = "file_unreadable"
    """The path exists but cannot be read as text: a directory, permissions, not UTF-8."""
    TOML_SYNTAX = "toml_syntax"
    """The file is not valid TOML (or a JSON input is not valid JSON)."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """An input is larger or deeper than rtconfig accepts (file size, nesting, inheritance)."""

    # --- the structure of sessions.toml
    UNKNOWN_SECTION = "unknown_section"
    """A top-level or environment key that the format does not have."""
    NOT_A_TABLE = "not_a_table"
    """A section, template or overlay that must be a table is something else."""
    INVALID_NAME = "invalid_name"
    """A template or environment name outside letters, digits, ``_`` and ``-``."""
    INVALID_META_KEY = "invalid_meta_key"
    """A meta-key (``extends``, ``abstract``, ``null``, ``unset``, …) misused or mistyped."""
    UNKNOWN_SETTING = "unknown_setting"
    """A key in ``[api]`` (or ``[environments.E.api]``) that is not a setting."""
    INVALID_SETTING = "invalid_setting"
    """A setting with a value of the wrong type or outside its range."""
    SECRET_REFUSED = "secret_refused"
    """An API key (or something that looks like one) written where keys must not be."""
    INSTRUCTIONS_FILE = "instructions_file"
    """An ``instructions_file`` that cannot be used (missing, outside the tree, too large…)."""

    # --- names that do not resolve
    UNKNOWN_TEMPLATE = "unknown_template"
    """A template named (by an overlay, ``extends``, a variable, ``--set``, a command) that does
    not exist."""
    UNKNOWN_ENVIRONMENT = "unknown_environment"
    """An environment asked for that the file does not declare."""
    ABSTRACT_TEMPLATE = "abstract_template"
    """An abstract template asked for by itself."""
    EXTENDS_CYCLE = "extends_cycle"
    """``extends`` leads back to a template already on the chain."""
    INVALID_OVERRIDE = "invalid_override"
    """A ``RTCONFIG__…`` variable or ``--set`` that is malformed, ambiguous or refused."""
    SHADOWED_OVERLAY = "shadowed_overlay"
    """A ``"*"`` overlay value that every template sets itself, so it has no effect: a warning."""

    # --- the request body (the checker's problems)
    UNKNOWN_FIELD = "unknown_field"
    """A key the endpoint's request does not have."""
    MISSING_FIELD = "missing_field"
    """A key the request needs is not set."""
    NULL_NOT_ALLOWED = "null_not_allowed"
    """``null`` where the API does not accept one."""
    TYPE_ERROR = "type_error"
    """A value of the wrong type (a string where a number belongs, …)."""
    INVALID_CHOICE = "invalid_choice"
    """A value outside the set the API accepts (an enum, a union's ``type``)."""
    OUT_OF_RANGE = "out_of_range"
    """A number outside its bounds, or an array or string of the wrong length."""
    PATTERN_MISMATCH = "pattern_mismatch"
    """A string that does not match the pattern the API requires (tool names, …)."""
    INVALID_VALUE = "invalid_value"
    """Any other value the API refuses (a non-finite number, …)."""
    UNDECLARED_TOOL = "undeclared_tool"
    """``tool_choice`` names a function or MCP server that ``tools`` does not declare."""
    DUPLICATE_TOOL = "duplicate_tool"
    """Two function tools share a name."""
    INVALID_SCHEMA = "invalid_schema"
    """A function tool's ``parameters`` is not a usable JSON Schema."""
    INVALID_MCP_SERVER = "invalid_mcp_server"
    """An MCP tool without exactly one server source, or with a bad ``server_url``."""
    UNSUPPORTED_COMBINATION = "unsupported_combination"
    """Values that are each valid but not together (``gpt-realtime-whisper`` with VAD, …)."""
    CARRIER_NOT_SUPPORTED = "carrier_not_supported"
    """A template sent by a carrier that cannot take it: calls and ``session.update`` need a GA
    session (calls: ``type = "realtime"``), CONTRACT §10."""
    UNKNOWN_MODEL = "unknown_model"
    """A model (or transcription model) rtconfig does not know: a warning."""
    UNKNOWN_VOICE = "unknown_voice"
    """A voice rtconfig does not know: a warning."""
    MODEL_NOT_ON_ENDPOINT = "model_not_on_endpoint"
    """A known model that the chosen endpoint does not list: a warning."""

    # --- the API's lifecycle (CONTRACT §8)
    BETA_ENDPOINT = "beta_endpoint"
    """A template on a beta endpoint (shut down): a warning naming ``rtconfig migrate``."""
    DEPRECATED_MODEL = "deprecated_model"
    """A model whose announced shutdown date is ahead: a warning."""
    SHUT_DOWN_MODEL = "shut_down_model"
    """A model whose shutdown date has passed: an error."""
    PROMPT_OBJECT = "prompt_object"
    """A stored ``prompt`` object (the ``v1/prompts`` API is gone): a warning."""
    V1_DEFAULT_ENDPOINT = "v1_default_endpoint"
    """A template written for v1's default beta endpoint (beta fields, no ``type``, no
    ``endpoint``) checked against the GA default: one error naming ``rtconfig migrate``."""
    MIGRATE_LOSSY = "migrate_lossy"
    """``rtconfig migrate`` rewrote something with no exact GA equivalent: a warning at its line."""
    MIGRATE_REFUSED = "migrate_refused"
    """``rtconfig migrate`` cannot rewrite the file (a shape it does not handle): an error."""

    # --- lock files, saved plans, apply
    INVALID_LOCK_FILE = "invalid_lock_file"
    """A lock file that cannot be read as one."""
    LOCK_MISMATCH = "lock_mismatch"
    """What would be sent differs from the lock file (``apply --locked``, ``lock --check``)."""
    INVALID_PLAN_FILE = "invalid_plan_file"
    """A saved plan that cannot be read as one."""
    STALE_PLAN = "stale_plan"
    """A saved plan whose inputs changed since it was made."""
    PREFLIGHT_REFUSED = "preflight_refused"
    """Apply refused before sending anything (no key, an unsafe base URL, …)."""

    # --- other inputs
    INVALID_IMPORT = "invalid_import"
    """``rtconfig import`` was given something that is not a session it can write as TOML."""
    NOT_FOUND = "not_found"
    """A command asked for something the resolved template does not have (``explain PATH``)."""
