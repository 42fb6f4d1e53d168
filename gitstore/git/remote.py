"""Keeping a local repository in step with its remote: fetch, follow the remote, replay commits it never had, and
push those (never forced, always with a lease). `SyncTracker` records what happened; `gitstore.git.transport` talks
to the remote.

What the remote had is remembered in `refs/flagdeck/synced/<branch>`: the remote tip the local branch was last
brought in step with (after a fetch) or that a push created. Every commit reachable from it was on the remote;
a local commit that is not reachable from it, nor from the tip just fetched, never reached the remote. After each
fetch (`integrate`):
- the branch follows the remote: fast-forward, or, when the remote was rewritten (its new tip does not descend
  from the synced one: a force-push), the commits the remote no longer has are dropped from the branch (logged and
  recorded in `SyncState.last_rewrite`), never pushed again;
- local commits the remote never had are kept on top, replayed resource by resource on the new tip when it moved
  (`gitstore.git.replay`); a replayed change that collides with a remote one parks them under
  `refs/flagdeck/conflicts/<branch>/<time>`, the branch follows the remote and `ConflictError` names them.
A push sends the local branch only when it descends from the synced tip, and only if the remote branch is still at
that tip (a lease); otherwise it fetches, integrates and tries again. A mirror (`flagdeck serve`) fetches and
integrates but never pushes.

Processes sharing one repository (the console and `flagdeck serve` of `make run`, several workers) take turns
with an advisory lock (`<git dir>/flagdeck-sync`, released by the kernel if a process dies) around
fetch-and-integrate, so a fetch result is never applied after a newer one. A background sync that finds the lock
taken skips its turn; a commit that finds it taken commits on the local tip without waiting.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pygit2
from pygit2.enums import SortMode

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError, FlagdeckError, SyncError
from gitstore.git import transport, worktree
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import _lost_race, cas_ref
from gitstore.git.snapshot import ParseCache
from gitstore.git.transport import tracking_ref
from gitstore.results import SyncState

__all__ = ["Extra", "SyncTracker", "before_commit", "fetch", "integrate", "push", "synced_ref", "sync", "tracking_ref",
           "try_push", "try_sync"]

PUSH_ATTEMPTS = 5
FETCH_ATTEMPTS = 3  # a fetch that loses a race on the tracking ref's lock file is tried again
SLOW = 0.9  # a failure that took this share of `timeout` was a time-out (the remote hangs)
LOCK_FILE = "flagdeck-sync"
LOCK_GRACE = 5.0  # seconds beyond `timeout` a sync waits for another process's turn
SHOWN = 5  # commits named in a message
log = logging.getLogger(__name__)


def synced_ref(branch: str) -> str:
    return f"refs/flagdeck/synced/{branch}"


class Extra(Protocol):
    """More refs synced with a storage's branch (its branch environments, `gitstore.branches.BranchSync`): fetched
    in the same connection (`refspecs`), brought in step within the same turn (`integrate`), pushed after it."""

    refspecs: tuple[str, ...]

    def integrate(self, repo: pygit2.Repository) -> None: ...

    def push(self, repo: pygit2.Repository) -> None: ...


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


def _named(commits: list[pygit2.Commit]) -> str:
    names = [f"{c.short_id} {c.message.splitlines()[0] if c.message else ''!r}" for c in commits[:SHOWN]]
    more = f" and {len(commits) - SHOWN} more" if len(commits) > SHOWN else ""
    return ", ".join(names) + more


@contextlib.contextmanager
def _turn(repo: pygit2.Repository, storage: StorageConfig, wait: bool) -> Iterator[bool]:
    """This process's turn to sync the repository (True), or False when another holds it and `wait` is False.
    Waiting is bounded by the storage's `timeout` (the other's fetch gives up by then) plus a grace period."""
    try:
        fd = os.open(os.path.join(repo.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only repository: nothing to coordinate with
        yield True
        return
    try:
        deadline = time.monotonic() + storage.timeout + LOCK_GRACE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if time.monotonic() > deadline:
                    raise SyncError(f"{repo.path}: another process kept syncing with {storage.remote}") from None
                time.sleep(0.01)
        yield True
    finally:
        os.close(fd)  # releases the lock


def fetch(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker,
          extra: tuple[str, ...] = ()) -> pygit2.Oid | None:
    """The remote's tip (None: it has no such branch), fetched (with the `extra` refspecs). SyncError when the
    remote cannot be reached."""
    assert storage.remote
    started = time.monotonic()
    for attempt in range(FETCH_ATTEMPTS):
        try:
            found = transport.fetch(repo, storage, extra)
            break
        except (pygit2.GitError, OSError) as exc:
            if _lost_race(exc) and attempt + 1 < FETCH_ATTEMPTS:
                time.sleep(0.01 * (attempt + 1))
                continue
            tracker.fail(f"fetch from {storage.remote} failed: {exc}", started=started)
            raise SyncError(f"fetch from {storage.remote} failed: {exc}") from None
    tracker.ok(fetched=True)
    return found


def _move_synced(repo: pygit2.Repository, branch: str, old: pygit2.Oid | None, new: pygit2.Oid | None) -> None:
    """Record `new` as the remote tip the branch is in step with (called with this process's turn held)."""
    name = synced_ref(branch)
    if old == new:
        return
    if new is None:
        repo.references.delete(name)
    elif old is None:
        repo.create_reference(name, new, force=True, message="flagdeck: in step with the remote")
    else:
        cas_ref(repo, name, old, new, "flagdeck: in step with the remote")


class _BranchMoved(Exception):
    """A commit moved the local branch while it was being brought in step: look again."""


def _move_branch(repo: pygit2.Repository, ref: str, local: pygit2.Oid | None, target: pygit2.Oid, why: str) -> None:
    """Move the branch to the remote's version; a work tree checked out on it follows (files and index first, as
    for the store's own commits, so that no crash leaves an index undoing the remote's commits)."""
    try:
        if not worktree.applies(repo, ref):
            cas_ref(repo, ref, local, target, f"flagdeck: {why}")
            return
        with worktree.updating(repo, ref, target, _changed_files(repo, local, target)):
            cas_ref(repo, ref, local, target, f"flagdeck: {why}")
    except ConflictError:
        raise _BranchMoved from None


def _changed_files(repo: pygit2.Repository, old: pygit2.Oid | None, new: pygit2.Oid) -> worktree.Changed:
    """path -> (blob in `old`, blob in `new`) for every file that differs between the two commits."""
    before, after = (repo[old].tree if old is not None else None), repo[new].tree
    deltas = before.diff_to_tree(after).deltas if before is not None else after.diff_to_tree(swap=True).deltas
    paths = {path for delta in deltas for path in (delta.old_file.path, delta.new_file.path)}
    return {path: (worktree.entry(before, path), worktree.entry(after, path)) for path in paths}


def integrate(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
              new: pygit2.Oid | None, on_remote: frozenset[pygit2.Oid] = frozenset()) -> None:
    """Bring the local branch in step with the remote tip `new` just fetched (see the module docstring). Called
    with this process's turn held. A local commit racing with it makes it look again (a lost race on the local
    branch is never a conflict). `on_remote`: tips of other remote branches (a branch environment's base): what
    they hold was on the remote too, never a commit to replay."""
    for _ in range(PUSH_ATTEMPTS * 4):
        try:
            _integrate(repo, storage, tracker, cache, new, on_remote)
            return
        except _BranchMoved:
            time.sleep(0.002)
    raise SyncError(f"{storage.branch} kept moving locally while it was being brought in step with the remote")


def _integrate(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
               new: pygit2.Oid | None, on_remote: frozenset[pygit2.Oid] = frozenset()) -> None:
    branch = storage.branch
    ref = branch_ref(branch)
    old, local = tip(repo, synced_ref(branch)), tip(repo, ref)
    if new is None:
        if old is not None:
            log.warning("the remote %s has no branch %s (any more); the local branch is kept, and a writer pushes "
                        "it", storage.remote, branch)
        _move_synced(repo, branch, old, None)
        return
    if local is None:
        _move_branch(repo, ref, None, new, "from remote")
        _move_synced(repo, branch, old, new)
        return
    rewritten = old is not None and old != new and not repo.descendant_of(new, old)
    never_pushed = _commits(repo, local, {new, *on_remote} | ({old} if old is not None else set()))
    unpushed = {c.id for c in never_pushed}
    dropped = [c for c in _commits(repo, local, {new}) if c.id not in unpushed]
    if not dropped and (local == new or repo.descendant_of(local, new)):
        target = local  # in step, or ahead by commits never pushed
    elif not never_pushed:
        target = new  # fast-forward, or follow a rewrite
    else:
        try:
            from gitstore.git.replay import replay  # the writer: imported when a commit needs replaying

            target = replay(repo, list(reversed(never_pushed)), new, cache)
        except ConflictError as exc:
            raise _park(repo, storage, tracker, (old, local, new), never_pushed, dropped, exc) from None
    if target != local:
        _move_branch(repo, ref, local, target, "follow the rewritten remote" if rewritten else "in step with remote")
    _move_synced(repo, branch, old, new)
    if rewritten:
        replayed = f"; {len(never_pushed)} local commit(s) never pushed were replayed on it: " \
                   f"{_named(never_pushed)}" if never_pushed else ""
        tracker.rewritten(_rewrite_message(storage, old, new, dropped) + replayed)


def _rewrite_message(storage: StorageConfig, old: pygit2.Oid | None, new: pygit2.Oid,
                     dropped: list[pygit2.Commit]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    gone = f"dropped {len(dropped)} commit(s) the remote no longer has: {_named(dropped)}" if dropped else \
        "no local commit had to be dropped"
    return (f"{stamp}: {storage.branch} was rewritten on {storage.remote} ({str(old)[:8]} is no longer in its "
            f"history; now {str(new)[:8]}): {gone}")


def _park(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker,
          tips: tuple[pygit2.Oid | None, pygit2.Oid, pygit2.Oid], never_pushed: list[pygit2.Commit],
          dropped: list[pygit2.Commit], exc: ConflictError) -> ConflictError:
    """Keep the local commits under a private ref and let the branch follow the remote; the error to raise.
    `tips`: (synced, local, fetched)."""
    old, local, new = tips
    branch = storage.branch
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    parked = f"refs/flagdeck/conflicts/{branch}/{stamp}"
    repo.create_reference(parked, local)  # first, so that a crash after the branch moved loses nothing
    try:
        _move_branch(repo, branch_ref(branch), local, new, "follow remote after a conflict")
    except _BranchMoved:
        repo.references.delete(parked)  # the branch still holds them: look again
        raise
    _move_synced(repo, branch, old, new)
    message = (f"{exc}; the local commits never pushed ({_named(never_pushed)}) were kept as {parked} and the "
               "branch follows the remote")
    if dropped:
        tracker.rewritten(_rewrite_message(storage, old, new, dropped) + f"; {message}")
    tracker.fail(message, reachable=None)
    log.warning("%s", message)
    return ConflictError(message, resource=exc.resource)


def fetch_and_integrate(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker,
                        cache: ParseCache, wait: bool = True, extra: Extra | None = None) -> bool:
    """One fetch, integrated, in this process's turn; False when another process was syncing (and `wait` is
    False). SyncError / ConflictError as `fetch` / `integrate`; `extra`'s refs fetched and integrated alongside."""
    with _turn(repo, storage, wait) as mine:
        if not mine:
            return False
        branch = storage.branch
        if tip(repo, synced_ref(branch)) is None and tip(repo, tracking_ref(branch)) is not None:
            # synced by an earlier version, which kept only the last fetched tip: the remote had that much
            _move_synced(repo, branch, None, tip(repo, tracking_ref(branch)))
        integrate(repo, storage, tracker, cache, fetch(repo, storage, tracker, extra.refspecs if extra else ()))
        if extra is not None:
            extra.integrate(repo)
    return True


def _record_push(repo: pygit2.Repository, storage: StorageConfig, base: pygit2.Oid | None,
                 pushed: pygit2.Oid) -> None:
    branch = storage.branch
    with _turn(repo, storage, wait=True):
        if tip(repo, synced_ref(branch)) == base:  # else a later fetch has already recorded a newer state
            _move_synced(repo, branch, base, pushed)
        fetched = tip(repo, tracking_ref(branch))
        if fetched is None or repo.descendant_of(pushed, fetched):
            repo.create_reference(tracking_ref(branch), pushed, force=True, message="flagdeck: pushed")


def push(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache) -> None:
    """Send the local commits the remote never had (see the module docstring)."""
    assert storage.remote
    ref, synced = branch_ref(storage.branch), synced_ref(storage.branch)
    for _ in range(PUSH_ATTEMPTS):
        local, base = tip(repo, ref), tip(repo, synced)
        if local is None or (base is not None and (local == base or repo.descendant_of(base, local))):
            return  # nothing the remote never had
        if base is not None and not repo.descendant_of(local, base):
            fetch_and_integrate(repo, storage, tracker, cache)  # not in step with the remote yet
            continue
        started = time.monotonic()
        try:
            transport.send(repo, storage, base, local)
        except transport.RemoteMoved:
            fetch_and_integrate(repo, storage, tracker, cache)
            continue
        except transport.Refused as exc:
            fetch_and_integrate(repo, storage, tracker, cache)
            if tip(repo, synced) != base:
                continue  # lost a race on the server's side
            tracker.fail(f"the remote refused the push: {exc}", reachable=True)
            raise SyncError(f"the remote refused the push: {exc}") from None
        except (pygit2.GitError, OSError) as exc:
            tracker.fail(f"push to {storage.remote} failed: {exc}", started=started)
            raise SyncError(f"push to {storage.remote} failed: {exc}") from None
        _record_push(repo, storage, base, local)
        tracker.ok()
        return
    message = f"the remote kept moving; gave up pushing after {PUSH_ATTEMPTS} attempts (the commits stay local)"
    tracker.fail(message, reachable=True)
    raise SyncError(message)


def sync(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
         push_too: bool, wait: bool = True, extra: Extra | None = None) -> None:
    """Fetch and integrate, then (`push_too`) push (`extra`'s refs too). With `wait` False, nothing happens when
    another process is syncing the repository right now."""
    if fetch_and_integrate(repo, storage, tracker, cache, wait, extra) and push_too:
        push(repo, storage, tracker, cache)
        if extra is not None:
            extra.push(repo)


def try_sync(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
             push: bool, wait: bool = False, extra: Extra | None = None) -> bool:
    """`sync`, with failures recorded in the tracker instead of raised; True when it went through."""
    try:
        sync(repo, storage, tracker, cache, push, wait, extra)
    except (SyncError, ConflictError):
        return False
    except (FlagdeckError, pygit2.GitError, OSError) as exc:  # the local repository failed (disk full, ...)
        log.warning("sync of %s with %s failed: %s", repo.path, storage.remote, exc)
        tracker.fail(f"sync failed: {exc}", reachable=None)
        return False
    return True


def before_commit(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker,
                  cache: ParseCache, extra: Extra | None = None) -> bool:
    """Fetch and integrate before a commit; False when the remote could not be reached (or timed out less than
    `poll_interval` ago): the commit then stays local without waiting for the remote a second time."""
    if tracker.waiting():
        return False
    try:
        fetch_and_integrate(repo, storage, tracker, cache, wait=False, extra=extra)
    except SyncError:
        return False
    except ConflictError:
        pass  # local commits were parked and reported; the branch follows the remote
    return True


def try_push(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache) -> bool:
    """Push after a commit: False when the remote cannot be reached (the commit stays local, to be pushed later);
    `ConflictError` when the remote holds a colliding change."""
    try:
        push(repo, storage, tracker, cache)
    except SyncError:
        return False
    return True
