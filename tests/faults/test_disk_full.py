"""A full disk: commits into a small tmpfs (mounted by the test; root only) with a filler file leaving from nothing to
a few hundred KiB free, so writes fail at every stage (objects, lock, reflog, journal, work tree, index). Each
failure is a clear error that says nothing was committed, and leaves git fsck --strict clean, the branch where it
was, the work tree and index in step, and the evaluator serving what is committed; once space is freed, the next
commit works."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from gitstore.git import worktree

from .locks_tools import BRANCH, Ledger, Served, Zygote, fsck, git, make_repository, repository

SIZE = "6m"
FREE = [0, 1024, 4096, 16384, 65536, 98304, 131072, 262144]  # bytes left free before each commit attempt


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip(f"mounting a tmpfs needs root; running as uid {os.geteuid()}")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"`mount -t tmpfs -o size={SIZE}` was refused: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(mount: Path, leave: int) -> Path:
    """A filler file taking all the space but `leave` bytes."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    space = os.statvfs(mount)
    size = max(0, space.f_bavail * space.f_frsize - leave)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        chunk = b"\0" * 65536
        while size > 0:
            size -= os.write(fd, chunk[:min(len(chunk), size)])
    except OSError:
        pass  # full already
    finally:
        os.close(fd)
    return filler


@pytest.mark.parametrize("work_tree", [False, True], ids=["bare", "work-tree"])
def test_commits_on_a_full_disk_fail_cleanly_and_recover(tmpfs: Path, work_tree: bool, tmp_path: Path) -> None:
    config = make_repository(tmpfs / "flags", work_tree)
    logs = tmp_path / "logs"  # outside the full file system
    logs.mkdir()
    zygote = Zygote()
    zygote.run_writer(config, "seed", logs / "w.log", count=3)
    repo_path = repository(config)
    served = Served(config)
    ledger = Ledger()
    failed = committed = 0
    started = time.monotonic()
    try:
        for round_, leave in enumerate(FREE):
            filler = fill(tmpfs, leave)
            before = pygit2.Repository(str(repo_path)).references[BRANCH].target
            log = logs / f"full{round_}.log"
            status = zygote.wait(zygote.writer(config, f"full{round_}", log, count=1, size=200_000))
            repo = pygit2.Repository(str(repo_path))
            if status == {"exit": 0}:
                committed += 1
            else:
                failed += 1
                text = log.read_text()
                assert "StorageError" in text and "Nothing was committed" in text, text
                assert "KiB free" in text or "No space left" in text, text
                assert repo.references[BRANCH].target == before
            assert not (Path(repo.path) / "refs" / "heads" / "main.lock").exists()
            fsck(repo_path)
            if work_tree:
                assert worktree.behind(repo, BRANCH) == []
            ledger.read(log)
            ledger.check(repo_path, "production")
            served.equals_committed(repo_path, "production")
            filler.unlink()
            zygote.run_writer(config, f"after{round_}", logs / "w.log")  # space again: the next commit works
            ledger.read(logs / "w.log")
            ledger.check(repo_path, "production")
            if work_tree:
                assert git(repo_path, "status", "--porcelain", "--untracked-files=no").stdout == ""
            fsck(repo_path)
        served.equals_committed(repo_path, "production")
    finally:
        served.stop()
        zygote.close()
    print(f"\ndisk full ({'work tree' if work_tree else 'bare'}, tmpfs {SIZE}): rounds {len(FREE)}, "
          f"failed cleanly {failed}, committed anyway {committed}, commits {len(ledger.reported)}, "
          f"lost {ledger.lost}, resurrected {ledger.resurrected}, {time.monotonic() - started:.1f}s")
    assert failed >= 3 and ledger.lost == 0 and ledger.resurrected == 0
