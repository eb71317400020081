"""Resolution (contract §3): layer precedence, inheritance, unset/null, provenance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from rtconfig._loader import read_document
from rtconfig._origins import OriginKind
from rtconfig._overrides import override_layers
from rtconfig._resolver import Resolution, Resolver, resolve_settings
from rtconfig._settings import DEFAULT_BASE_URL
from rtconfig._sources import read_sources

WriteToml = Callable[..., Path]

LAYERED = """
    [templates.parent]
    voice = "from-parent"
    speed = 1.0

    [templates.child]
    extends = "parent"
    voice = "from-child"

    [environments.prod.templates."*"]
    voice = "from-star"
    temperature = 0.7

    [environments.prod.templates.child]
    voice = "from-overlay"
"""


def resolve(
    path: Path,
    name: str,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
    sets: Sequence[str] = (),
) -> Resolution:
    sources = read_sources(read_document(path))
    assert not sources.diagnostics, sources.diagnostics
    env_layers, set_layers, problems = override_layers(sources.templates, environ or {}, sets)
    assert not problems, problems
    resolver = Resolver(sources, env, env_layers, set_layers)
    result = resolver.resolve(name)
    assert result is not None, resolver.diagnostics
    return result


def value(result: Resolution, *path: str) -> Any:
    return result.records[path].value


def kind(result: Resolution, *path: str) -> OriginKind:
    return result.records[path].origin.kind


def test_precedence_parent_over_star_overlay(write_toml: WriteToml) -> None:
    """A parent's value beats the environment's "*" overlay (layer 2 over layer 1)."""
    path = write_toml(LAYERED)
    result = resolve(path, "parent", "prod")
    assert value(result, "voice") == "from-parent"
    assert value(result, "temperature") == 0.7  # the "*" overlay still fills what nobody sets
    assert kind(result, "temperature") is OriginKind.ENVIRONMENT


def test_precedence_template_over_parent(write_toml: WriteToml) -> None:
    """A template's own key beats its parent's (layer 3 over layer 2)."""
    result = resolve(write_toml(LAYERED), "child")
    assert value(result, "voice") == "from-child"
    assert value(result, "speed") == 1.0
    record = result.records[("voice",)]
    assert [v for v, _ in record.overridden] == ["from-parent"]


def test_precedence_environment_overlay_over_template(write_toml: WriteToml) -> None:
    """``[environments.E.templates.T]`` beats T's own keys (layer 4 over layer 3)."""
    result = resolve(write_toml(LAYERED), "child", "prod")
    assert value(result, "voice") == "from-overlay"
    chain = [v for v, _ in result.records[("voice",)].overridden]
    assert chain == ["from-child", "from-parent", "from-star"]


def test_precedence_env_var_over_environment_overlay(write_toml: WriteToml) -> None:
    """``RTCONFIG__T__FIELD`` beats the environment overlay (layer 5 over layer 4)."""
    result = resolve(
        write_toml(LAYERED), "child", "prod", environ={"RTCONFIG__CHILD__VOICE": "from-var"}
    )
    assert value(result, "voice") == "from-var"
    origin = result.records[("voice",)].origin
    assert origin.kind is OriginKind.ENV_VAR
    assert origin.var == "RTCONFIG__CHILD__VOICE"


def test_precedence_set_over_env_var(write_toml: WriteToml) -> None:
    """``--set`` beats an environment variable (layer 6 over layer 5)."""
    result = resolve(
        write_toml(LAYERED),
        "child",
        "prod",
        environ={"RTCONFIG__CHILD__VOICE": "from-var"},
        sets=["child.voice=from-set"],
    )
    assert value(result, "voice") == "from-set"
    assert kind(result, "voice") is OriginKind.SET
    assert next(v for v, _ in result.records[("voice",)].overridden) == "from-var"


