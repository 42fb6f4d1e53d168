"""Issue 11 #1: upstream is force-pushed back in history to remove a flag that leaked. A running `flagdeck serve`
used to push the removed commit back within one poll (its watcher synced with push, and the local branch merely
looked "ahead") and kept serving the flag. Now the evaluator is a mirror: it follows the rewrite and never pushes."""

from __future__ import annotations

import time
from pathlib import Path

from .remote_tools import (
    Clone,
    ServerProcess,
    bare,
    config_for,
    fsck,
    remote_health,
    served_flags,
    tip_of,
    wait_until,
)

POLL = 0.2


def test_serve_follows_a_force_push_and_never_pushes_the_removed_commit_back(tmp_path: Path) -> None:
    upstream = bare(tmp_path / "upstream.git")
    colleague = Clone(upstream, tmp_path / "colleague")
    good = colleague.commit({"kept": True}, "kept flag")
    assert colleague.push().returncode == 0
    config = config_for(tmp_path / "evaluator", upstream, poll=f"{int(POLL * 1000)}ms")
    server = ServerProcess(config, command=("-m", "app.cli", "serve"))
    try:
        wait_until(lambda: served_flags(server.url) == (good, {"kept": True}), timeout=10, what="the first commit")
        leaked = colleague.commit({"kept": True, "leaked": True}, "a flag that must not be public")
        assert colleague.push().returncode == 0
        wait_until(lambda: served_flags(server.url) == (leaked, {"kept": True, "leaked": True}), timeout=10,
                   what="the leaked flag to be served")

        colleague.reset(good)
        assert colleague.push(force=True).returncode == 0
        wait_until(lambda: served_flags(server.url) == (good, {"kept": True}), timeout=5 + 10 * POLL,
                   what="the evaluator to follow the force-push")
        rewrite = wait_until(lambda: remote_health(server.url)["lastRewrite"], timeout=5, what="lastRewrite")
        assert leaked[:7] in rewrite and "dropped 1 commit" in rewrite
        time.sleep(5 * POLL)  # several more polls: nothing comes back, upstream or served
        assert tip_of(upstream) == good
        assert served_flags(server.url) == (good, {"kept": True})

        colleague.pull()  # and the next commit works
        after = colleague.commit({"kept": False}, "switch kept off")
        assert colleague.push().returncode == 0
        wait_until(lambda: served_flags(server.url) == (after, {"kept": False}), timeout=10, what="the next commit")
        assert tip_of(upstream) == after
    finally:
        assert server.stop() == 0
    for repo in (upstream, tmp_path / "evaluator" / "cache"):
        fsck(repo)
