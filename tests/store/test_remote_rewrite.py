"""Issue 11 #1: a remote whose history is rewritten (force-pushed back to remove a flag that leaked). Nothing removed
upstream comes back (no push of it, no replay of it), nothing never pushed is lost (replayed on the new history,
or parked under refs/flagdeck/conflicts/ with a message naming it), and a mirror never pushes at all."""

from __future__ import annotations

import time
from pathlib import Path

import pygit2
import pytest

from gitstore.config import load_config
from gitstore.errors import ConflictError, SyncError
from gitstore.git import remote
from gitstore.store import Store

from .conftest import ALICE, BOB, git, put_flag, single_env_config
from .test_remote import bare, git_daemon, open_clone, remote_tip  # noqa: F401 - git_daemon is a fixture

ENV = "production"


def flags(store: Store) -> set[str]:
    doc = store.snapshot(ENV).document("default")
    return {f.key for f in doc.flags} if doc is not None else set()


def history(path: Path) -> list[str]:
    repo = pygit2.Repository(str(path))
    return [str(c.id) for c in repo.walk(repo.references["refs/heads/main"].target)]


def force_back(origin: Path, commit: str) -> None:
    """What `git push --force` of an older commit does to the remote's branch."""
    git(origin, "update-ref", "refs/heads/main", commit)


def leak(store: Store) -> tuple[str, str]:
    """(good, leaked): a pushed commit, and a pushed commit on it adding the flag `leaked`."""
    good = store.commit(ENV, [put_flag("kept", True)], ALICE)
    leaked = store.commit(ENV, [put_flag("leaked", True)], ALICE)
    assert good.pushed and leaked.pushed
    return good.commit, leaked.commit