def test_later_parent_wins_over_earlier(write_toml: WriteToml) -> None:
    """With ``extends = [a, b]`` b's values beat a's, and a's other values remain."""
    path = write_toml(
        """
        [templates.a]
        voice = "a"
        speed = 0.5
        [templates.b]
        voice = "b"
        [templates.c]
        extends = ["a", "b"]
        """
    )
    result = resolve(path, "c")
    assert value(result, "voice") == "b"
    assert value(result, "speed") == 0.5


def test_diamond_shared_ancestor_does_not_undo_override(write_toml: WriteToml) -> None:
    """In a diamond, the value both parents inherit from the root counts once: the override
    one parent made is not undone by the other parent's inherited copy."""
    path = write_toml(
        """
        [templates.root]
        voice = "root"
        speed = 1.0
        [templates.left]
        extends = "root"
        voice = "left"
        [templates.right]
        extends = "root"
        speed = 1.2
        [templates.bottom]
        extends = ["left", "right"]
        """
    )
    result = resolve(path, "bottom")
    assert value(result, "voice") == "left"
    assert value(result, "speed") == 1.2
    assert [v for v, _ in result.records[("speed",)].overridden] == [1.0]


def test_tables_merge_deeply_and_arrays_replace(write_toml: WriteToml) -> None:
    """Nested tables merge key by key; an array from a higher layer replaces the lower one."""
    path = write_toml(
        """
        [templates.a]
        audio.output = { voice = "alloy", speed = 1.0 }
        modalities = ["audio", "text"]
        [templates.b]
        extends = "a"
        audio.output.speed = 1.2
        modalities = ["text"]
        """
    )
    result = resolve(path, "b")
    assert result.values["audio"] == {"output": {"voice": "alloy", "speed": 1.2}}
    assert result.values["modalities"] == ["text"]


def test_unset_removes_inherited_key(write_toml: WriteToml) -> None:
    """``unset`` drops a key the lower layers built, so the API default applies."""
    path = write_toml(
        """
        [templates.a]
        tools = [{ type = "function", name = "x" }]
        audio.output = { voice = "alloy", speed = 1.0 }
        [templates.b]
        extends = "a"
        unset = ["tools", "audio.output.speed"]
        """
    )
    result = resolve(path, "b")
    assert "tools" not in result.values
    assert result.values["audio"] == {"output": {"voice": "alloy"}}
    assert ("tools",) not in result.records


def test_null_sends_explicit_null(write_toml: WriteToml) -> None:
    """``null`` sets a JSON null that replaces an inherited table, recorded with its origin."""
    path = write_toml(
        """
        [templates.a]
        audio.input.turn_detection = { type = "server_vad", threshold = 0.5 }
        [templates.b]
        extends = "a"
        null = ["audio.input.turn_detection"]
        """
    )
    result = resolve(path, "b")
    assert result.values["audio"]["input"]["turn_detection"] is None
    record = result.records[("audio", "input", "turn_detection")]
    assert record.origin.template == "b"
    assert record.origin.line == 6
    assert ("audio", "input", "turn_detection", "threshold") not in result.records


def test_parent_does_not_change_when_child_resolves(write_toml: WriteToml) -> None:
    """Resolving a child never mutates its parent's cached resolution (copy on write)."""
    path = write_toml(
        """
        [templates.a]
        audio.output = { voice = "alloy" }
        [templates.b]
        extends = "a"
        audio.output.speed = 1.2
        null = ["audio.input"]
        """
    )
    sources = read_sources(read_document(path))
    resolver = Resolver(sources, None, {}, {})
    parent = resolver.resolve("a")
    assert parent is not None
    before = repr(parent.values)
    resolver.resolve("b")
    assert repr(parent.values) == before


