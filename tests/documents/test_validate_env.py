"""`flagdeck validate --env`: validate an environment's branch, as committed (not a work tree)."""

from __future__ import annotations

from pathlib import Path

import pygit2
from click.testing import CliRunner

from app.commands.validate import command
from gitstore.demo import init_demo

BROKEN = b"""version: "1.6"
namespace: default
flags:
  - key: checkout
    name: Checkout
    enabled: maybe
"""


def commit_file(repo_path: Path, path: str, data: bytes) -> None:
    """Commit `data` at `path` on main with plain pygit2, bypassing Flagdeck's own (validating) write path."""
    repo = pygit2.Repository(str(repo_path))
    head = repo.references["refs/heads/main"].peel(pygit2.Commit)
    index = pygit2.Index()
    index.read_tree(head.tree)
    index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB))
    tree = index.write_tree(repo)
    who = pygit2.Signature("Hand Editor", "hand@example.com")
    repo.create_commit("refs/heads/main", who, who, "hand edit", tree, [head.id])


def test_valid_environment_exits_zero(tmp_path: Path) -> None:
    config = init_demo(tmp_path)
    result = CliRunner().invoke(command, ["--config", str(config), "--env", "staging"])
    assert result.exit_code == 0, result.output


def test_invalid_file_on_the_branch_is_reported_with_file_line_and_path(tmp_path: Path) -> None:
    config = init_demo(tmp_path)
    commit_file(tmp_path / "repo", "staging/default/features.yaml", BROKEN)
    result = CliRunner().invoke(command, ["--config", str(config), "--env", "staging"])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "enabled" in x)
    assert line.startswith("staging/default/features.yaml:6: flags[0].enabled:"), line
    # the other environment is untouched and still valid
    assert CliRunner().invoke(command, ["--config", str(config), "--env", "production"]).exit_code == 0


def test_directory_and_env_together_is_a_usage_error(tmp_path: Path) -> None:
    config = init_demo(tmp_path)
    result = CliRunner().invoke(command, [str(tmp_path), "--config", str(config), "--env", "staging"])
    assert result.exit_code == 2
