"""Every field and enum value the newest openai SDK knows is accepted on the GA endpoint.

The test walks openai-python's request ``TypedDict``\\ s mechanically (``typing.get_type_hints``,
``Literal`` values, unions, optional nulls) and sends one body per leaf alternative through
rtconfig's checks: the next field or enum value OpenAI adds shows up here as a failing test, not
as a user's bug report. The SDK is pinned in the ``test`` extra (``openai==3.57.0``, the newest
on the registry on 2026-12-01); install it with ``pip install -e '.[test]'``.
"""

from __future__ import annotations

import collections.abc
import copy
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import openai
import pytest
from openai.types.realtime import client_secret_create_params
from typing_extensions import is_typeddict

from rtconfig._checks import check_body
from rtconfig._endpoints import Endpoint
from rtconfig._models import KNOWN_MODELS, KNOWN_TRANSCRIPTION_MODELS

SDK_VERSION = openai.__version__
ROOT = client_secret_create_params.ClientSecretCreateParams

# Values that satisfy what the API checks beyond the types (ranges, patterns, references).
SAMPLES: dict[str, Any] = {
    "seconds": 600,
    "idle_timeout_ms": 6000,
    "max_output_tokens": 100,
    "tunnel_id": "tunnel_" + "a" * 32,
    "server_url": "https://mcp.example.com/sse",
    "name": "lookup",
    "server_label": "srv",
    "language": "en",
    "parameters": {"type": "object"},
}
FUNCTION = {"type": "function", "name": "lookup"}
MCP = {"type": "mcp", "server_label": "srv", "server_url": "https://mcp.example.com/sse"}
MCP_SOURCES = ("server_url", "connector_id", "tunnel_id")


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _strip(tp: Any) -> Any:
    while get_origin(tp) in (typing.Annotated, typing.Required, typing.NotRequired):
        tp = get_args(tp)[0]
    return tp


def _is_sequence(tp: Any) -> bool:
    origin = get_origin(tp)
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence):
        return True
    return getattr(origin, "__name__", "") == "SequenceNotStr"


def alternatives(tp: Any, key: str = "") -> Iterator[Any]:
    """Every value worth trying for ``tp``: each Literal value, each union branch, null if
    Optional, and for a table one value per alternative of each of its fields."""
    tp = _strip(tp)
    has_literal = _is_union(tp) and any(get_origin(_strip(m)) is Literal for m in get_args(tp))
    if (
        key in SAMPLES
        and not is_typeddict(tp)
        and get_origin(tp) is not Literal
        and not has_literal
    ):
        yield SAMPLES[key]
        if _is_union(tp) and type(None) in get_args(tp):
            yield None
        return
    if _is_union(tp):
        for member in get_args(tp):
            yield from alternatives(member, key)
    elif tp is type(None):
        yield None
    elif get_origin(tp) is Literal:
        yield from get_args(tp)
    elif is_typeddict(tp):
        yield from _tables(tp)
    elif _is_sequence(tp):
        (item,) = get_args(tp)
        for value in alternatives(item, key):
            yield [value]
    elif get_origin(tp) in (dict, collections.abc.Mapping):
        for value in alternatives(get_args(tp)[1], key):
            yield {"k": value}
    else:
        yield _scalar(tp, key)


def _scalar(tp: Any, key: str) -> Any:
    if tp is bool:
        return True
    if tp is int:
        return 600
    if tp is float:
        return 0.5
    if tp is str:
        return "x"
    if tp is object:
        return {"type": "object"}
    raise AssertionError(f"the walker does not know {tp!r} (at {key!r}): teach it")


