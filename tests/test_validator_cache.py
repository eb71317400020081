"""The on-disk cache of the request validators: used when it is ours and current, else ignored.

Each CLI run here is a fresh process (the cache is read once per process), reporting whether it
had to import the models, which only a run without a usable cache does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_core import ValidationError

from rtconfig import _validator_cache as cache
from rtconfig._endpoints import Endpoint
from rtconfig._models import request_adapter

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "rtconfig"

VALID = """\
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime"
audio.output = { voice = "marin", speed = 1.2 }
"""
# audio.output.speed is at most 1.5: only a validator that judges the field rejects this.
INVALID = VALID.replace("speed = 1.2", "speed = 9")

RUN = (
    "import sys\n"
    "from rtconfig._cli import main\n"
    "try:\n    main.main(args=['validate', sys.argv[1]])\n"
    "except SystemExit as exc:\n    code = exc.code\n"
    "print('MODELS:' + str('rtconfig._models' in sys.modules), 'EXIT:' + str(code))\n"
)


def _run(config: Path, cache_dir: Path | str, pythonpath: Path | None = None) -> tuple[bool, int]:
    """Validate ``config`` in a fresh process: (did it import the models, exit code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTCONFIG")}
    env["RTCONFIG_CACHE_DIR"] = str(cache_dir)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        check=False,
    )
    last = proc.stdout.strip().splitlines()[-1]
    models, code = last.split()
    return models == "MODELS:True", int(code.removeprefix("EXIT:"))


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    valid, invalid = tmp_path / "valid.toml", tmp_path / "invalid.toml"
    valid.write_text(VALID)
    invalid.write_text(INVALID)
    return valid, invalid


def _cache_file(cache_dir: Path) -> Path:
    (found,) = cache_dir.glob("validators-*.json")
    return found


def test_a_warm_cache_validates_without_importing_the_models(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """The first run builds from the models and writes a private cache; the next ones use it."""
    valid, invalid = configs
    cache_dir = tmp_path / "cache"
    assert _run(valid, cache_dir) == (True, 0)
    written = _cache_file(cache_dir)
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert written.stat().st_mode & 0o777 == 0o600
    assert _run(valid, cache_dir) == (False, 0)
    assert _run(invalid, cache_dir)[1] == 1  # the cached validator still judges every field


def _bodies() -> Iterator[tuple[Endpoint, Any]]:
    """Valid bodies of every endpoint, and each with every leaf replaced by wrong values."""
    ga = {
        "expires_after": {"anchor": "created_at", "seconds": 600},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "hi",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
                    "transcription": {"model": "whisper-1"},
                    "noise_reduction": {"type": "near_field"},
                },
                "output": {"voice": {"id": "voice_1"}, "speed": 1.1},
            },
            "tools": [
                {"type": "function", "name": "f", "parameters": {"type": "object"}},
                {"type": "mcp", "server_label": "s", "server_url": "https://x.example"},
            ],
            "tool_choice": {"type": "function", "name": "f"},
            "tracing": {"workflow_name": "w"},
            "truncation": {"type": "retention_ratio", "retention_ratio": 0.5},
            "prompt": {"id": "p", "variables": {"a": "b"}},
        },
    }
    transcription_ga = {
        "session": {"type": "transcription", "audio": {"input": {"turn_detection": None}}}
    }
    beta = {
        "model": "gpt-realtime",
        "voice": "alloy",
        "modalities": ["text", "audio"],
        "max_response_output_tokens": 100,
        "turn_detection": {"type": "server_vad", "threshold": 0.4},
        "input_audio_transcription": {"model": "whisper-1"},
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "tool_choice": "f",
        "client_secret": {"expires_after": {"anchor": "created_at", "seconds": 60}},
    }
    beta_transcription = {
        "input_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
        "turn_detection": {"type": "server_vad"},
        "include": ["item.input_audio_transcription.logprobs"],
    }
    wrong = [None, "bogus", 24000.0, True, 7, [], ["x"], {}, {"type": "nope"}, {"id": 1}]
    for endpoint, body in [
        (Endpoint.CLIENT_SECRETS, ga),
        (Endpoint.CLIENT_SECRETS, transcription_ga),
        (Endpoint.SESSIONS, beta),
        (Endpoint.TRANSCRIPTION_SESSIONS, beta_transcription),
    ]:
        yield endpoint, body
        for mutated in _mutations(body, wrong):
            yield endpoint, mutated
    for endpoint in Endpoint:
        for body in [None, [], "x", {}, {"unknown": 1}, ga, beta, beta_transcription]:
            yield endpoint, body


def _mutations(node: Any, wrong: list[Any]) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            for replacement in [*wrong, *_mutations(value, wrong)]:
                yield {**node, key: replacement}
    elif isinstance(node, list):
        for i, value in enumerate(node):
            for replacement in [*wrong, *_mutations(value, wrong)]:
                yield [*node[:i], replacement, *node[i + 1 :]]


