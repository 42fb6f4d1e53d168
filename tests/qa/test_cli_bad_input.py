"""Bad input to the command line gets a clear one-line error (which file, line, field) and a non-zero exit, never a
traceback; nothing is written or lost. Run through the real CLI group in-process (click's runner keeps any
exception, so a traceback the user would have seen fails the test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from gitstore.demo import init_demo


def invoke(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("FLAGDECK_CONFIG", raising=False)
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"flagdeck {' '.join(args)} raised {result.exception!r}") from result.exception
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    init_demo(tmp_path / ".flagdeck")
    return tmp_path


@pytest.mark.parametrize(("args", "expected"), [
    (["export", "-o", "missing-dir/out.json"], "missing-dir/out.json: cannot write: No such file or directory"),
    (["export", "-o", "."], "File '.' is a directory"),
    (["export", "--env", "nope"], "unknown environment 'nope' (configured: production, staging)"),
    (["export", "--commit", "deadbeef"], "commit deadbeef not found"),
    (["export", "--namespace", "nope"], "namespace 'nope' not found in production (found: default)"),
    (["eval", "-e", "u", "-c", "platform", "color-theme"], "'platform' is not KEY=VALUE"),
    (["eval", "-e", "u", "nope"], 'flag "default/nope" not found'),
    (["eval", "-e", "u", "-n", "nope"], "namespace 'nope' not found"),
    (["validate", "--env", "nope"], "unknown environment 'nope'"),
    (["init", ".flagdeck"], "already exists (nothing was changed)"),
    (["init", ".flagdeck/flagdeck.yaml/sub"], ".flagdeck/flagdeck.yaml/sub: cannot create: Not a directory"),
])
def test_bad_arguments_get_a_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         expected: str) -> None:
    def files() -> dict[Path, int]:  # the repository's parse cache (gitstore.format.cache) is no user data
        return {p: p.stat().st_mtime_ns for p in (project / ".flagdeck").rglob("*")
                if p.is_file() and "parse-cache" not in p.parts}

    before = files()
    code, output = invoke(project, monkeypatch, *args)
    assert code in (1, 2)
    assert expected in output and "Error:" in output
    after = files()
    assert after == before  # nothing in the demo was touched


CONFIGS = {
    "typo": ("storage:\n  local:\n    path: repo\n    brnch: main\nenvironments:\n  p: {storage: local}\n",
             "flagdeck.yaml:4: storage.local.brnch: unknown key"),
    "type": ("storage:\n  local:\n    path: repo\n    poll_interval: fast\nenvironments:\n  p: {storage: local}\n",
             "flagdeck.yaml:4: storage.local.poll_interval: 'fast' is not a duration"),
    "no storage": ("environments:\n  p: {storage: local}\n", "flagdeck.yaml: storage: at least one storage"),
    "two defaults": ("storage:\n  local: {path: repo}\nenvironments:\n  p: {storage: local, directory: p, default: true}"
                     "\n  s: {storage: local, directory: s, default: true}\n",
                     "flagdeck.yaml:3: environments: exactly one environment must have `default: true` (found: p, s)"),
    "timeout": ("storage:\n  local:\n    path: repo\n    timeout: -1s\nenvironments:\n  p: {storage: local}\n",
                "flagdeck.yaml:4: storage.local.timeout:"),
    "yaml": ("storage:\n  local: {path: repo\n", "flagdeck.yaml:3: not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
@pytest.mark.parametrize("command", [["validate", "--env", "p"], ["eval", "-e", "u"], ["export"]])
def test_a_broken_configuration_is_named_by_file_line_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              case: str, command: list[str]) -> None:
    text, expected = CONFIGS[case]
    (tmp_path / "flagdeck.yaml").write_text(text)
    code, output = invoke(tmp_path, monkeypatch, *command)
    assert code in (1, 2) and expected in output, output
    assert not (tmp_path / "repo").exists()  # a broken configuration creates nothing


def test_validate_env_applies_the_extended_rules(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    checkout = project / "checkout"
    subprocess.run(["git", "clone", "-q", str(project / ".flagdeck" / "repo"), str(checkout)], check=True)
    path = checkout / "staging" / "default" / "features.yaml"
    path.write_text(path.read_text().replace("    description: Show the maintenance page instead of the shop\n", ""))
    git = ["git", "-c", "user.name=QA", "-c", "user.email=qa@example.com"]
    subprocess.run([*git, "commit", "-qam", "no description"], cwd=checkout, check=True)
    subprocess.run([*git, "push", "-q", "origin", "main"], cwd=checkout, check=True)

    assert invoke(project, monkeypatch, "validate", "--env", "staging")[0] == 0
    code, output = invoke(project, monkeypatch, "validate", "--env", "staging", "--extended")
    assert code == 1
    assert "staging/default/features.yaml:10: flags[0].description: a flag needs a non-empty description" in output


@pytest.mark.parametrize(("path", "expected"), [
    ("afile", "afile: is a file, not a Git repository"),
    ("somedir", "somedir: exists and is not a Git repository"),
    ("afile/repo", "afile/repo: cannot create a Git repository here: Not a directory"),
])
@pytest.mark.parametrize("command", [["validate", "--env", "p"], ["eval", "-e", "u"], ["export"]])
def test_a_storage_path_that_cannot_be_a_repository_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                path: str, expected: str, command: list[str]) -> None:
    (tmp_path / "afile").write_text("not a repository\n")
    (tmp_path / "somedir").mkdir()
    (tmp_path / "somedir" / "notes.txt").write_text("mine\n")
    (tmp_path / "flagdeck.yaml").write_text(f"storage:\n  local:\n    path: {path}\nenvironments:\n  p: {{}}\n")
    code, output = invoke(tmp_path, monkeypatch, *command)
    assert code in (1, 2) and expected in output, output
    assert (tmp_path / "afile").read_text() == "not a repository\n"
    assert sorted(p.name for p in (tmp_path / "somedir").iterdir()) == ["notes.txt"]
