"""Branch environments and a remote: a real bare repository and two clones. A branch created in one clone is
pushed and appears in the other after a fetch; commits on it travel both ways; a deleted branch disappears from
the remote and from every clone (unless a clone holds commits the remote never had); a mirror follows."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gitstore.errors import SyncError

from .conftest import ALICE, BOB, bare, enabled, flag, open_store, refs

REF = "refs/heads/flipt/production/trial"


def test_created_in_one_clone_seen_in_the_other_then_deleted(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    url = origin.as_uri()
    with open_store(tmp_path / "a", url) as a, open_store(tmp_path / "b", url) as b:
        a.commit("production", [flag("checkout", False)], ALICE)
        a.branch("production", "trial", ALICE)
        assert refs(origin) == {REF: a.head("production")}  # pushed at once
        assert "trial" not in [e.name for e in b.environments()]
        b.fetch("production")
        assert [(e.name, e.base) for e in b.environments()][-1] == ("trial", "production")
        assert refs(tmp_path / "b" / "repo") == {REF: a.head("production")}
        assert b.sync_state("trial").reachable is True and b.sync_state("trial").last_fetch is not None
        on_b = b.commit("trial", [flag("checkout", True)], BOB)
        assert on_b.pushed and refs(origin) == {REF: on_b.commit}
        a.fetch("trial")  # a branch key fetches its own branch
        assert enabled(a, "trial", "checkout") is True and enabled(a, "production", "checkout") is False
        assert a.sync_state("trial").ahead == 0
        [listed] = a.branches("production")
        assert (listed.ahead, listed.behind) == (1, 0)
        a.delete_branch("production", "trial")
        assert refs(origin) == {} and refs(tmp_path / "a" / "repo") == {}
        b.fetch("production")
        assert refs(tmp_path / "b" / "repo") == {} and refs(tmp_path / "b" / "repo", "refs/flagdeck/synced/flipt/") == {}
        assert refs(tmp_path / "b" / "repo", "refs/remotes/") == {"refs/remotes/origin/main": b.head("production")}
        assert "trial" not in [e.name for e in b.environments()]


def test_a_clone_with_unpushed_commits_keeps_a_deleted_branch(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    url = origin.as_uri()
    with open_store(tmp_path / "a", url) as a, open_store(tmp_path / "b", url) as b:
        a.branch("production", "trial")
        b.fetch("production")
        (tmp_path / "blocked").mkdir()
        with open_store(tmp_path / "b", str(tmp_path / "nowhere.git")) as offline:  # the remote unreachable
            assert offline.commit("trial", [flag("kept", True)], BOB).pushed is False
        a.delete_branch("production", "trial")
        b.fetch("production")  # b's commit never reached the remote: the branch is kept, and pushed again
        assert enabled(b, "trial", "kept") is True
        b.push("production")
        assert REF in refs(origin)


def test_a_branch_made_offline_is_pushed_by_the_next_sync(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    with open_store(tmp_path / "a", origin.as_uri()) as a:
        tip = a.head("production")
    with open_store(tmp_path / "a", str(tmp_path / "nowhere.git")) as offline:
        offline.branch("production", "later")
    with open_store(tmp_path / "a", origin.as_uri(), poll="1h") as a:
        assert refs(origin) == {}
        state = a.sync_state("later")  # what the remote lacks is the branch, not production's history
        assert (state.ahead, state.behind) == (0, 0)
        a.push("production")
        assert refs(origin) == {"refs/heads/flipt/production/later": tip}


def test_a_mirror_follows_branches_others_push_and_delete(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    url = origin.as_uri()
    with open_store(tmp_path / "a", url) as a, open_store(tmp_path / "m", url, poll="0.2s", mirror=True) as m:
        changes: list[tuple[str, ...]] = []
        moved: list[tuple[str, str]] = []
        seen = threading.Event()

        def told(keys: tuple[str, ...]) -> None:
            changes.append(keys)
            seen.set()

        m.watch_environments(told)
        m.watch(lambda env, commit: moved.append((env, commit)))
        a.branch("staging", "exp")
        assert seen.wait(10), "the mirror never saw the new branch"
        assert changes[-1] == ("exp",)
        assert m.head("exp") == a.head("staging")
        with pytest.raises(SyncError, match="never pushes"):
            m.delete_branch("staging", "exp")
        seen.clear()
        on_a = a.commit("exp", [flag("x", True)], ALICE)
        for _ in range(200):
            if ("exp", on_a.commit) in moved:
                break
            threading.Event().wait(0.05)
        assert ("exp", on_a.commit) in moved
        assert enabled(m, "exp", "x") is True
        seen.clear()
        a.delete_branch("staging", "exp")
        assert seen.wait(10), "the mirror never dropped the deleted branch"
        assert changes[-1] == ()
        assert [e.name for e in m.environments()] == ["production", "staging"]


def test_over_the_git_protocol(tmp_path: Path) -> None:
    """The network path (git daemon, receive-pack): a branch pushed, fetched by the other clone, deleted."""
    from faults.remote_tools import GitDaemon

    base = tmp_path / "served"
    origin = bare(base / "flags.git")
    daemon = GitDaemon(base)
    try:
        url = daemon.url("flags.git")
        with open_store(tmp_path / "a", url) as a, open_store(tmp_path / "b", url) as b:
            a.branch("production", "trial")
            assert set(refs(origin)) == {REF}
            b.fetch("production")
            on_b = b.commit("trial", [flag("x", True)], BOB)
            assert on_b.pushed and refs(origin) == {REF: on_b.commit}
            a.fetch("production")
            assert a.head("trial") == on_b.commit
            a.delete_branch("production", "trial")
            assert refs(origin) == {}
            b.fetch("production")
            assert refs(tmp_path / "b" / "repo") == {}
    finally:
        daemon.stop()


def test_a_branch_made_offline_on_a_newer_base_follows_the_remote_one(tmp_path: Path) -> None:
    """Two clones made branch `same` (one offline, from a newer tip of production): when they meet, the remote's
    branch wins and no commit of production is replayed onto it as if it were the branch's own."""
    import subprocess

    origin = bare(tmp_path / "origin.git")
    with open_store(tmp_path / "a", origin.as_uri()) as a:
        first = a.commit("production", [flag("one", True)], ALICE).commit
        a.commit("production", [flag("two", True)], ALICE)
    with open_store(tmp_path / "a", str(tmp_path / "nowhere.git")) as offline:
        offline.branch("production", "same")  # at production's newer tip, not pushed
    subprocess.run(["git", "-C", str(origin), "update-ref", "refs/heads/flipt/production/same", first], check=True)
    with open_store(tmp_path / "a", origin.as_uri()) as a:
        assert a.head("same") == first
        assert enabled(a, "same", "two") is None
        [listed] = a.branches("production")
        assert (listed.ahead, listed.behind) == (0, 1)
