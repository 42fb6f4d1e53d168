"""Fault injection on the remote (issue 11): rounds of a remote that goes down, hangs, vanishes and is force-pushed,
with two writers (one watching, as the console does) and a real `flagdeck serve`, all reaching a `git daemon`
through a relay that the test switches (up / silent / down); the force-pushes are made with the git CLI straight
into the bare repository, from outside.

Definitions, checked after every round:
- acknowledged: `store.commit` returned a created commit (pushed or not).
- lost: an acknowledged commit (its author and message: a replay keeps both) that is neither on the remote's branch
  after the writers pushed, nor deliberately rewritten away by a force-push; or whose flag the remote lacks.
- resurrected: a commit a force-push removed that is again on the remote's branch or a writer's branch, or whose
  flag the remote or the evaluator shows again.
- served = committed: the evaluator's /health commit is the remote's tip and its client snapshot holds exactly the
  remote's flags.
Also `git fsck --strict` of every repository, each hanging commit bounded by 1.6 x timeout, and a commit at the end.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from gitstore.config import load_config
from gitstore.store import Store

from .remote_tools import (
    Branch,
    Clone,
    GitDaemon,
    ServerProcess,
    Switch,
    bare,
    config_for,
    flag_change,
    fsck,
    served_flags,
    wait_until,
)

ROUNDS = 18
SEED = 11
TIMEOUT = 1.0
ENV = "production"
FAULTS = ["none", "down", "silent", "vanish", "force", "force-offline"]


class Ledger:
    def __init__(self) -> None:
        self.acked: dict[str, str] = {}  # message -> author name
        self.removed: dict[str, str] = {}  # message -> flag key, for commits a force-push removed
        self.counts: Counter[str] = Counter()


def commit(ledger: Ledger, store: Store, writer: str, key: str, fault: str) -> None:
    started = time.monotonic()
    result = store.commit(ENV, [flag_change(key)])
    elapsed = time.monotonic() - started
    assert result.created
    if fault == "silent":
        assert elapsed < 1.6 * TIMEOUT, f"a commit against a hanging remote took {elapsed:.2f} s"
    ledger.acked[f"create flag default/{key}"] = writer
    ledger.counts["commits"] += 1
    ledger.counts["pushed at once" if result.pushed else "left local"] += 1


def force_back(ledger: Ledger, outside: Clone, rng: random.Random) -> None:
    """The outsider force-pushes the remote back by 1-2 commits (never below the seed commit)."""
    outside.pull()
    history = Branch(outside.path)
    depth = min(rng.randint(1, 2), len(history.messages) - 1)
    if depth < 1:
        return
    for message in history.messages[:depth]:
        ledger.removed[message] = message.rsplit("/", 1)[1]
    outside.reset(f"HEAD~{depth}")
    done = outside.push(force=True)
    assert done.returncode == 0, done.stderr
    ledger.counts["force-pushes"] += 1
    ledger.counts["commits rewritten away"] += depth


def check(ledger: Ledger, upstream: Path, writers: dict[str, Path], url: str) -> None:
    fsck(upstream)
    remote = Branch(upstream)
    lost = [m for m in ledger.acked if m not in ledger.removed
            and (m not in remote.messages or m.rsplit("/", 1)[1] not in remote.flags)]
    branches = [remote] + [Branch(path) for path in writers.values()]
    served = wait_until(lambda: (lambda s: s if s == (remote.tip, remote.flags) else None)(served_flags(url)),
                        timeout=10, what="the evaluator to serve the remote's tip")
    resurrected = [m for m, key in ledger.removed.items()
                   if any(m in b.messages for b in branches) or key in remote.flags or key in served[1]]
    assert not lost, f"lost: {lost}"
    assert not resurrected, f"resurrected: {resurrected}"


def flush(stores: dict[str, Store]) -> None:
    """Every writer pushes what it holds (the console's watcher would within a poll)."""
    for store in stores.values():
        wait_until(lambda s=store: _pushed(s), timeout=15, interval=0.05, what="the writer's commits pushed")


def _pushed(store: Store) -> bool:
    store.push(ENV)
    return store.sync_state(ENV).ahead == 0


def test_remote_down_hanging_vanished_and_force_pushed(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    base = tmp_path / "served"
    upstream = bare(base / "flags.git")
    outside = Clone(upstream, tmp_path / "outside")
    outside.commit({"seed": True}, "seed")
    assert outside.push().returncode == 0
    daemon = GitDaemon(base)
    switch = Switch(daemon.port)
    url = switch.url("flags.git")
    stores = {name: Store(load_config(config_for(tmp_path / name, url, timeout=f"{TIMEOUT}s"))) for name in "ab"}
    paths = {name: tmp_path / name / "cache" for name in stores}
    unwatch = stores["a"].watch(lambda env, commit: None)  # "a" syncs every poll, as the console does
    server = ServerProcess(config_for(tmp_path / "serve", url, timeout=f"{TIMEOUT}s"),
                           command=("-m", "app.cli", "serve"))
    ledger = Ledger()
    try:
        for number in range(ROUNDS):
            fault = FAULTS[number % len(FAULTS)] if number < len(FAULTS) else rng.choice(FAULTS)
            ledger.counts[f"round {fault}"] += 1
            if fault in ("down", "silent", "force-offline"):
                switch.set("silent" if fault == "silent" else "down")
            if fault == "vanish":
                upstream.rename(base / "elsewhere.git")
            for name, store in stores.items():
                commit(ledger, store, name, f"{name}{number}", fault)
            if fault in ("force", "force-offline"):
                force_back(ledger, outside, rng)
            if fault == "vanish":
                (base / "elsewhere.git").rename(upstream)
            switch.set("up")
            flush(stores)
            outside.pull()
            check(ledger, upstream, paths, server.url)
            ledger.counts["rounds"] += 1
        final = stores["b"].commit(ENV, [flag_change("final")])
        assert final.pushed
        wait_until(lambda: served_flags(server.url)[0] == final.commit, timeout=10, what="the final commit served")
        ledger.counts["commits"] += 1
    finally:
        unwatch()
        assert server.stop() == 0
        for store in stores.values():
            store.close()
        switch.stop()
        daemon.stop()
    for repo in [upstream, tmp_path / "serve" / "cache", *paths.values()]:
        fsck(repo)
    ledger.counts["lost"] = ledger.counts["resurrected"] = 0  # asserted in every round
    print("remote faults:", dict(sorted(ledger.counts.items())))
