"""The store's branch environments (gitstore/branches.py): created from the base's tip as `flipt/ENV/NAME`, keyed
NAME and ENV/NAME, read, committed (with compare-and-swap), reverted and listed with ahead/behind like any
environment; names checked; roles those of the base."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitstore.branches import BranchNameError
from gitstore.errors import AccessDenied, ConfigError, ConflictError, NotFoundError

from .conftest import ALICE, BOB, enabled, flag, open_store, refs


def test_a_branch_is_an_environment_of_its_own(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        base = store.commit("production", [flag("checkout", False)], ALICE).commit
        info = store.branch("production", "try-checkout", ALICE)
        assert (info.name, info.branch, info.base, info.directory, info.default) == (
            "try-checkout", "flipt/production/try-checkout", "production", "", False)
        assert refs(tmp_path / "a" / "repo") == {"refs/heads/flipt/production/try-checkout": base}
        assert [e.name for e in store.environments()] == ["production", "staging", "try-checkout"]
        assert store.head("try-checkout") == store.head("production/try-checkout") == base
        on_branch = store.commit("try-checkout", [flag("checkout", True)], BOB, based_on=base)
        assert enabled(store, "try-checkout", "checkout") is True
        assert enabled(store, "production/try-checkout", "checkout") is True
        assert enabled(store, "production", "checkout") is False  # the base is untouched
        assert store.head("production") == base
        assert store.snapshot("production/try-checkout").environment == "try-checkout"
        [listed] = store.branches("production")
        assert (listed.key, listed.ref, listed.environment_key, listed.head, listed.ahead, listed.behind,
                listed.merge_base) == ("try-checkout", "flipt/production/try-checkout", "production",
                                       on_branch.commit, 1, 0, base)
        store.commit("production", [flag("other", True)], ALICE)
        [listed] = store.branches("production")
        assert (listed.ahead, listed.behind, listed.merge_base) == (1, 1, base)
        assert store.branches("staging") == []
        history = store.history("try-checkout", "default", "checkout")
        assert [h.commit for h in history] == [on_branch.commit, base]
        store.revert("try-checkout", "default", on_branch.commit, author=ALICE)
        assert enabled(store, "try-checkout", "checkout") is False


def test_a_branch_commit_is_compare_and_swap(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        store.branch("staging", "exp")
        start = store.head("exp")
        first = store.commit("exp", [flag("one", True)], ALICE, based_on=start)
        with pytest.raises(ConflictError) as failed:  # the same flag changed since `start`: no lost update
            store.commit("exp", [flag("one", False)], BOB, based_on=start)
        assert "one" in failed.value.resource
        assert store.head("exp") == first.commit
        second = store.commit("exp", [flag("two", True)], BOB, based_on=start)  # another resource: rebased
        assert second.rebased and enabled(store, "exp", "one") is True
        assert store.snapshot("exp").namespaces["default"].path == "staging/default/features.yaml"


def test_names_are_checked(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        store.branch("production", "feature-1")
        for bad in ("", "a/b", "has space", "-dash", "x..y", "end.lock", "end.", "ü"):
            with pytest.raises(BranchNameError):
                store.branch("production", bad)
        with pytest.raises(ConflictError, match="already an environment"):
            store.branch("production", "staging")
        with pytest.raises(ConflictError, match="already exists"):
            store.branch("production", "feature-1")
        with pytest.raises(ConflictError, match="already a branch of 'production'"):
            store.branch("staging", "feature-1")
        with pytest.raises(ConflictError, match="cannot be branched"):
            store.branch("feature-1", "deeper")
        with pytest.raises(ConfigError, match="unknown environment 'nowhere'"):
            store.branch("nowhere", "x")
        with pytest.raises(ConfigError, match="unknown environment 'nothing'"):
            store.snapshot("nothing")
        assert [e.name for e in store.environments()] == ["production", "staging", "feature-1"]


def test_delete_and_a_branch_made_by_git(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as store:
        store.branch("production", "gone")
        store.delete_branch("production", "gone")
        assert refs(tmp_path / "a" / "repo") == {}
        with pytest.raises(ConfigError):
            store.snapshot("gone")
        with pytest.raises(NotFoundError):
            store.delete_branch("production", "gone")
        repo = pygit2.Repository(str(tmp_path / "a" / "repo"))  # Flipt (or git) made one: it is found
        repo.create_reference("refs/heads/flipt/staging/by-git", repo.references["refs/heads/main"].target)
        assert store.snapshot("by-git").environment == "by-git"
        assert [b.key for b in store.branches("staging")] == ["by-git"]


def test_a_branch_has_its_base_role(tmp_path: Path) -> None:
    with open_store(tmp_path / "admin") as admin:
        admin.branch("production", "mine")
        admin.branch("staging", "theirs")
    roles = {"staging": "editor", "production": "viewer"}
    with open_store(tmp_path / "admin", roles=roles) as store:
        store.commit("theirs", [flag("x", True)], ALICE)
        assert enabled(store, "theirs", "x") is True
        with pytest.raises(AccessDenied, match="in 'production'"):
            store.commit("mine", [flag("x", True)], ALICE)
        with pytest.raises(AccessDenied):
            store.branch("production", "another")
        with pytest.raises(AccessDenied):
            store.delete_branch("production", "mine")
        assert enabled(store, "mine", "x") is None  # reading needs viewer: allowed


def test_a_branch_made_by_another_process_has_its_base_role_at_once(tmp_path: Path) -> None:
    with open_store(tmp_path / "a", roles={"production": "editor"}) as store:
        assert store.environments()[-1].name == "staging"
        with open_store(tmp_path / "a") as other:
            other.branch("production", "fresh")
        assert store.commit("fresh", [flag("x", True)], ALICE).created  # not refused as a key with no role
