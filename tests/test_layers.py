"""Resolution is one ordered list of layers merged by one loop; ``[api]`` settings go through the
same loop, so ``explain --settings`` says where each setting came from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtconfig
from rtconfig._cli import main
from rtconfig._loader import read_document
from rtconfig._overrides import override_layers
from rtconfig._resolver import Resolver
from rtconfig._sources import read_sources

WriteToml = Callable[..., Path]

FILE = """\
[api]
endpoint = "realtime/sessions"
base_url = "https://a.example/v1"

[templates.base]
model = "gpt-realtime"
[templates.child]
extends = "base"
voice = "ash"
[templates.ga]
endpoint = "realtime/client_secrets"
type = "realtime"

[environments.prod.api]
base_url = "https://b.example/v1"
timeout_s = 10
[environments.prod.templates."*"]
instructions = "Be brief."
[environments.prod.templates.child]
voice = "sage"
"""


def _layers(path: Path, name: str, env: str | None, environ: dict[str, str], sets: list[str]):  # type: ignore[no-untyped-def]
    sources = read_sources(read_document(path))
    env_layers, set_layers, _ = override_layers(sources.templates, environ, sets)
    resolver = Resolver(sources, env, env_layers, set_layers)
    resolution = resolver.resolve(name)
    assert resolution is not None
    return [layer.label for layer in resolution.layers], resolution


def test_layers_are_kept_in_contract_order(write_toml: WriteToml) -> None:
    """A root template: "*" overlay, template, its overlay, variables, --set (lowest first); a
    child: its parent (which carries "*") instead of the "*" overlay. Each layer is kept."""
    path = write_toml(FILE)
    environ = {"RTCONFIG__BASE__VOICE": "ash", "RTCONFIG__CHILD__VOICE": "coral"}
    labels, _ = _layers(path, "base", "prod", environ, ["base.voice=echo"])
    assert labels == [
        'environment prod overlay "*"',
        "template base",
        "RTCONFIG__ variables for base",
        "--set for base",
    ]
    labels, resolution = _layers(path, "child", "prod", environ, [])
    assert labels == [
        "parent base",
        "template child",
        "environment prod overlay child",
        "RTCONFIG__ variables for child",
    ]
    assert resolution.layers[0].resolution.values["instructions"] == "Be brief."  # type: ignore[union-attr]
    assert resolution.values["voice"] == "coral"


def test_settings_resolve_through_the_same_loop(write_toml: WriteToml) -> None:
    """Defaults < [api] < [environments.E.api] < OPENAI_BASE_URL, each leaf with its origin."""
    config = rtconfig.load(write_toml(FILE))
    resolved = config.resolve_settings("prod", environ={"OPENAI_BASE_URL": "https://c.example/v1/"})
    assert isinstance(resolved, rtconfig.ResolvedSettings)
    assert resolved.settings.base_url == "https://c.example/v1"
    assert resolved.settings.timeout_s == 10
    base_url = resolved.fields[("base_url",)]
    assert base_url.origin.kind is rtconfig.OriginKind.ENV_VAR
    assert [origin.kind for _, origin in base_url.overridden] == [
        rtconfig.OriginKind.API,
        rtconfig.OriginKind.API,
        rtconfig.OriginKind.DEFAULT,
    ]
    assert [value for value, _ in base_url.overridden][:2] == [
        "https://b.example/v1",
        "https://a.example/v1",
    ]
    assert resolved.fields[("api_key_env",)].origin.kind is rtconfig.OriginKind.DEFAULT
    with pytest.raises(rtconfig.ConfigError) as caught:
        config.resolve_settings("staging", environ={})
    assert caught.value.diagnostics[0].code is rtconfig.DiagnosticCode.UNKNOWN_ENVIRONMENT


def test_sdk_variables_are_a_layer_between_the_defaults_and_api(write_toml: WriteToml) -> None:
    """OPENAI_ORG_ID/OPENAI_PROJECT_ID sit above rtconfig's defaults and below [api]: the file's
    organization overrides the variable (which explain then lists as overridden), the unset
    project comes from its variable, named as the origin."""
    config = rtconfig.load(
        write_toml(FILE.replace("[api]\n", '[api]\norganization = "org-file"\n'))
    )
    environ = {"OPENAI_ORG_ID": "org-env", "OPENAI_PROJECT_ID": "proj_env"}
    resolved = config.resolve_settings(None, environ=environ)
    assert (resolved.settings.organization, resolved.settings.project) == ("org-file", "proj_env")
    project = resolved.fields[("project",)]
    assert project.origin.kind is rtconfig.OriginKind.ENV_VAR
    assert project.origin.var == "OPENAI_PROJECT_ID"
    organization = resolved.fields[("organization",)]
    assert organization.origin.kind is rtconfig.OriginKind.API
    assert [(value, origin.var) for value, origin in organization.overridden] == [
        ("org-env", "OPENAI_ORG_ID")
    ]
    assert [layer.label for layer in resolved.layers][:3] == [
        "rtconfig's defaults",
        "OPENAI_ORG_ID and OPENAI_PROJECT_ID",
        "[api]",
    ]
    assert config.resolve_settings(None, environ={}).settings.project is None


def test_explain_settings_says_where_each_setting_came_from(write_toml: WriteToml) -> None:
    """``explain FILE --settings`` (text and JSON) names the layer of base_url, endpoint,
    api_key_env…; with TEMPLATE, the template's own endpoint overrides [api]'s."""
    path = write_toml(FILE)
    runner = CliRunner()
    text = runner.invoke(main, ["explain", str(path), "--settings", "--env", "prod"])
    assert text.exit_code == 0, text.output
    assert 'base_url = "https://b.example/v1"' in text.stdout
    assert "from [environments.prod.api] (" in text.stdout
    assert 'overrides "https://a.example/v1" from [api] (' in text.stdout
    assert 'api_key_env = "OPENAI_API_KEY"\n    from rtconfig\'s default' in text.stdout
    env = {"OPENAI_BASE_URL": "https://c.example/v1"}
    result = runner.invoke(main, ["explain", str(path), "ga", "--settings", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_path = {item["path"]: item for item in data["settings"]}
    assert by_path["base_url"]["origin"]["kind"] == "env_var"
    assert by_path["base_url"]["origin"]["var"] == "OPENAI_BASE_URL"
    endpoint = by_path["endpoint"]
    assert endpoint["value"] == "realtime/client_secrets"
    assert endpoint["origin"]["kind"] == "template" and endpoint["origin"]["line"] == 11
    assert [o["value"] for o in endpoint["overridden"]] == [
        "realtime/sessions",
        *endpoint_default(),
    ]


def endpoint_default() -> list[str]:
    return [rtconfig.Settings().endpoint.value]


def test_explain_needs_a_template_unless_settings(write_toml: WriteToml) -> None:
    """``explain FILE`` alone is a usage error (exit 2) that mentions --settings."""
    result = CliRunner().invoke(main, ["explain", str(write_toml(FILE))])
    assert result.exit_code == 2 and "--settings" in result.output


def test_explain_settings_without_a_template_refuses_set(write_toml: WriteToml) -> None:
    """``--set`` with ``--settings`` and no TEMPLATE is a usage error, not silently ignored."""
    path = write_toml('[templates.ga]\nmodel = "gpt-realtime-2.1"\n')
    result = CliRunner().invoke(main, ["explain", str(path), "--settings", "--set", "ga.model=x"])
    assert result.exit_code == 2 and "--set" in result.output and "TEMPLATE" in result.output
