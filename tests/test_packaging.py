"""`python -m build` makes a wheel and an sdist that install into a clean virtual environment
and run there; the version comes from one place; the metadata says what PyPI users need.

Building and installing fetches the build backend and rtconfig's dependencies from the package
index, as a user's `pipx install` would: these tests take about half a minute.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"', (REPO / "rtconfig" / "_version.py").read_text())
assert VERSION is not None
VERSION_TEXT = VERSION.group(1)


def _run(*args: str | Path, cwd: Path | None = None, timeout: int = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and sdist `python -m build` makes (the wheel is built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, REPO)
    wheels = list(out.glob("rtconfig-*.whl"))
    sdists = list(out.glob("rtconfig-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with nothing but pip in it."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    try:
        import virtualenv  # noqa: F401  (faster than venv+ensurepip; pre-commit depends on it)
    except ImportError:
        _run(sys.executable, "-m", "venv", root)
    else:
        _run(sys.executable, "-m", "virtualenv", "--quiet", "--no-setuptools", "--no-wheel", root)
    return root / "bin"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder, outside the source tree, holding one example."""
    target = tmp_path_factory.mktemp("user") / "voice-agent"
    shutil.copytree(REPO / "examples" / "voice-agent", target)
    return target


def _works(bin_dir: Path, project: Path) -> None:
    """The installed rtconfig runs from outside the source tree: version, validate, apply."""
    assert _run(bin_dir / "rtconfig", "--version", cwd=project).strip() == (
        f"rtconfig, version {VERSION_TEXT}"
    )
    where = _run(bin_dir / "python", "-c", "import rtconfig; print(rtconfig.__file__)", cwd=project)
    assert "site-packages" in where and str(REPO) not in where
    assert "is valid" in _run(bin_dir / "rtconfig", "validate", "sessions.toml", cwd=project)
    results = json.loads(
        _run(bin_dir / "rtconfig", "apply", "sessions.toml", "--emulate", cwd=project)
    )
    assert [r["ok"] for r in results["results"]] == [True]


def test_wheel_installs_into_a_clean_venv_and_runs(
    dist: dict[str, Path], clean_venv: Path, project: Path
) -> None:
    """`pip install rtconfig-….whl` in a new venv gives a working `rtconfig` command (version,
    validate, apply --emulate) whose version is the package metadata's."""
    _run(clean_venv / "python", "-m", "pip", "install", "--quiet", dist["wheel"], timeout=600)
    _works(clean_venv, project)
    installed = _run(
        clean_venv / "python", "-c", "import importlib.metadata as m; print(m.version('rtconfig'))"
    )
    assert installed.strip() == VERSION_TEXT


def test_sdist_builds_installs_and_runs(
    dist: dict[str, Path], clean_venv: Path, project: Path
) -> None:
    """`pip install rtconfig-….tar.gz` builds from the sdist alone and runs (installed over the
    wheel's files in the same venv, its dependencies already there)."""
    _run(
        clean_venv / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--force-reinstall",
        "--no-deps",
        dist["sdist"],
        timeout=600,
    )
    _works(clean_venv, project)


def test_artifacts_are_named_after_the_one_version(dist: dict[str, Path]) -> None:
    """Both file names carry the version of rtconfig/_version.py, the only place it is set."""
    assert dist["wheel"].name == f"rtconfig-{VERSION_TEXT}-py3-none-any.whl"
    assert dist["sdist"].name == f"rtconfig-{VERSION_TEXT}.tar.gz"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert VERSION_TEXT not in re.sub(r"(?m)^#.*$", "", pyproject)


def test_wheel_metadata_and_contents(dist: dict[str, Path]) -> None:
    """The wheel declares the license, Python ≥3.11, classifiers, the README as description,
    the five runtime dependencies and the console script; it ships py.typed and the emulator,
    and no tests."""
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"rtconfig-{VERSION_TEXT}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == "rtconfig" and metadata["Version"] == VERSION_TEXT
    assert metadata["License-Expression"] == "MIT" or "MIT" in (metadata["License"] or "")
    assert metadata["Requires-Python"] == ">=3.11"
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    requires = " ".join(metadata.get_all("Requires-Dist") or [])
    for dependency in ("pydantic", "httpx", "tomli-w", "structlog", "click"):
        assert dependency in requires
    assert metadata.get_content_type() == "text/markdown" or "markdown" in str(
        metadata["Description-Content-Type"]
    )
    assert "rtconfig = rtconfig._cli:run" in entry_points
    assert "rtconfig/py.typed" in names and "rtconfig/testing.py" in names
    assert any(name.startswith(f"{info}/licenses/") for name in names)
    assert not any(name.startswith("tests/") for name in names)


def test_sdist_contents(dist: dict[str, Path]) -> None:
    """The sdist carries the source, license, README, changelog, docs and examples."""
    with tarfile.open(dist["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for required in (
        "pyproject.toml",
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "rtconfig/__init__.py",
        "rtconfig/py.typed",
        "docs/format.md",
        "examples/voice-agent/sessions.toml",
    ):
        assert required in names, required


def test_changelog_follows_keep_a_changelog() -> None:
    """CHANGELOG.md names Keep a Changelog and has an [Unreleased] section with typed groups."""
    text = (REPO / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in text
    assert re.search(r"^## \[Unreleased\]$", text, re.M)
    groups = set(re.findall(r"^### (\w+)$", text, re.M))
    assert groups and groups <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
