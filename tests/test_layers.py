"""The import rules of docs/architecture.md are import-linter contracts in pyproject.toml (`make test` runs
`lint-imports`): they hold here, and a copy of the tree with rules broken on purpose is refused, naming each."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_import_rules_hold() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    for package in ("gitstore", "evaluator", "app"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    breaches = {
        "gitstore/up.py": "import evaluator.engine\n",  # gitstore never imports the evaluator
        "gitstore/format/up.py": "from gitstore.git import repo\n",  # formats sit below Git
        "evaluator/engine/io.py": "import asyncio\n",  # the engine does no I/O
        "evaluator/ui.py": "import textual\n",  # the evaluator runs headless
    }
    for path, text in breaches.items():
        (tmp_path / path).write_text(text)
    result = lint(tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "gitstore.up -> evaluator.engine" in out and "gitstore.format.up -> gitstore.git" in out
    assert "evaluator.engine.io -> asyncio" in out and "evaluator.ui -> textual" in out
    assert "4 broken." in out