def _tables(td: Any) -> Iterator[dict[str, Any]]:
    hints = get_type_hints(td, include_extras=True)
    # The SDK's modules use `from __future__ import annotations`, so __required_keys__ is empty:
    # `Required[...]` is only visible in the resolved hints.
    required = {k for k, tp in hints.items() if get_origin(tp) is typing.Required}
    # A table's constant `type` is always sent: rtconfig requires the discriminator where the
    # spec forgot to (audio formats, NOTES §15).
    if "type" in hints and len(get_args(_strip(hints["type"]))) == 1:
        required.add("type")
    base = {k: next(alternatives(hints[k], k)) for k in hints if k in required}
    yield base
    for key, tp in hints.items():
        for value in alternatives(tp, key):
            yield {**base, key: value}


def fixed_up(body: dict[str, Any]) -> dict[str, Any]:
    """Satisfy the API's cross-field rules (declared tool_choice targets, one MCP source,
    no VAD with gpt-realtime-whisper) around whatever leaf the body tries."""
    session = body.get("session")
    if not isinstance(session, dict):
        return body
    if isinstance(session.get("tool_choice"), dict) and "tools" not in session:
        session["tools"] = [dict(FUNCTION), dict(MCP)]
    for tool in session.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type", "function") == "function":
            tool.setdefault("name", "lookup")  # a function the model cannot name is refused
        mcp = isinstance(tool, dict) and tool.get("type") == "mcp"
        if mcp and not any(source in tool for source in MCP_SOURCES):
            tool["server_url"] = SAMPLES["server_url"]
    audio_input = (session.get("audio") or {}).get("input") or {}
    transcription = audio_input.get("transcription") or {}
    if session.get("type") == "transcription" and transcription.get("model") == (
        "gpt-realtime-whisper"
    ):
        audio_input["turn_detection"] = None
    return body


def bodies() -> list[dict[str, Any]]:
    return [fixed_up(copy.deepcopy(body)) for body in alternatives(ROOT)]


def literal_models(td: Any, field: str) -> set[str]:
    """The model names the SDK lists as Literal values of ``td.field``."""
    found: set[str] = set()

    def walk(tp: Any) -> None:
        tp = _strip(tp)
        if _is_union(tp):
            for member in get_args(tp):
                walk(member)
        elif get_origin(tp) is Literal:
            found.update(v for v in get_args(tp) if isinstance(v, str))

    walk(get_type_hints(td, include_extras=True)[field])
    return found


def test_the_sdk_version_is_the_pinned_one() -> None:
    """Says which SDK the walk proves conformance with (the newest installable one)."""
    assert SDK_VERSION == "3.57.0", f"walked openai {SDK_VERSION}; update the pin and this test"


def test_the_walk_covers_the_whole_ga_tree() -> None:
    """The walk reaches the deep leaves (so a vacuous walk cannot pass)."""
    found = bodies()
    assert len(found) > 200
    text = repr(found)
    for leaf in ("strength", "prompt_cache_breakpoint", "idle_timeout_ms", "require_approval"):
        assert f"'{leaf}'" in text, leaf


@pytest.mark.parametrize("body", bodies(), ids=lambda body: repr(body)[:120])
def test_every_sdk_field_and_enum_value_is_accepted(body: dict[str, Any]) -> None:
    """One body per SDK leaf alternative: rtconfig's checks raise no error for it."""
    errors = [p for p in check_body(Endpoint.CLIENT_SECRETS, body) if p.severity == "error"]
    assert errors == [], f"openai {SDK_VERSION} accepts {body!r}"


def test_every_sdk_model_name_is_known() -> None:
    """Every model the SDK lists is a known model (no 'unknown model' warning for it)."""
    from openai.types.realtime import (
        audio_transcription_param,
        realtime_session_create_request_param,
    )

    models = literal_models(
        realtime_session_create_request_param.RealtimeSessionCreateRequestParam, "model"
    )
    transcription = literal_models(audio_transcription_param.AudioTranscriptionParam, "model")
    assert models and transcription
    assert models - KNOWN_MODELS == set()
    assert transcription - KNOWN_TRANSCRIPTION_MODELS == set()