def test_child_inherits_override_aimed_at_parent(write_toml: WriteToml) -> None:
    """An environment variable aimed at a parent reaches a child that does not set the key."""
    path = write_toml(LAYERED)
    result = resolve(path, "child", environ={"RTCONFIG__PARENT__SPEED": "1.3"})
    assert value(result, "speed") == 1.3
    assert result.records[("speed",)].origin.var == "RTCONFIG__PARENT__SPEED"


def test_child_key_beats_override_aimed_at_parent(write_toml: WriteToml) -> None:
    """A child that sets the key itself keeps it over a --set aimed at its parent."""
    result = resolve(write_toml(LAYERED), "child", sets=["parent.voice=from-set"])
    assert value(result, "voice") == "from-child"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("marin", "marin"), ("0.7", 0.7), ("null", None), ('"42"', "42"), ("[1, 2]", [1, 2])],
)
def test_override_values_are_json_else_strings(
    write_toml: WriteToml, raw: str, expected: Any
) -> None:
    """Values from variables and --set are parsed as JSON, falling back to a plain string."""
    result = resolve(write_toml(LAYERED), "child", sets=[f"child.x={raw}"])
    assert value(result, "x") == expected


def test_env_var_template_name_is_case_insensitive_with_dashes(write_toml: WriteToml) -> None:
    """``RTCONFIG__PUSH_TO_TALK__…`` names the template ``push-to-talk``; fields are lowercased."""
    path = write_toml('[templates.push-to-talk]\nvoice = "a"\n')
    result = resolve(
        path, "push-to-talk", environ={"rtconfig__Push_To_Talk__AUDIO__OUTPUT__VOICE": "b"}
    )
    assert result.values["audio"] == {"output": {"voice": "b"}}


def test_instructions_file_becomes_instructions(write_toml: WriteToml) -> None:
    """``instructions_file`` is read relative to the TOML and recorded with kind ``file``."""
    path = write_toml(
        '[templates.a]\ninstructions_file = "prompts/a.md"\n', files={"prompts/a.md": "Be brief.\n"}
    )
    result = resolve(path, "a")
    record = result.records[("instructions",)]
    assert record.value == "Be brief.\n"
    assert record.origin.kind is OriginKind.FILE
    assert record.origin.source == "prompts/a.md"
    assert record.origin.line == 2


def test_origins_carry_file_and_line(write_toml: WriteToml) -> None:
    """Every leaf knows the file and line that set it, including dotted and inline keys."""
    path = write_toml(
        """
        [templates.a]
        audio.output.voice = "alloy"
        expires_after = { anchor = "created_at", seconds = 600 }

        [templates.a.audio.input]
        format = { type = "audio/pcm" }
        """
    )
    result = resolve(path, "a")
    assert result.records[("audio", "output", "voice")].origin.line == 3
    seconds = result.records[("expires_after", "seconds")].origin
    assert (seconds.line, seconds.col) == (4, 42)
    assert result.records[("audio", "input", "format", "type")].origin.line == 7
    assert seconds.file == str(path)


def test_precedence_settings_flag_over_variable_over_environment(write_toml: WriteToml) -> None:
    """Settings: [api] < [environments.E.api] < OPENAI_BASE_URL < --base-url."""
    path = write_toml(
        """
        [api]
        base_url = "https://a.example/v1"
        max_retries = 5
        [environments.prod.api]
        base_url = "https://b.example/v1"
        """
    )
    sources = read_sources(read_document(path))
    assert resolve_settings(sources, None, {})[0].base_url == "https://a.example/v1"
    assert resolve_settings(sources, "prod", {})[0].base_url == "https://b.example/v1"
    from_var = resolve_settings(sources, "prod", {"OPENAI_BASE_URL": "https://c.example/v1/"})
    assert from_var[0].base_url == "https://c.example/v1"
    flagged = resolve_settings(
        sources, "prod", {"OPENAI_BASE_URL": "https://c.example/v1"}, "http://127.0.0.1:9/v1"
    )
    assert flagged[0].base_url == "http://127.0.0.1:9/v1"
    assert flagged[0].max_retries == 5
    empty = read_sources(read_document(write_toml("", name="empty.toml")))
    assert resolve_settings(empty, None, {})[0].base_url == DEFAULT_BASE_URL