def _outcome(validator: Any, body: Any) -> Any:
    try:
        return ("ok", validator.validate_python(body))
    except ValidationError as exc:
        return ("errors", exc.errors(include_url=False))


def test_cached_validators_judge_every_body_as_the_models_do(tmp_path: Path) -> None:
    """Validators rebuilt from the cache file give the models' verdict and errors, exactly."""
    key = "0" * 64
    snapshot, payload = cache._build()
    assert payload is not None, "the models' core schemas must be cacheable"
    cache._write(tmp_path, key, payload)
    cached = cache._read(tmp_path, key)
    assert cached is not None
    assert cached.known == snapshot.known
    outcomes = []
    for endpoint, body in _bodies():
        expected = _outcome(request_adapter(endpoint), body)
        assert _outcome(cached.validators[endpoint], body) == expected, (endpoint, body)
        outcomes.append(expected[0])
    assert outcomes.count("ok") > 10
    assert outcomes.count("errors") > 500


def test_a_cache_from_another_version_is_ignored(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """Another rtconfig version (or edited sources) gets its own cache and never reads ours."""
    valid, _ = configs
    cache_dir = tmp_path / "cache"
    assert _run(valid, cache_dir) == (True, 0)
    ours = _cache_file(cache_dir)
    other = tmp_path / "other"
    shutil.copytree(PACKAGE, other / "rtconfig", ignore=shutil.ignore_patterns("__pycache__"))
    (other / "rtconfig" / "_version.py").write_text('__version__ = "99.0.0"\n')
    assert _run(valid, cache_dir, pythonpath=other) == (True, 0)  # built, not read
    assert len(list(cache_dir.glob("validators-*.json"))) == 2
    assert _run(valid, cache_dir, pythonpath=other) == (False, 0)
    # A file that claims our name but holds another key is not ours either.
    theirs = next(p for p in cache_dir.glob("validators-*.json") if p != ours)
    os.replace(theirs, ours)
    assert _run(valid, cache_dir) == (True, 0)


def _poison(path: Path) -> None:
    """Make the cached GA validator accept anything (as a hostile writer would)."""
    data = json.loads(path.read_text())
    data["payload"]["validators"]["realtime/client_secrets"] = {
        "schema": {"type": "any"},
        "calls": [],
    }
    path.write_text(json.dumps(data))


def test_a_cache_someone_else_could_write_is_not_used(
    tmp_path: Path, configs: tuple[Path, Path]
) -> None:
    """A cache file or directory open to others, foreign-owned or a symlink is never read."""
    _, invalid = configs
    cache_dir = tmp_path / "cache"
    assert _run(invalid, cache_dir) == (True, 1)
    path = _cache_file(cache_dir)
    _poison(path)
    assert _run(invalid, cache_dir) == (False, 0), "control: a private poisoned cache is used"

    path.chmod(0o644)
    assert _run(invalid, cache_dir) == (True, 1)
    path.chmod(0o600)
    cache_dir.chmod(0o755)
    assert _run(invalid, cache_dir) == (True, 1)
    cache_dir.chmod(0o700)

    moved = tmp_path / "elsewhere.json"
    os.replace(path, moved)
    path.symlink_to(moved)
    assert _run(invalid, cache_dir) == (True, 1)
    path.unlink()
    os.replace(moved, path)

    if os.geteuid() == 0:  # only root can give a file away
        os.chown(path, 65534, 65534)
        assert _run(invalid, cache_dir) == (True, 1)
        os.chown(path, 0, 0)
        os.chown(cache_dir, 65534, 65534)
        assert _run(invalid, cache_dir) == (True, 1)


def test_a_corrupt_cache_is_rebuilt(tmp_path: Path, configs: tuple[Path, Path]) -> None:
    """A truncated cache file falls back to the models and is written again, whole."""
    valid, _ = configs
    cache_dir = tmp_path / "cache"
    assert _run(valid, cache_dir) == (True, 0)
    path = _cache_file(cache_dir)
    path.write_bytes(path.read_bytes()[:1000])
    assert _run(valid, cache_dir) == (True, 0)
    assert _run(valid, cache_dir) == (False, 0)


def test_an_empty_cache_dir_turns_the_cache_off(tmp_path: Path, configs: tuple[Path, Path]) -> None:
    """``RTCONFIG_CACHE_DIR=""``: nothing is written and every run builds from the models."""
    valid, _ = configs
    before = set(tmp_path.iterdir())
    assert _run(valid, "") == (True, 0)
    assert _run(valid, "") == (True, 0)
    assert set(tmp_path.iterdir()) == before


def test_version_answers_without_click() -> None:
    """``rtconfig --version`` prints click's line without importing click or the package."""
    code = "import sys\nsys.argv = ['rtconfig', '-V']\nfrom rtconfig._cli import run\nrun()\n"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    from rtconfig import __version__

    assert proc.returncode == 0
    assert proc.stdout == f"rtconfig, version {__version__}\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "click" not in imported
    assert "rtconfig._config" not in imported
