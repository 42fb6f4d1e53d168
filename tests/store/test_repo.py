"""Git plumbing: the compare-and-swap maps every lost race to ConflictError; trees are rebuilt along the path."""

from __future__ import annotations

import zlib
from pathlib import Path

import pygit2
import pytest

from gitstore.errors import ConflictError
from gitstore.git.repo import (
    StorageError,
    branch_ref,
    build_tree,
    cas_ref,
    ensure_branch,
    make_commit,
    open_repository,
)

from .conftest import ALICE, git


@pytest.fixture
def repo(tmp_path: Path) -> pygit2.Repository:
    repo = open_repository(tmp_path / "r.git")
    ensure_branch(repo, "main", ALICE)
    return repo


def _child(repo: pygit2.Repository, name: str) -> pygit2.Oid:
    parent = repo.references[branch_ref("main")].target
    tree = build_tree(repo, repo[parent].tree, {f"ns/{name}": b"x\n"})
    return make_commit(repo, tree, [parent], ALICE, name)


def test_a_held_lock_file_and_a_stale_expected_value_are_conflicts(repo: pygit2.Repository) -> None:
    ref = branch_ref("main")
    parent = repo.references[ref].target
    lock = Path(repo.path) / "refs" / "heads" / "main.lock"
    lock.write_text("held by someone else\n")
    with pytest.raises(ConflictError):
        cas_ref(repo, ref, parent, _child(repo, "a"), "test")
    lock.unlink()
    first = _child(repo, "a")
    cas_ref(repo, ref, parent, first, "test")
    with pytest.raises(ConflictError, match="moved"):
        cas_ref(repo, ref, parent, _child(repo, "b"), "test")  # expected the old tip
    with pytest.raises(ConflictError):
        cas_ref(repo, ref, None, first, "test")  # creating a branch that exists
    assert repo.references[ref].target == first


def test_trees_prune_empty_directories_and_keep_siblings(repo: pygit2.Repository) -> None:
    base = repo[repo.references[branch_ref("main")].target].tree
    one = build_tree(repo, base, {"env/a/features.yaml": b"a\n", "env/b/features.yaml": b"b\n", "env/b/.gitkeep": b""})
    tree = repo[one]
    sibling = tree["env/a"].id
    two = repo[build_tree(repo, tree, {"env/b/features.yaml": None})]
    assert "env/b" not in [e.name for e in repo[two["env"].id]]  # only a .gitkeep was left: pruned
    assert two["env/a"].id == sibling  # untouched subtrees are shared
    three = repo[build_tree(repo, two, {"env/a/features.yaml": None})]
    assert "env" not in [e.name for e in three]
    assert build_tree(repo, tree, {}) == tree.id


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "file.txt").write_text("hello\n")
    with pytest.raises(StorageError, match="not a Git repository"):
        open_repository(tmp_path / "stuff")


def test_a_work_tree_repository_is_opened_in_place(tmp_path: Path) -> None:
    subprocess_repo = tmp_path / "wt"
    subprocess_repo.mkdir()
    git(subprocess_repo, "init", "-q", "-b", "main")
    repo = open_repository(subprocess_repo)
    assert not repo.is_bare and Path(repo.workdir).resolve() == subprocess_repo.resolve()


def test_a_big_blob_is_written_as_git_reads_it(repo: pygit2.Repository, tmp_path: Path) -> None:
    """`write_blob` writes a big file (issue 18: a 46 MB namespace file) as a loose object deflated by ISA-L
    itself; Python's zlib, Git and libgit2 read it, and its id is the one libgit2 gives the same bytes."""
    from gitstore.git.repo import BIG_BLOB, write_blob

    data = b"".join(b"- key: flag-%d\n  name: Flag %d\n" % (i, i) for i in range(BIG_BLOB // 20))
    assert len(data) > BIG_BLOB
    oid = write_blob(repo, data)
    assert repo[oid].data == data and write_blob(repo, data) == oid  # a second write finds it
    loose = Path(repo.path) / "objects" / str(oid)[:2] / str(oid)[2:]
    assert zlib.decompress(loose.read_bytes()) == b"blob %d\0" % len(data) + data  # a plain zlib stream
    other = pygit2.init_repository(str(tmp_path / "other.git"), bare=True)
    assert other.create_blob(data) == oid
    parent = repo.references[branch_ref("main")].target
    tree = build_tree(repo, repo[parent].tree, {"ns/features.yaml": data})
    cas_ref(repo, branch_ref("main"), parent, make_commit(repo, tree, [parent], ALICE, "big"), "test")
    assert git(Path(repo.path), "cat-file", "-p", "main:ns/features.yaml").encode() == data
    assert git(Path(repo.path), "fsck", "--strict") == ""
    small = write_blob(repo, b"small\n")
    assert repo[small].data == b"small\n"
