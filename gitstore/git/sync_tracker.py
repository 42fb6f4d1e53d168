"""What is known of a branch's remote: `refs/flagdeck/synced/<branch>` (`synced_ref`, the remote tip the branch was
last in step with; see `gitstore.git.remote`) and the `SyncTracker` of each branch (reachable, the last error, fetch
and rewrite), from which `SyncState` is read."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pygit2
from pygit2.enums import SortMode

from gitstore.config import StorageConfig
from gitstore.git.refs import tip
from gitstore.git.transport import tracking_ref
from gitstore.results import SyncState

SLOW = 0.9  # a failure that took this share of `timeout` was a time-out (the remote hangs)
log = logging.getLogger("gitstore.git.remote")  # the sync's messages keep the name they always had


def synced_ref(branch: str) -> str:
    return f"refs/flagdeck/synced/{branch}"


@dataclass
class SyncTracker:
    storage: StorageConfig
    reachable: bool | None = None
    last_error: str | None = None
    last_fetch: datetime | None = None
    last_rewrite: str | None = None
    timed_out_at: float | None = None  # time.monotonic() of the last fetch or push that timed out
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, fetched: bool = False) -> None:
        with self._lock:
            self.reachable, self.last_error, self.timed_out_at = True, None, None
            if fetched:
                self.last_fetch = datetime.now(UTC)

    def fail(self, error: str, reachable: bool | None = False, started: float | None = None) -> None:
        with self._lock:
            self.last_error = error
            if reachable is not None:
                self.reachable = reachable
            now = time.monotonic()
            if started is not None and now - started >= SLOW * self.storage.timeout:
                self.timed_out_at = now

    def rewritten(self, message: str) -> None:
        log.warning("%s", message)
        with self._lock:
            self.last_rewrite = message

    def waiting(self) -> bool:
        """True for `poll_interval` after a fetch or push timed out: commits meanwhile do not wait for the remote
        again (they stay local; the watcher keeps trying). A remote that refuses at once is tried every time."""
        with self._lock:
            return (self.reachable is False and self.timed_out_at is not None
                    and time.monotonic() - self.timed_out_at < self.storage.poll_interval)

    def state(self, repo: pygit2.Repository, ref: str, also_on: str | None = None) -> SyncState:
        """`also_on`: another branch whose fetched tip the remote holds (a branch environment's base)."""
        ahead = behind = 0
        branch = self.storage.branch
        local, fetched = tip(repo, ref), tip(repo, tracking_ref(branch))
        if self.storage.remote and local is not None:
            base = tip(repo, tracking_ref(also_on)) if also_on else None
            known = {x for x in (tip(repo, synced_ref(branch)), fetched, base) if x is not None}
            ahead = len(_commits(repo, local, known))
            if fetched is not None:
                behind = repo.ahead_behind(local, fetched)[1]
        with self._lock:
            return SyncState(self.storage.remote, ahead, behind, self.reachable, self.last_error, self.last_fetch,
                             self.last_rewrite)


def _commits(repo: pygit2.Repository, start: pygit2.Oid, hide: set[pygit2.Oid]) -> list[pygit2.Commit]:
    """Commits reachable from `start` but from none of `hide`, newest first."""
    walker = repo.walk(start, SortMode.TOPOLOGICAL)
    for oid in hide:
        walker.hide(oid)
    return list(walker)

