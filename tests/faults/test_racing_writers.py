"""Racing writers (issue 11): four writer processes (two with a clone each, two sharing one clone, as the console
and a CLI command do) commit at once to one remote while someone runs `git push` from outside, and a real
`flagdeck serve` mirrors it; over a plain path (flagdeck moves the remote ref with a compare-and-swap) and over
git:// (receive-pack compares; flagdeck checks its lease on the advertised tip).

Definitions:
- acknowledged: `store.commit` returned a created commit (pushed or left local); an outside push: `git push`
  exited 0.
- lost: an acknowledged commit whose author and message (a replay keeps both) are not on the remote's branch once
  every clone has pushed, or whose flag the remote lacks.
- resurrected (here: duplicated): a change that appears in more than one commit on the remote's branch.
- served = committed: /health's commit is the remote's tip and the client snapshot holds the remote's flags.
Then `git fsck --strict` of every repository, and a next commit that is pushed and served.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from pathlib import Path

import pytest

from gitstore.config import load_config
from gitstore.store import Author, Store

from .remote_tools import (
    Branch,
    Clone,
    GitDaemon,
    ServerProcess,
    bare,
    config_for,
    flag_change,
    fsck,
    served_flags,
    wait_until,
)

WRITERS = 4
COMMITS = 8
OUTSIDE_PUSHES = 6
ENV = "production"
CLONE_OF = {0: "c0", 1: "c1", 2: "c23", 3: "c23"}  # writer -> its clone directory


def _writer(config: str, index: int, barrier, results) -> None:  # noqa: ANN001 - multiprocessing proxies
    store = Store(load_config(config))
    author = Author(f"Writer {index}", f"writer{index}@example.com")
    outcome: Counter[str] = Counter()
    acked = []
    barrier.wait(timeout=60)
    try:
        for n in range(COMMITS):
            key = f"w{index}-{n}"
            result = store.commit(ENV, [flag_change(key)], author, based_on=store.head(ENV))
            assert result.created
            acked.append(f"create flag default/{key}")
            outcome["pushed at once" if result.pushed else "left local"] += 1
            outcome["rebased"] += result.rebased
    finally:
        store.close()
        results.put((index, acked, dict(outcome)))


def _outsider(outside: Clone, done: list[str], counts: Counter[str]) -> None:
    flags: dict[str, bool] = {}
    for n in range(OUTSIDE_PUSHES):
        flags[f"o{n}"] = True
        outside.pull()
        outside.commit(flags, f"outside {n}", namespace="outside")
        for _ in range(30):
            if outside.push().returncode == 0:
                done.append(f"outside {n}")
                break
            counts["outside retries"] += 1
            outside.pull()  # lost the race: take the remote's tip and make the same change again on it
            outside.commit(flags, f"outside {n}", namespace="outside")
        else:
            raise AssertionError(f"the outside push {n} never got through")


@pytest.mark.parametrize("transport", ["path", "git-daemon"])
def test_racing_writers_and_an_outside_push_lose_nothing(tmp_path: Path, transport: str) -> None:
    base = tmp_path / "served"
    upstream = bare(base / "flags.git")
    outside = Clone(upstream, tmp_path / "outside")
    outside.commit({"seed": True}, "seed")
    assert outside.push().returncode == 0
    daemon = GitDaemon(base) if transport == "git-daemon" else None
    url = daemon.url("flags.git") if daemon else str(upstream)
    configs = {clone: config_for(tmp_path / clone, url) for clone in set(CLONE_OF.values())}
    for config in configs.values():
        Store(load_config(config)).close()  # clone before the race
    server = ServerProcess(config_for(tmp_path / "serve", url), command=("-m", "app.cli", "serve"))
    counts: Counter[str] = Counter()
    try:
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(WRITERS + 1), ctx.Queue()
        procs = [ctx.Process(target=_writer, args=(str(configs[CLONE_OF[i]]), i, barrier, results))
                 for i in range(WRITERS)]
        for proc in procs:
            proc.start()
        pushed_outside: list[str] = []
        racer = threading.Thread(target=_outsider, args=(outside, pushed_outside, counts))
        barrier.wait(timeout=60)
        racer.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
        racer.join(timeout=120)
        assert len(pushed_outside) == OUTSIDE_PUSHES
        acked = {message: index for index, messages, _ in outcomes for message in messages}
        for _, _, outcome in outcomes:
            counts.update(outcome)
        assert len(acked) == WRITERS * COMMITS

        for config in configs.values():  # every clone pushes what it still holds; then one more commit
            with Store(load_config(config)) as store:
                wait_until(lambda s=store: (s.push(ENV), s.sync_state(ENV).ahead == 0)[1], timeout=30,
                           interval=0.05, what="every commit pushed")
        with Store(load_config(configs["c0"])) as store:
            final = store.commit(ENV, [flag_change("final")])
            assert final.pushed

        fsck(upstream)
        remote, other = Branch(upstream), Branch(upstream, namespace="outside")
        assert remote.tip == final.commit
        lost = [m for m in acked if m not in remote.messages or m.rsplit("/", 1)[1] not in remote.flags]
        lost += [m for m in pushed_outside if m not in remote.messages]
        lost += [f"o{n}" for n in range(OUTSIDE_PUSHES) if f"o{n}" not in other.flags]
        duplicated = [m for m, times in Counter(remote.messages).items() if times > 1]
        assert not lost, f"lost: {lost}"
        assert not duplicated, f"resurrected (duplicated): {duplicated}"
        wait_until(lambda: served_flags(server.url) == (remote.tip, remote.flags), timeout=10,
                   what="the evaluator to serve the remote's tip")
    finally:
        assert server.stop() == 0
        if daemon is not None:
            daemon.stop()
    for repo in [tmp_path / name / "cache" for name in configs] + [tmp_path / "serve" / "cache"]:
        fsck(repo)
    counts.update({"writers": WRITERS, "commits": len(acked) + 1, "outside pushes": len(pushed_outside),
                   "lost": 0, "resurrected": 0})
    print(f"racing writers over {transport}:", dict(sorted(counts.items())))
