"""`flagdeck validate DIR` through the real console script (subprocess) and click's runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.commands.validate import command, validate_directory

from .synth import FIXTURES

BAD = 'version: "1.6"\nnamespace: bad\nflags:\n  - key: f\n    name: F\n    rules:\n      - segment: nobody\n'


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "flags"
    for name in ("default", "alternative"):
        src = FIXTURES / "build/testing/integration/testdata/namespaces" / name / "features.yaml"
        (root / name).mkdir(parents=True)
        shutil.copy(src, root / name / "features.yaml")
    (root / "deeper" / "nested").mkdir(parents=True)
    (root / "deeper" / "nested" / "features.yaml").write_text("not: [read")  # two levels down: ignored
    (root / "top.yaml").write_text("garbage: [")  # not a feature file
    return root


def test_valid_tree_exits_zero(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = CliRunner().invoke(command, [str(root)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_errors_exit_one_with_file_line_path_message(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "bad").mkdir()
    (root / "bad" / "features.yml").write_text(BAD)
    (root / "broken").mkdir()
    (root / "broken" / "features.json").write_text('{"flags": [\n  {"key": 1,}\n]}')
    proc = subprocess.run([sys.executable, "-m", "app.cli", "validate", str(root)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{root}/bad/features.yml:7: flags[0].rules[0].segment: rule references unknown segment 'nobody'" in lines
    assert any(line.startswith(f"{root}/broken/features.json:2: invalid JSON") for line in lines), lines
    assert "Traceback" not in proc.stderr


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    root = tmp_path / "flags"
    (root / "prod").mkdir(parents=True)
    shutil.copy(FIXTURES / "core/validation/testdata/valid.yaml", root / "prod" / "features.yaml")
    result = CliRunner().invoke(command, [str(root)])
    assert result.exit_code == 0
    assert f"{root}/prod/features.yaml:1: namespace: warning: the file is in directory 'prod' but holds namespace 'foo'" in result.output
    extended = CliRunner().invoke(command, [str(root), "--extended"])
    assert extended.exit_code == 1 and "flags[1].description" in extended.output


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    assert CliRunner().invoke(command, [str(tmp_path / "missing")]).exit_code == 2
    assert CliRunner().invoke(command, []).exit_code == 2
    (tmp_path / "file").write_text("x")
    assert CliRunner().invoke(command, [str(tmp_path / "file")]).exit_code == 2


def test_two_files_claiming_one_namespace_is_an_error_naming_both(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "features.yaml").write_text("version: '1.6'\nnamespace: shared\n")
    problems = validate_directory(tmp_path)
    clash = [p for p in problems if "declared by 2 files" in p.message]
    assert [p.file for p in clash] == [str(tmp_path / "a/features.yaml"), str(tmp_path / "b/features.yaml")]
    assert all(p.severity == "error" and p.line == 2 for p in clash)
    assert all("a/features.yaml" in p.message and "b/features.yaml" in p.message for p in clash)
