"""A repository with a work tree: each commit brings the work tree and index along, a writer killed at any point
never leaves an index that would undo a commit, and nothing is ever written through a symbolic link."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import ValidationError
from gitstore.git import worktree
from gitstore.store import Store

from .conftest import ALICE, git, put_flag, write_config

FILE = "production/default/features.yaml"
WRITER = """
import sys
from gitstore.model.changes import Change, Kind
from gitstore.config import load_config
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Store
with Store(load_config(sys.argv[1])) as store:
    key = sys.argv[2]
    print(store.commit("production", [Change("default", Kind.FLAG, key, Flag(key=key, name=key,
                                                                                 type=FlagType.BOOLEAN))]).commit)
"""


def work_tree(root: Path) -> Path:
    repo = root / "wt"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-q", "--allow-empty", "-m", "init")
    return write_config(root, "storage:\n  local: {path: wt, branch: main}\nenvironments:\n"
                              "  production: {storage: local, directory: production, default: true}\n"
                              "  staging: {storage: local, directory: staging}\n")


def status(config: Path) -> str:
    return git(config.parent / "wt", "status", "--porcelain", "--untracked-files=no")


def write(config: Path, key: str, crash: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLAGDECK_CRASH_AT": crash, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-c", WRITER, str(config), key], env=env, capture_output=True, text=True,
                          timeout=60)


def test_commits_keep_the_work_tree_and_index_in_step_and_leave_hand_edits_alone(tmp_path: Path) -> None:
    config = work_tree(tmp_path)
    with Store(load_config(config)) as store:
        store.commit("production", [put_flag("a")], ALICE)
        assert status(config) == ""
        assert "key: a" in (tmp_path / "wt" / FILE).read_text()
        (tmp_path / "wt" / FILE).write_text((tmp_path / "wt" / FILE).read_text() + "# my note\n")
        store.commit("production", [put_flag("b")], ALICE)
        assert "key: b" not in (tmp_path / "wt" / FILE).read_text()  # the hand edit is left alone...
        assert status(config) == f" M {FILE}\n"  # ...and the index follows the branch: nothing staged
        assert worktree.behind(pygit2.Repository(str(tmp_path / "wt")), "refs/heads/main") == []


@pytest.mark.parametrize("point", ["object-written", "worktree-written", "ref-locked", "ref-moved"])
def test_a_writer_killed_anywhere_never_leaves_an_index_that_undoes_a_commit(tmp_path: Path, point: str) -> None:
    config = work_tree(tmp_path)
    assert write(config, "first").returncode == 0
    repo = pygit2.Repository(str(tmp_path / "wt"))
    before = repo.references["refs/heads/main"].target
    killed = write(config, "second", crash=point)
    assert killed.returncode == -9, killed.stderr
    assert worktree.behind(repo, "refs/heads/main") == []  # `git commit` now could never undo a commit
    moved = repo.references["refs/heads/main"].target != before
    assert moved == (point == "ref-moved")
    staged = git(tmp_path / "wt", "diff", "--cached", "--name-only")
    assert staged == (f"{FILE}\n" if point in ("worktree-written", "ref-locked") else "")  # at most ahead
    if point == "ref-locked":
        subprocess.run([sys.executable, "-m", "app.cli", "doctor", "--config", str(config), "--fix",
                        "--older-than", "0"], check=True, capture_output=True, cwd=Path(__file__).parents[2])
    third = write(config, "third")
    assert third.returncode == 0, third.stderr
    assert status(config) == ""  # the interrupted update was finished or undone
    with Store(load_config(config)) as store:
        keys = {f.key for f in store.snapshot("production").document("default").flags}
    assert keys == ({"first", "second", "third"} if moved else {"first", "third"})


def test_a_committed_symlink_is_reported_skipped_and_never_written_through(tmp_path: Path) -> None:
    config = work_tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    repo_dir = tmp_path / "wt"
    (repo_dir / "staging").mkdir()
    os.symlink(outside, repo_dir / "staging" / "default")
    os.symlink(outside / "features.yaml", repo_dir / "production-link.yaml")
    git(repo_dir, "add", "-A")
    git(repo_dir, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-q", "-m", "links")
    with Store(load_config(config)) as store:
        snap = store.snapshot("staging")
        assert "default" not in snap.namespaces
        [warning] = [p for p in snap.problems if "symbolic link" in p.message]
        assert warning.file == "staging/default" and warning.severity == "warning"
        with pytest.raises(ValidationError, match="staging/default: is a symbolic link"):
            store.commit("staging", [put_flag("x")], ALICE)
        assert list(outside.iterdir()) == []  # nothing written where the link points
        store.commit("production", [put_flag("fine")], ALICE)  # the other environment works
        assert status(config) == ""


def test_a_symlink_made_in_the_work_tree_is_left_alone_and_the_index_still_follows(tmp_path: Path) -> None:
    config = work_tree(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    with Store(load_config(config)) as store:
        store.commit("production", [put_flag("a")], ALICE)
        real = tmp_path / "wt" / "production" / "default"
        (outside / "features.yaml").write_bytes((real / "features.yaml").read_bytes())
        for child in real.iterdir():
            child.unlink()
        real.rmdir()
        os.symlink(outside, real)  # someone replaced the namespace directory by a link to elsewhere
        before = (outside / "features.yaml").read_bytes()
        result = store.commit("production", [put_flag("b")], ALICE)
        assert result.created
        assert (outside / "features.yaml").read_bytes() == before  # never written through the link
        repo = pygit2.Repository(str(tmp_path / "wt"))
        index = repo.index
        assert index[FILE].id == repo[result.commit].tree[FILE].id  # the index holds the commit
        assert worktree.behind(repo, "refs/heads/main") == []
