"""The curated public surface (httpx's drift test) and the one place the environment is read."""

from __future__ import annotations

import ast
from pathlib import Path

import rtconfig

ROOT = Path(rtconfig.__file__).resolve().parent
# The public namespaces beside rtconfig itself (CONTRACT §12).
PUBLIC_SUBMODULES = {"audit", "serve", "testing"}


def test_every_public_name_in_the_package_is_in_all() -> None:
    """``vars(rtconfig)`` holds no public name that ``__all__`` does not list: nothing leaks
    (a helper, ``typing``'s names) except the public submodules once imported."""
    import rtconfig.audit
    import rtconfig.testing

    public = {name for name in vars(rtconfig) if not name.startswith("_")}
    assert public - set(rtconfig.__all__) <= PUBLIC_SUBMODULES, sorted(
        public - set(rtconfig.__all__) - PUBLIC_SUBMODULES
    )
    assert rtconfig.__all__ == sorted(rtconfig.__all__)


def test_only_the_public_namespaces_are_public_modules() -> None:
    """Every module and package directly under ``rtconfig/`` is private (``_name``) except
    ``testing``, ``audit`` and ``serve``."""
    public = set()
    for path in ROOT.iterdir():
        name = path.stem if path.suffix == ".py" else path.name
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and not name.startswith("_"):
            public.add(name)
    assert public <= PUBLIC_SUBMODULES, sorted(public - PUBLIC_SUBMODULES)


def test_the_stage_functions_and_their_value_types_are_exported() -> None:
    """``rtconfig`` re-exports load → check/resolve/settings → plan → apply and what they return."""
    for name in (
        "load",
        "apply",
        "Config",
        "Check",
        "ResolvedTemplate",
        "ResolvedSettings",
        "Settings",
        "Plan",
        "PlanRecord",
        "ApplyReport",
        "MintResult",
        "MintFailure",
        "FailureKind",
        "Diagnostic",
        "DiagnosticCode",
        "FieldRecord",
        "Origin",
        "OriginKind",
    ):
        assert name in rtconfig.__all__, name
        assert getattr(rtconfig, name) is not None


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines.extend(node.lineno for a in node.names if a.name in ("environ", "getenv"))
    return lines


def test_the_environment_is_read_in_exactly_one_place() -> None:
    """``os.environ`` appears in ``rtconfig/_environ.py`` only; every other module receives the
    environment as an injected mapping."""
    offenders = {}
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "_environ.py" and path.parent == ROOT:
            continue
        lines = _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}
