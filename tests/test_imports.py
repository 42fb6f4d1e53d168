"""Import hygiene: dependencies point one way (app -> evaluator -> gitstore)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "gitstore": ("textual", "aiohttp", "evaluator", "app", "asyncssh", "prometheus_client"),
    "evaluator": ("textual", "app", "asyncssh"),
    "evaluator/engine": ("aiohttp", "pygit2", "textual", "app", "prometheus_client", "asyncio", "socket"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_modules(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_modules(path) & set(FORBIDDEN[package])
    }
    assert not offenders, sorted(offenders)


def test_detector_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import textual.app\nfrom aiohttp import web\n")
    assert imported_modules(sample) == {"textual", "aiohttp"}
