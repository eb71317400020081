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
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"', (REPO / "rtconfig" / "_version.py").read_text())
assert VERSION is not None
VERSION_TEXT = VERSION.group(1)
# The distribution's name (PyPI's "rtconfig" is an unrelated project) and its normalized form,
# which wheel and sdist file names use.
DIST_NAME = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
DIST_FILE = re.sub(r"[-_.]+", "_", DIST_NAME).lower()


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
    wheels = list(out.glob(f"{DIST_FILE}-*.whl"))
    sdists = list(out.glob(f"{DIST_FILE}-*.tar.gz"))
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
    """`pip install rtconfig_realtime-….whl` in a new venv gives a working `rtconfig` command
    (version, validate, apply --emulate) whose version is the package metadata's."""
    _run(clean_venv / "python", "-m", "pip", "install", "--quiet", dist["wheel"], timeout=600)
    _works(clean_venv, project)
    installed = _run(
        clean_venv / "python",
        "-c",
        "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))",
        DIST_NAME,
    )
    assert installed.strip() == VERSION_TEXT


def test_sdist_builds_installs_and_runs(
    dist: dict[str, Path], clean_venv: Path, project: Path
) -> None:
    """`pip install rtconfig_realtime-….tar.gz` builds from the sdist alone and runs (installed
    over the wheel's files in the same venv, its dependencies already there)."""
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
    assert dist["wheel"].name == f"{DIST_FILE}-{VERSION_TEXT}-py3-none-any.whl"
    assert dist["sdist"].name == f"{DIST_FILE}-{VERSION_TEXT}.tar.gz"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert VERSION_TEXT not in re.sub(r"(?m)^#.*$", "", pyproject)


def test_wheel_metadata_and_contents(dist: dict[str, Path]) -> None:
    """The wheel declares the license, Python ≥3.11, classifiers, the README as description,
    the five runtime dependencies and the console script; it ships py.typed and the emulator,
    and no tests."""
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"{DIST_FILE}-{VERSION_TEXT}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == DIST_NAME and metadata["Version"] == VERSION_TEXT
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


def test_the_distribution_name_is_not_pypis_unrelated_rtconfig() -> None:
    """The distribution is not named `rtconfig` (PyPI's `rtconfig` is someone else's project,
    with the same import name), while the import name and the command stay `rtconfig`."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert DIST_NAME == "rtconfig-realtime"
    assert set(project["scripts"]) == {"rtconfig"}
    assert project["scripts"]["rtconfig"].startswith("rtconfig._cli:")
    assert (REPO / "rtconfig" / "__init__.py").is_file()


def _install_lines() -> list[tuple[str, str]]:
    """Every line of the docs, README and example workflow that installs rtconfig."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        found += [(path.name, line) for line in path.read_text().splitlines()]
    workflow = REPO / "examples" / "github-actions" / "rtconfig.yml"
    found += [(workflow.name, line) for line in workflow.read_text().splitlines()]
    installs = re.compile(r"(pip|pipx|uv tool) install |RTCONFIG_PACKAGE:")
    return [(name, line) for name, line in found if installs.search(line)]


def test_every_documented_install_installs_this_distribution() -> None:
    """No doc or workflow installs PyPI's unrelated `rtconfig`: each install line names
    rtconfig-realtime, a wheel of it, the clone (`.`) or another tool (pre-commit, taplo…)."""
    lines = _install_lines()
    assert len(lines) >= 5, lines
    bare = re.compile(r"(install|RTCONFIG_PACKAGE:)\s+[\"']?rtconfig(?![-_\w])")
    offenders = [(name, line) for name, line in lines if bare.search(line)]
    assert offenders == []
    workflow = (REPO / "examples" / "github-actions" / "rtconfig.yml").read_text()
    assert f"RTCONFIG_PACKAGE: {DIST_NAME}==" in workflow
    assert f"pip install {DIST_NAME}" in (REPO / "docs" / "ci.md").read_text()


def test_documented_wheel_paths_are_the_ones_build_writes(dist: dict[str, Path]) -> None:
    """The README's and getting-started's `pipx install dist/….whl` name the file `python -m
    build` writes to `dist/`, and getting-started installs the `build` package first."""
    wheel = f"dist/{dist['wheel'].name}"
    for page in (REPO / "README.md", REPO / "docs" / "getting-started.md"):
        text = page.read_text()
        paths = re.findall(r"install (\S+\.whl)", text)
        assert paths and set(paths) == {wheel}, (page.name, paths)
    guide = (REPO / "docs" / "getting-started.md").read_text()
    assert guide.index("pip install build") < guide.index("python3 -m build")
