"""Symbolic links never let a write escape the repository, nor a read serve what lies outside it: committed links
where an environment's directory, a namespace directory or a namespace file would be are reported and skipped; a link
made in the work tree is never written through. After each: git fsck --strict is clean, the evaluator serves exactly
what is committed, nothing outside changed, and the next commit works."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import ValidationError
from gitstore.git import worktree
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import NamespaceInfo
from gitstore.store import Store

from .locks_tools import BRANCH, Ledger, Served, Zygote, fsck, git, make_repository

OUTSIDE_DOC = b"namespace:\n  key: default\nflags:\n  - key: from-outside\n    name: Outside\n    type: BOOLEAN_FLAG_TYPE\n"


def digest(directory: Path) -> str:
    """Everything under `directory` (names, bytes, link targets): what must never change."""
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        h.update(str(path.relative_to(directory)).encode())
        h.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes() if path.is_file() else b"/")
    return h.hexdigest()


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Mallory", "-c", "user.email=m@example.com", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    yield z
    z.close()


def test_symlinks_are_skipped_reported_and_never_written_through(tmp_path: Path, zygote: Zygote) -> None:
    outside = tmp_path / "outside"
    (outside / "ns").mkdir(parents=True)
    (outside / "ns" / "features.yaml").write_bytes(OUTSIDE_DOC)
    (outside / "features.yaml").write_bytes(OUTSIDE_DOC)
    config = make_repository(tmp_path / "flags", work_tree=True)
    config.write_text(config.read_text() + "  staging: {storage: local, directory: staging}\n")
    repo_path = tmp_path / "flags" / "wt"
    log = tmp_path / "w.log"
    zygote.run_writer(config, "seed", log)
    before = digest(outside)
    ledger = Ledger()

    # committed links: a namespace directory (absolute and relative, out of the repository), a namespace file, and
    # an environment directory that is a link to another environment's
    os.symlink(outside / "ns", repo_path / "production" / "evil")
    os.symlink("../../../outside/ns", repo_path / "production" / "sneaky")
    (repo_path / "production" / "linked").mkdir()
    os.symlink(outside / "features.yaml", repo_path / "production" / "linked" / "features.yaml")
    os.symlink("production", repo_path / "staging")
    commit_all(repo_path, "links")
    served = Served(config)
    try:
        served.equals_committed(repo_path, "production")
        with Store(load_config(config)) as store:
            snap = store.snapshot("production")
            assert set(snap.namespaces) == {"default"}
            warned = sorted(p.file for p in snap.problems if "symbolic link" in p.message)
            assert warned == ["production/evil", "production/linked/features.yaml", "production/sneaky"]
            staging = store.snapshot("staging")
            assert staging.namespaces == {} and [p.file for p in staging.problems] == ["staging"]
            for env, namespace in (("production", "evil"), ("production", "linked"), ("staging", "default")):
                change = (Change(namespace, Kind.NAMESPACE, namespace, NamespaceInfo(key=namespace))
                          if namespace != "default" else Change("default", Kind.NAMESPACE, "default",
                                                                NamespaceInfo(key="default", name="x")))
                with pytest.raises(ValidationError, match="is a symbolic link"):
                    store.commit(env, [change])
        fsck(repo_path)
        assert digest(outside) == before
        zygote.run_writer(config, "after-links", log)  # the next commit works
        served.equals_committed(repo_path, "production")

        # a link made in the work tree, not committed: the namespace directory now points outside
        real = repo_path / "production" / "default"
        shutil.rmtree(real)
        os.symlink(outside, real)
        before = digest(outside)
        zygote.run_writer(config, "through-link", log)
        assert digest(outside) == before  # committed, and nothing written where the link points
        repo = pygit2.Repository(str(repo_path))
        assert worktree.behind(repo, BRANCH) == []  # the index follows the branch all the same
        served.equals_committed(repo_path, "production")  # what is committed, not the outside file
        fsck(repo_path)
        real.unlink()
        git(repo_path, "checkout", "--", "production/default")
        assert git(repo_path, "status", "--porcelain", "--untracked-files=no").stdout == ""
        zygote.run_writer(config, "after-repair", log)
        served.equals_committed(repo_path, "production")
        ledger.read(log)
        keys = ledger.check(repo_path, "production")
        assert "from-outside" not in keys
    finally:
        served.stop()
    print(f"\nsymlinks: committed links 4 skipped and reported, writes refused 3, work-tree link left alone 1, "
          f"commits {len(ledger.reported)}, lost {ledger.lost}, resurrected {ledger.resurrected}, "
          f"served checks {served.checks}, outside unchanged")
