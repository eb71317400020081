"""Every diagnostic carries a stable code (CONTRACT §8); stages branch on codes, not messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

import rtconfig
from rtconfig import DiagnosticCode
from rtconfig._cli import main
from rtconfig._importer import import_session

WriteToml = Callable[..., Path]

# The codes are a public contract: adding is fine, renaming or removing one breaks users'
# scripts. This list only grows.
STABLE = {
    "abstract_template",
    "beta_endpoint",
    "deprecated_model",
    "duplicate_tool",
    "extends_cycle",
    "file_not_found",
    "file_unreadable",
    "instructions_file",
    "invalid_choice",
    "invalid_import",
    "invalid_lock_file",
    "invalid_mcp_server",
    "invalid_meta_key",
    "invalid_name",
    "invalid_override",
    "invalid_plan_file",
    "invalid_schema",
    "invalid_setting",
    "invalid_value",
    "limit_exceeded",
    "lock_mismatch",
    "migrate_lossy",
    "migrate_refused",
    "missing_field",
    "model_not_on_endpoint",
    "not_a_table",
    "not_found",
    "null_not_allowed",
    "out_of_range",
    "pattern_mismatch",
    "preflight_refused",
    "prompt_object",
    "secret_refused",
    "shadowed_overlay",
    "shut_down_model",
    "stale_plan",
    "toml_syntax",
    "type_error",
    "undeclared_tool",
    "unknown_environment",
    "unknown_field",
    "unknown_model",
    "unknown_section",
    "unknown_setting",
    "unknown_template",
    "unknown_voice",
    "unsupported_combination",
    "v1_default_endpoint",
}


def _validate_json(path: Path, *args: str, env: dict[str, str] | None = None) -> list[dict]:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["validate", str(path), "--json", *args], env=env)
    return json.loads(result.stdout)["diagnostics"]  # type: ignore[no-any-return]


def test_codes_are_stable_snake_case_names() -> None:
    """No code is ever renamed or removed, and every code is a snake_case machine name."""
    values = {code.value for code in DiagnosticCode}
    assert values >= STABLE, sorted(STABLE - values)
    assert all(v.isidentifier() and v == v.lower() for v in values)
    assert len(values) == len(DiagnosticCode)  # no two members share a value


def test_validate_json_carries_the_code_of_each_problem(write_toml: WriteToml) -> None:
    """``validate --json`` prints ``"code"`` for body problems, structure and name errors."""
    path = write_toml(
        """\
        [api]
        endpoint = "realtime/client_secrets"
        timeout = 3

        [templates.base]
        extends = "loop"
        [templates.loop]
        extends = "base"

        [templates.t]
        type = "realtime"
        model = "gpt-realtim"
        bogus = 1
        output_modalities = "audio"
        [templates.t.audio.output]
        speed = 9.0

        [environments.prod.templates.nope]
        model = "x"
        """
    )
    codes = {(d["path"], d["code"]) for d in _validate_json(path)}
    assert ("api.timeout", "unknown_setting") in codes
    assert ("extends", "extends_cycle") in codes
    assert ("model", "unknown_model") in codes
    assert ("bogus", "unknown_field") in codes
    assert ("output_modalities", "type_error") in codes
    assert ("audio.output.speed", "out_of_range") in codes
    assert (None, "unknown_template") in codes


def test_override_codes(write_toml: WriteToml) -> None:
    """A variable naming a missing template is ``unknown_template`` with the fixed variable name
    suggested; a malformed one is ``invalid_override``."""
    path = write_toml('[templates.support]\nmodel = "gpt-realtime"\n')
    diagnostics = _validate_json(
        path, env={"RTCONFIG__SUPORT__MODEL": "x", "RTCONFIG__SUPPORT": "y"}
    )
    by_file = {d["file"]: d for d in diagnostics}
    assert by_file["RTCONFIG__SUPORT__MODEL"]["code"] == "unknown_template"
    assert "RTCONFIG__SUPPORT__MODEL" in by_file["RTCONFIG__SUPORT__MODEL"]["message"]
    assert by_file["RTCONFIG__SUPPORT"]["code"] == "invalid_override"


def test_load_errors_have_codes(tmp_path: Path) -> None:
    """Errors raised while loading carry codes too: a missing file, TOML syntax."""
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "none.toml"), "--json"])
    assert json.loads(result.stdout)["diagnostics"][0]["code"] == "file_not_found"
    bad = tmp_path / "bad.toml"
    bad.write_text("[templates.t\n")
    assert _validate_json(bad)[0]["code"] == "toml_syntax"


def test_importer_drops_server_echoes_by_code() -> None:
    """A response's echoed null and request-less field are dropped (codes null_not_allowed and
    unknown_field), not reported; a real mistake in the same object is still an error."""
    response = {
        "id": "sess_1",
        "object": "realtime.session",
        "model": "gpt-realtime",
        "include": None,
        "client_secret": {"value": "ek_x", "expires_at": 1},
        "voice": "alloy",
    }
    imported = import_session(response, name="t")
    assert ("include", "a request cannot send it") in imported.dropped
    try:
        import_session({**response, "voice": 3}, name="t")
    except rtconfig.ConfigError as exc:
        assert [d.code for d in exc.diagnostics] == [DiagnosticCode.TYPE_ERROR]
    else:  # pragma: no cover - the assertion above is the test
        raise AssertionError("a wrongly typed voice must be refused")
