"""Issue 12: one commit against a silent remote (it accepts the connection, then never answers) used to take twice
the storage's `timeout`: a fetch that timed out, then a push that timed out again. Now a commit waits for such a
remote at most once: after a failed fetch it stays local without pushing, and for `poll_interval` after a
time-out commits do not wait for the remote again (the watcher keeps trying on a thread of its own, so a hanging
fetch there does not hold up a commit either). Bounded at 1.6 x timeout: behaviour, not a benchmark."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.store import Store

from .conftest import ALICE, put_flag, write_config

TIMEOUT = 1.0
ENV = "production"


@pytest.fixture
def silent_remote() -> Iterator[str]:
    """A git:// URL on 127.0.0.1 whose listener completes the handshake (the backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"git://127.0.0.1:{sock.getsockname()[1]}/flags.git"


def silent_store(root: Path, url: str, poll: str) -> Store:
    config = write_config(root, f"storage:\n  local:\n    path: repo\n    remote: {url}\n    poll_interval: {poll}\n"
                                f"    timeout: {TIMEOUT}s\nenvironments:\n  production: {{storage: local}}\n")
    return Store(load_config(config))


def timed_commit(store: Store, key: str) -> float:
    started = time.monotonic()
    result = store.commit(ENV, [put_flag(key)], ALICE)
    elapsed = time.monotonic() - started
    assert result.pushed is False and store.head(ENV) == result.commit
    return elapsed


def test_one_commit_against_a_silent_remote_waits_at_most_one_timeout(tmp_path: Path, silent_remote: str) -> None:
    with silent_store(tmp_path, silent_remote, poll="100ms") as store:
        time.sleep(0.2)  # past poll_interval: the commit tries the remote again
        assert timed_commit(store, "first") < 1.6 * TIMEOUT
        state = store.sync_state(ENV)
        assert state.reachable is False and "timed out" in (state.last_error or "") and state.ahead >= 1


def test_a_commit_does_not_wait_behind_the_watchers_hanging_fetch(tmp_path: Path, silent_remote: str) -> None:
    with silent_store(tmp_path, silent_remote, poll="100ms") as store:
        unwatch = store.watch(lambda env, commit: None)
        time.sleep(0.3)  # the watcher's fetch is hanging now
        for key in ("a", "b", "c"):
            assert timed_commit(store, key) < 1.6 * TIMEOUT
            assert store.snapshot(ENV).document("default").flag(key) is not None
        unwatch()


def test_commits_right_after_a_time_out_do_not_wait_again(tmp_path: Path, silent_remote: str) -> None:
    with silent_store(tmp_path, silent_remote, poll="30s") as store:  # the start-up fetch timed out just now
        assert timed_commit(store, "quick") < 0.5 * TIMEOUT
