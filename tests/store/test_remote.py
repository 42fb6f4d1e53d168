"""Remotes: real bare repositories over file:// and git daemon on 127.0.0.1 (the git protocol)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from faults.remote_tools import GitDaemon

from gitstore.config import load_config
from gitstore.errors import ConflictError
from gitstore.store import Store

from .conftest import ALICE, BOB, git, put_flag, single_env_config


def bare(path: Path) -> Path:
    pygit2.init_repository(str(path), bare=True, initial_head="main")
    return path


def remote_tip(path: Path) -> str:
    return str(pygit2.Repository(str(path)).references["refs/heads/main"].target)


def open_clone(root: Path, url: str, poll: str = "1s") -> Store:
    return Store(load_config(single_env_config(root, remote=url, poll=poll)))


def test_commits_are_pushed_and_a_second_clone_rebases_onto_them(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    url = origin.as_uri()
    a, b = open_clone(tmp_path / "a", url), open_clone(tmp_path / "b", url)
    try:
        assert remote_tip(origin) == a.head("production") == b.head("production")  # one initial commit
        base = b.head("production")
        first = a.commit("production", [put_flag("from-a", True)], ALICE)
        assert first.pushed and remote_tip(origin) == first.commit
        state = a.sync_state("production")
        assert (state.ahead, state.behind, state.reachable, state.last_error) == (0, 0, True, None)
        second = b.commit("production", [put_flag("from-b")], BOB, based_on=base)
        assert second.rebased and second.pushed and remote_tip(origin) == second.commit
        b.fetch("production")
        a.fetch("production")
        assert a.head("production") == second.commit
        doc = a.snapshot("production").document("default")
        assert {f.key for f in doc.flags} == {"from-a", "from-b"}
        git(origin, "fsck", "--strict")
    finally:
        a.close()
        b.close()


def test_unreachable_remote_keeps_working_locally_then_replays_and_pushes(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    a, b = open_clone(tmp_path / "a", origin.as_uri()), open_clone(tmp_path / "b", origin.as_uri())
    try:
        hidden = tmp_path / "away.git"
        origin.rename(hidden)
        offline = b.commit("production", [put_flag("offline")], BOB)
        assert offline.pushed is False
        state = b.sync_state("production")
        assert state.reachable is False and state.ahead == 1 and "origin.git" in (state.last_error or "")
        hidden.rename(origin)
        a.commit("production", [put_flag("online", True)], ALICE)
        b.push("production")  # the remote moved: the offline commit is replayed on it, then pushed
        state = b.sync_state("production")
        assert (state.ahead, state.behind, state.reachable, state.last_error) == (0, 0, True, None)
        repo = pygit2.Repository(str(origin))
        tip = repo[repo.references["refs/heads/main"].target]
        assert tip.message == "create flag default/offline" and tip.author.name == "Bob Example"
        assert tip.parents[0].message == "create flag default/online"
        a.fetch("production")
        assert {f.key for f in a.snapshot("production").document("default").flags} == {"offline", "online"}
    finally:
        a.close()
        b.close()


def test_a_colliding_remote_change_is_reported_and_the_local_commit_kept_aside(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    a, b = open_clone(tmp_path / "a", origin.as_uri()), open_clone(tmp_path / "b", origin.as_uri())
    try:
        a.commit("production", [put_flag("joint")], ALICE)
        b.fetch("production")
        origin.rename(tmp_path / "away.git")
        b.commit("production", [put_flag("joint", True)], BOB)  # offline
        (tmp_path / "away.git").rename(origin)
        a.commit("production", [put_flag("joint", False, name="Renamed")], ALICE)
        with pytest.raises(ConflictError) as caught:
            b.push("production")
        assert caught.value.resource == "default/joint"
        assert b.head("production") == remote_tip(origin)
        state = b.sync_state("production")
        assert state.ahead == 0 and "refs/flagdeck/conflicts/main/" in (state.last_error or "")
        parked = [r for r in pygit2.Repository(str(tmp_path / "b" / "repo")).references
                  if r.startswith("refs/flagdeck/conflicts/")]
        assert len(parked) == 1
    finally:
        a.close()
        b.close()


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    base = tmp_path / "served"
    origin = bare(base / "flags.git")
    daemon = GitDaemon(base)
    try:
        yield daemon.url("flags.git"), origin
    finally:
        daemon.stop()


def test_git_protocol_remote_pushes_fetches_and_watch_sees_remote_commits(tmp_path: Path, git_daemon) -> None:
    url, origin = git_daemon
    a = open_clone(tmp_path / "a", url)
    b = open_clone(tmp_path / "b", url, poll="200ms")
    seen: list[tuple[str, str]] = []
    unwatch = b.watch(lambda env, commit: seen.append((env, commit)))
    try:
        result = a.commit("production", [put_flag("over-git", True)], ALICE)
        assert result.pushed and remote_tip(origin) == result.commit
        deadline = time.monotonic() + 10
        while (("production", result.commit) not in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("production", result.commit) in seen
        assert b.snapshot("production").document("default").flag("over-git").enabled
        assert b.sync_state("production").last_fetch is not None
        # An outside `git push` to the remote is noticed the same way.
        clone = tmp_path / "work"
        subprocess.run(["git", "clone", "-q", url, str(clone)], check=True)
        (clone / "notes.txt").write_text("hello\n")
        git(clone, "add", "notes.txt")
        git(clone, "-c", "user.name=Carol", "-c", "user.email=carol@example.com", "commit", "-qm", "notes")
        git(clone, "push", "-q", "origin", "main")
        pushed = git(clone, "rev-parse", "HEAD").strip()
        deadline = time.monotonic() + 10
        while (("production", pushed) not in seen) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("production", pushed) in seen
    finally:
        unwatch()
        a.close()
        b.close()


def test_a_push_refused_by_a_server_hook_is_reported_and_the_commit_stays_local(tmp_path: Path, git_daemon) -> None:
    url, origin = git_daemon
    with open_clone(tmp_path / "a", url) as a:
        hook = origin / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'main is protected' >&2\nexit 1\n")
        hook.chmod(0o755)
        before = remote_tip(origin)
        result = a.commit("production", [put_flag("refused")], ALICE)
        assert result.pushed is False and remote_tip(origin) == before
        state = a.sync_state("production")
        assert state.ahead == 1 and state.last_error and "refused" in state.last_error
        hook.unlink()
        a.push("production")
        assert remote_tip(origin) == a.head("production") == result.commit


def test_a_clone_started_while_the_remote_was_missing_joins_its_history_later(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    b = open_clone(tmp_path / "b", origin.as_uri())  # nothing there yet: works locally
    try:
        assert b.sync_state("production").reachable is False
        b.commit("production", [put_flag("early")], BOB)
        bare(origin)
        with open_clone(tmp_path / "a", origin.as_uri()) as a:
            a.commit("production", [put_flag("first-online", True)], ALICE)
        b.push("production")
        repo = pygit2.Repository(str(origin))
        messages = [c.message for c in repo.walk(repo.references["refs/heads/main"].target)]
        assert messages == ["create flag default/early", "create flag default/first-online", "add initial README"]
        assert b.sync_state("production").ahead == 0
    finally:
        b.close()


def test_an_offline_commit_to_a_namespace_held_under_another_directory_is_replayed(tmp_path: Path) -> None:
    """The replay reads namespaces by the holder rule (the document's `namespace:`), not by directory name."""
    origin = bare(tmp_path / "origin.git")
    a, b = open_clone(tmp_path / "a", origin.as_uri()), open_clone(tmp_path / "b", origin.as_uri())
    try:
        work = tmp_path / "work"
        subprocess.run(["git", "clone", "-q", origin.as_uri(), str(work)], check=True)
        (work / "legacy").mkdir()
        (work / "legacy" / "features.yaml").write_text(
            'version: "1.6"\nnamespace: billing\nflags:\n  - key: invoices\n    name: Invoices\n'
            "    type: BOOLEAN_FLAG_TYPE\n    enabled: false\n")
        for args in (("add", "."), ("-c", "user.name=Carol", "-c", "user.email=carol@example.com", "commit", "-qm",
                                    "billing lives in legacy/"), ("push", "-q", "origin", "main")):
            git(work, *args)
        a.fetch("production")
        b.fetch("production")
        origin.rename(tmp_path / "away.git")
        assert b.commit("production", [put_flag("offline", True, namespace="billing")], BOB).pushed is False
        (tmp_path / "away.git").rename(origin)
        a.commit("production", [put_flag("online", True, namespace="billing")], ALICE)  # the same file moved
        b.push("production")
        a.fetch("production")
        snap = a.snapshot("production")
        assert snap.namespaces["billing"].path == "legacy/features.yaml" and "billing" in snap.namespaces
        assert {f.key for f in snap.document("billing").flags} == {"invoices", "online", "offline"}
        assert b.head("production") == remote_tip(origin)
    finally:
        a.close()
        b.close()


def test_a_work_tree_clone_following_the_remote_keeps_its_files_and_index_in_step(tmp_path: Path) -> None:
    """A fast-forward or replay from the remote moves the branch of a repository with a work tree: its files and
    index follow, so `git status` never shows a staged change that would undo the remote's commits."""
    origin = bare(tmp_path / "origin.git")
    a = open_clone(tmp_path / "a", origin.as_uri())
    try:
        a.commit("production", [put_flag("first")], ALICE)
        (tmp_path / "b").mkdir()
        subprocess.run(["git", "clone", "-q", origin.as_uri(), str(tmp_path / "b" / "repo")], check=True)
        b = open_clone(tmp_path / "b", origin.as_uri())
        try:
            a.commit("production", [put_flag("second", True)], ALICE)
            b.fetch("production")  # a fast-forward
            work = tmp_path / "b" / "repo"
            assert git(work, "status", "--porcelain") == ""
            assert "second" in (work / "default" / "features.yaml").read_text()
            origin.rename(tmp_path / "away.git")
            b.commit("production", [put_flag("offline")], BOB)
            (tmp_path / "away.git").rename(origin)
            a.commit("production", [put_flag("third")], ALICE)
            b.push("production")  # a replay of the offline commit on the remote's new tip
            assert git(work, "status", "--porcelain") == ""
            text = (work / "default" / "features.yaml").read_text()
            assert "third" in text and "offline" in text
        finally:
            b.close()
    finally:
        a.close()
