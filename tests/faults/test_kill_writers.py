"""kill -9 at random points of commits, and at each named point (gitstore/git/crash.py), in a bare repository and in one
with a work tree. After every kill: git fsck --strict is clean, every commit a writer reported is on the branch and
nothing a killed writer abandoned comes back, a work tree never holds an index that would undo a commit, the next
commit works (after `flagdeck doctor --fix` when the kill left a branch lock; once, the store is left to remove the
lock by itself once it is old enough), and a real `flagdeck serve` serves what is committed."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pygit2
import pytest

from gitstore.git import worktree

from .locks_tools import BRANCH, Ledger, Served, Zygote, fsck, git, kill, make_repository, repository

ROUNDS = 30  # per kind of repository: 60 in all
POINTS = ["object-written", "worktree-written", "ref-locked", "ref-moved"]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    yield z
    z.close()


@pytest.mark.parametrize("work_tree", [False, True], ids=["bare", "work-tree"])
def test_writers_killed_at_random_points(tmp_path: Path, zygote: Zygote, work_tree: bool) -> None:
    rng = random.Random(int(os.environ.get("FAULT_SEED", "11")) + work_tree)
    config = make_repository(tmp_path, work_tree)
    log = tmp_path / "writers.log"
    zygote.run_writer(config, "seed", log)
    repo_path = repository(config)
    served = Served(config)
    ledger = Ledger()
    counts = {"rounds": 0, "kills": 0, "stale locks": 0, "doctor fixes": 0, "self-healed": 0}
    started = time.monotonic()
    try:
        for round_ in range(ROUNDS):
            point = POINTS[round_ % len(POINTS)] if round_ % 3 == 2 else ""
            if point == "worktree-written" and not work_tree:
                point = "ref-moved"
            pid = zygote.writer(config, f"r{round_}", log, crash=point)
            if not point:
                time.sleep(rng.uniform(0.0, 0.25))
                kill(pid)
            status = zygote.wait(pid)
            assert status.get("signal") == 9, f"round {round_}: the writer ended otherwise: {status}"
            counts["rounds"] += 1
            counts["kills"] += 1
            repo = pygit2.Repository(str(repo_path))
            if work_tree:
                assert worktree.behind(repo, BRANCH) == [], f"round {round_}: the index would undo a commit"
            # the branch's lock (a kill at ref-locked), or the index's (a kill while the work tree was written)
            left = [lock for lock in (Path(repo.path) / "refs" / "heads" / "main.lock", Path(repo.path) / "index.lock")
                    if lock.exists()]
            if left:
                counts["stale locks"] += len(left)
                if not counts["self-healed"]:  # provably dead holder and old enough: the store heals itself
                    then = time.time() - 31
                    for lock in left:
                        os.utime(lock, (then, then))
                    counts["self-healed"] += 1
                else:
                    assert zygote.doctor(config, tmp_path / "doctor.log", "--fix", "--older-than", "0") == 0
                    counts["doctor fixes"] += 1
            fsck(repo_path)
            ledger.read(log)
            ledger.check(repo_path, "production")
            zygote.run_writer(config, f"next{round_}", log)  # the next commit works
            ledger.read(log)
            ledger.check(repo_path, "production")
            if work_tree:
                assert git(repo_path, "status", "--porcelain", "--untracked-files=no").stdout == ""
            if round_ % 5 == 4:
                served.equals_committed(repo_path, "production")
        served.equals_committed(repo_path, "production")
        fsck(repo_path)
    finally:
        served.stop()
    commits = len(ledger.reported) + len(ledger.unreported)
    print(f"\nkill -9 ({'work tree' if work_tree else 'bare'}): rounds {counts['rounds']}, kills {counts['kills']}, "
          f"commits {commits} ({len(ledger.reported)} reported, {len(ledger.unreported)} made but unreported), "
          f"abandoned {len(ledger.abandoned)}, lost {ledger.lost}, resurrected {ledger.resurrected}, "
          f"stale locks {counts['stale locks']} ({counts['doctor fixes']} by doctor --fix, "
          f"{counts['self-healed']} by the store itself), served checks {served.checks}, "
          f"{time.monotonic() - started:.1f}s")
    assert ledger.lost == 0 and ledger.resurrected == 0
    assert counts["stale locks"] >= 2  # the ref-locked rounds leave one each: both ways of recovery were taken
