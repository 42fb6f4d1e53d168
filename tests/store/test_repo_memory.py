"""A long-running server's memory does not grow with lookups or commits: pygit2 1.21 holds on to the name string of
every reference it finds (so the store looks names up only through `gitstore.git.refs.tip`, with interned names),
and libgit2's object cache is off (by default it grows to 256 MB of its own count, ~2.2 KB of memory a commit)."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pygit2

from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import open_repository

ROOT = Path(__file__).resolve().parents[2]


def _repository(path: Path) -> tuple[pygit2.Repository, pygit2.Oid]:
    repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
    signature = pygit2.Signature("t", "t@example.com", 0, 0)
    oid = repo.create_commit("refs/heads/main", signature, signature, "first", repo.TreeBuilder().write(), [])
    return repo, oid


def test_ten_thousand_lookups_of_a_branch_keep_no_memory(tmp_path: Path) -> None:
    repo, oid = _repository(tmp_path / "repo")
    branch = "".join(["ma", "in"])
    assert tip(repo, branch_ref(branch)) == oid
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            assert tip(repo, branch_ref(branch)) == oid  # a fresh name string each time, as the watcher makes
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 50_000, f"10,000 lookups kept {grown} bytes (a fresh name string kept per lookup is ~700,000)"


def test_a_missing_reference_is_none(tmp_path: Path) -> None:
    repo, _ = _repository(tmp_path / "repo")
    assert tip(repo, branch_ref("nope")) is None


def test_no_other_code_looks_references_up_by_a_computed_name() -> None:
    raw = re.compile(r"references\.get\(|lookup_reference(_dwim)?\(|references\[(?!\"HEAD\"\])| in \w+\.references\b")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for package in ("gitstore", "evaluator", "app")
                 for path in sorted((ROOT / package).rglob("*.py")) if path.name != "refs.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if raw.search(line)]
    assert not offenders, f"look references up through gitstore.git.refs.tip: {offenders}"


def test_reading_commits_and_trees_caches_nothing_in_libgit2(tmp_path: Path) -> None:
    writer, parent = _repository(tmp_path / "repo")  # another process's commits, as a server reads them
    signature = pygit2.Signature("t", "t@example.com", 0, 0)
    for n in range(50):
        builder = writer.TreeBuilder()
        builder.insert("f", writer.create_blob(f"{n}".encode()), pygit2.GIT_FILEMODE_BLOB)
        parent = writer.create_commit("refs/heads/main", signature, signature, f"c{n}", builder.write(), [parent])
    repo = open_repository(tmp_path / "repo")
    before = pygit2.settings.cached_memory[0]
    trees = [repo[commit.tree.id] for commit in repo.walk(parent)]
    assert len(trees) == 51
    assert pygit2.settings.cached_memory[0] == before, "libgit2 kept the commits and trees it read"