def test_hundred_level_chain_resolves(write_toml: WriteToml) -> None:
    """A 100-level inheritance chain resolves, with the root's value reaching the leaf."""
    text = '[templates.t0]\nvoice = "root"\n' + "".join(
        f'[templates.t{i}]\nextends = "t{i - 1}"\n' for i in range(1, 100)
    )
    result = resolve(write_toml(text), "t99")
    assert value(result, "voice") == "root"


def test_too_deep_chain_is_refused_with_the_limit(write_toml: WriteToml) -> None:
    """A chain past the depth limit is a diagnostic naming the limit, not a RecursionError."""
    from rtconfig._resolver import MAX_INHERITANCE_DEPTH

    n = MAX_INHERITANCE_DEPTH + 5
    text = "[templates.t0]\n" + "".join(
        f'[templates.t{i}]\nextends = "t{i - 1}"\n' for i in range(1, n)
    )
    sources = read_sources(read_document(write_toml(text)))
    resolver = Resolver(sources, None, {}, {})
    assert resolver.resolve(f"t{n - 1}") is None
    (messages,) = [[d.message for d in ds] for ds in resolver.diagnostics.values()]
    assert str(MAX_INHERITANCE_DEPTH) in messages[0]


def test_exponential_diamond_graph_is_linear(write_toml: WriteToml) -> None:
    """A ladder of diamonds (2**40 paths) resolves quickly: each template is resolved once."""
    lines = ['[templates.a0]\nvoice = "root"\n[templates.b0]\nspeed = 1.0\n']
    for i in range(1, 41):
        lines.append(f'[templates.a{i}]\nextends = ["a{i - 1}", "b{i - 1}"]\n')
        lines.append(f'[templates.b{i}]\nextends = ["b{i - 1}", "a{i - 1}"]\n')
    result = resolve(write_toml("".join(lines)), "a40")
    assert value(result, "voice") == "root"
    assert value(result, "speed") == 1.0


SHARED = """
    [templates.base]
    type = "realtime"
    model = "gpt-realtime-2.1"
    audio.output.voice = "marin"

    [templates.quiet]
    extends = "base"
    audio.output.speed = 0.9

    [templates.loud]
    extends = "base"
    audio.output.speed = 1.2

    [environments.staging.templates.loud]
    audio.output.voice = "ash"

    [environments.production.templates."*"]
    tracing = "auto"
"""


def test_an_environment_that_touches_nothing_shares_the_default_resolution(
    write_toml: WriteToml,
) -> None:
    """A template whose chain an environment adds no layer to resolves once: its records map
    is the default environment's own object, with the same exact provenance; a template the
    environment overlays (or a "*" overlay) gets its own."""
    import rtconfig

    check = rtconfig.load(write_toml(SHARED)).check(environ={})
    check.raise_for_errors()
    by = {(t.name, t.env): t for t in check.templates}
    assert by["quiet", "staging"].fields is by["quiet", None].fields
    assert by["base", "staging"].fields is by["base", None].fields
    assert by["loud", "staging"].fields is not by["loud", None].fields
    assert by["quiet", "production"].fields is not by["quiet", None].fields
    speed = by["quiet", "staging"].fields[("audio", "output", "speed")]
    assert (speed.value, speed.origin.template, speed.origin.env) == (0.9, "quiet", None)
    voice = by["loud", "staging"].fields[("audio", "output", "voice")]
    assert (voice.value, voice.origin.kind, voice.origin.env) == (
        "ash",
        OriginKind.ENVIRONMENT,
        "staging",
    )
    assert [v for v, _ in voice.overridden] == ["marin"]
    assert by["quiet", "staging"].env == "staging"  # the record is still staging's
