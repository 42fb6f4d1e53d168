"""Watching: a moved branch is noticed whoever moved it; the asyncio facade does not block the loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

from gitstore.store import Store

from .conftest import ALICE, git, put_flag


def wait_for(seen: list, item: tuple, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while item not in seen and time.monotonic() - started < timeout:
        time.sleep(0.005)
    assert item in seen, f"{item} not seen within {timeout}s (seen: {seen})"
    return time.monotonic() - started


def test_watch_sees_commits_from_the_store_another_process_and_the_git_cli(demo_store: Store) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(env: str, commit: str) -> None:
        with lock:
            seen.append((env, commit))

    unwatch = demo_store.watch(record)
    repo = demo_store.config.storage["local"].path
    own = demo_store.commit("staging", [put_flag("mine")], ALICE)
    wait_for(seen, ("staging", own.commit))
    assert ("production", own.commit) in seen  # both environments live on that branch
    script = ("import sys; from gitstore.store import open_store; from gitstore.model.changes import Change, Kind;"
              "from gitstore.model.documents import Flag; s = open_store(sys.argv[1]);"
              "print(s.commit('production', [Change('default', Kind.FLAG, 'other', Flag(key='other', name='O'))])"
              ".commit); s.close()")
    other = subprocess.run([sys.executable, "-c", script, str(demo_store.config.path)], check=True,
                           capture_output=True, text=True).stdout.strip()
    wait_for(seen, ("production", other))
    parent = git(repo, "rev-parse", "main").strip()
    tree = git(repo, "rev-parse", "main^{tree}").strip()
    env = {"GIT_AUTHOR_NAME": "Carol", "GIT_AUTHOR_EMAIL": "c@example.com", "GIT_COMMITTER_NAME": "Carol",
           "GIT_COMMITTER_EMAIL": "c@example.com", "PATH": "/usr/bin:/bin"}
    cli = subprocess.run(["git", "-C", str(repo), "commit-tree", tree, "-p", parent, "-m", "by hand"], env=env,
                         check=True, capture_output=True, text=True).stdout.strip()
    git(repo, "update-ref", "refs/heads/main", cli, parent)
    elapsed = wait_for(seen, ("production", cli))
    assert elapsed < 2.0  # ~50 ms polling; the bench measures it precisely
    unwatch()
    after = demo_store.commit("production", [put_flag("unseen")], ALICE)
    time.sleep(0.2)
    assert ("production", after.commit) not in seen


def test_a_failing_subscriber_does_not_stop_the_others(store: Store) -> None:
    seen: list[tuple[str, str]] = []

    def broken(env: str, commit: str) -> None:
        raise RuntimeError("subscriber bug")

    store.watch(broken)
    store.watch(lambda env, commit: seen.append((env, commit)))
    result = store.commit("production", [put_flag("x")], ALICE)
    wait_for(seen, ("production", result.commit))


async def test_async_facade_runs_off_the_loop(demo_store: Store) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    snap = await demo_store.call("snapshot", "production")
    result = await demo_store.call("commit", "production", [put_flag("async")], ALICE, snap.commit)
    head = await demo_store.call(lambda: demo_store.head("production"))
    task.cancel()
    assert head == result.commit and ticks > 0
    assert (await demo_store.call("snapshot", "production")).document("default").flag("async") is not None


def test_close_stops_the_watcher(demo_store: Store) -> None:
    demo_store.watch(lambda env, commit: None)
    threads = [t for t in threading.enumerate() if t.name == "flagdeck-watch"]
    assert threads
    demo_store.close()
    assert not any(t.is_alive() for t in threads)


def test_a_polling_failure_is_logged_once_a_minute_not_twenty_times_a_second(demo_store: Store, caplog) -> None:
    """A branch ref that cannot be read (here a corrupt loose ref; at the file-descriptor limit every read fails)
    must not flood the log: one line with the reason, then silence until it recovers, which is said once."""
    seen: list[tuple[str, str]] = []
    repo = demo_store.config.storage["local"].path
    git(repo, "pack-refs", "--all")
    ref = repo / ".git" / "refs" / "heads" / "main" if (repo / ".git").is_dir() else repo / "refs" / "heads" / "main"
    caplog.set_level("DEBUG", logger="gitstore.git.watch")
    unwatch = demo_store.watch(lambda env, commit: seen.append((env, commit)))
    try:
        ref.write_text("garbage\n")
        time.sleep(1.0)  # 20 polls
        failures = [r for r in caplog.records if r.name == "gitstore.git.watch"]
        assert len(failures) == 1, [r.getMessage() for r in failures]
        assert "corrupted loose reference" in failures[0].getMessage()
        ref.unlink()  # the packed ref is read again
        own = demo_store.commit("staging", [put_flag("after")], ALICE)
        wait_for(seen, ("staging", own.commit))
        deadline = time.monotonic() + 10  # the commit may be seen before the next poll says it recovered
        while not any("recovered" in r.getMessage() for r in caplog.records if r.name == "gitstore.git.watch"):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
    finally:
        unwatch()