def wait_until(check, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_writer_follows_a_force_push_and_never_pushes_the_removed_commit_back(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    with open_clone(tmp_path / "a", origin.as_uri(), poll="100ms") as a:
        good, leaked = leak(a)
        force_back(origin, good)
        unwatch = a.watch(lambda env, commit: None)  # the watcher fetches and pushes every poll
        wait_until(lambda: a.head(ENV) == good)
        time.sleep(0.6)  # several more polls
        assert remote_tip(origin) == good and a.head(ENV) == good and flags(a) == {"kept"}
        rewrite = a.sync_state(ENV).last_rewrite or ""
        assert "rewritten" in rewrite and leaked[:7] in rewrite and "dropped 1 commit" in rewrite
        unwatch()
        after = a.commit(ENV, [put_flag("next")], ALICE)
        assert after.pushed and remote_tip(origin) == after.commit
        assert leaked not in history(origin) and history(origin)[1] == good
    git(origin, "fsck", "--strict")


@pytest.mark.parametrize("transport", ["file", "git-daemon"])
def test_unpushed_commits_are_replayed_on_the_rewritten_remote_and_only_they_are_pushed(
        tmp_path: Path, transport: str, request: pytest.FixtureRequest) -> None:
    if transport == "file":
        origin = bare(tmp_path / "origin.git")
        url = origin.as_uri()
    else:
        url, origin = request.getfixturevalue("git_daemon")
    with open_clone(tmp_path / "a", url) as a:
        good, leaked = leak(a)
        away = origin.with_name("away.git")
        origin.rename(away)
        offline = a.commit(ENV, [put_flag("offline")], BOB)
        assert offline.pushed is False
        away.rename(origin)
        force_back(origin, good)
        # No fetch first: the push itself finds the remote is not where it was (the lease), fetches, drops the
        # removed commit and replays the one never pushed.
        storage, tracker = a.config.storage["local"], a._sync["local"]
        a._run(ENV, remote.push, storage, tracker, a.cache)
        assert leaked not in history(origin)
        repo = pygit2.Repository(str(origin))
        top = repo[repo.references["refs/heads/main"].target]
        assert top.message == "create flag default/offline" and top.author.name == "Bob Example"
        assert str(top.parents[0].id) == good
        assert a.head(ENV) == str(top.id) and flags(a) == {"kept", "offline"}
        state = a.sync_state(ENV)
        assert (state.ahead, state.behind, state.reachable) == (0, 0, True)
        assert leaked[:7] in (state.last_rewrite or "") and "replayed" in (state.last_rewrite or "")
    git(origin, "fsck", "--strict")


def test_an_unpushed_change_to_the_removed_flag_is_parked_not_resurrected(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    with open_clone(tmp_path / "a", origin.as_uri()) as a:
        good, leaked = leak(a)
        origin.rename(tmp_path / "away.git")
        edited = a.commit(ENV, [put_flag("leaked", False, name="Still leaking")], BOB)
        (tmp_path / "away.git").rename(origin)
        force_back(origin, good)
        with pytest.raises(ConflictError) as caught:
            a.push(ENV)
        message = str(caught.value)
        assert "refs/flagdeck/conflicts/main/" in message and edited.commit[:7] in message
        assert remote_tip(origin) == good == a.head(ENV) and flags(a) == {"kept"}
        local = pygit2.Repository(str(tmp_path / "a" / "repo"))
        parked = [r for r in local.references if r.startswith("refs/flagdeck/conflicts/")]
        assert len(parked) == 1 and str(local.references[parked[0]].target) == edited.commit  # nothing lost
        assert leaked[:7] in (a.sync_state(ENV).last_rewrite or "")


def test_a_mirror_follows_its_remote_and_never_pushes(tmp_path: Path) -> None:
    origin = bare(tmp_path / "origin.git")
    writer = open_clone(tmp_path / "w", origin.as_uri())
    mirror = Store(load_config(single_env_config(tmp_path / "m", remote=origin.as_uri(), poll="100ms")),
                   mirror=True)
    try:
        first = writer.commit(ENV, [put_flag("from-writer")], ALICE)
        mirror.fetch(ENV)
        assert mirror.head(ENV) == first.commit
        own = mirror.commit(ENV, [put_flag("local-only")], BOB)  # possible, but it stays local
        assert own.pushed is False
        unwatch = mirror.watch(lambda env, commit: None)
        time.sleep(0.5)
        unwatch()
        assert remote_tip(origin) == first.commit
        with pytest.raises(SyncError, match="never pushes"):
            mirror.push(ENV)
        second = writer.commit(ENV, [put_flag("second")], ALICE)
        mirror.fetch(ENV)  # the remote moved: the local commit is replayed on it, still not pushed
        assert flags(mirror) == {"from-writer", "second", "local-only"}
        assert remote_tip(origin) == second.commit and mirror.sync_state(ENV).ahead == 1
    finally:
        writer.close()
        mirror.close()


def test_console_and_serve_sharing_one_repository_follow_a_force_push(tmp_path: Path) -> None:
    """`make run`: the console (a writer) and `flagdeck serve` (a mirror) on one local repository, both watching."""
    origin = bare(tmp_path / "origin.git")
    config = load_config(single_env_config(tmp_path / "one-clone", remote=origin.as_uri(), poll="100ms"))
    console, serve = Store(config), Store(config, mirror=True)
    try:
        unwatch = [s.watch(lambda env, commit: None) for s in (console, serve)]
        good, leaked = leak(console)
        force_back(origin, good)
        wait_until(lambda: serve.head(ENV) == good == console.head(ENV))
        time.sleep(0.6)
        assert remote_tip(origin) == good and flags(serve) == {"kept"}
        after = console.commit(ENV, [put_flag("after")], ALICE)
        assert after.pushed and remote_tip(origin) == after.commit and leaked not in history(origin)
        wait_until(lambda: flags(serve) == {"kept", "after"})
        for stop in unwatch:
            stop()
    finally:
        console.close()
        serve.close()


def test_a_repository_synced_by_an_earlier_version_still_notices_a_rewrite(tmp_path: Path) -> None:
    """Earlier versions kept only refs/remotes/origin/<branch>: it is taken as what the remote had."""
    origin = bare(tmp_path / "origin.git")
    with open_clone(tmp_path / "a", origin.as_uri()) as a:
        good, _ = leak(a)
        git(tmp_path / "a" / "repo", "update-ref", "-d", "refs/flagdeck/synced/main")
        force_back(origin, good)
        a.push(ENV)
        assert a.head(ENV) == good == remote_tip(origin) and flags(a) == {"kept"}
