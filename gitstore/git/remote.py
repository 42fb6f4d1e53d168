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

The parts: `gitstore.git.sync_tracker` (the synced ref, what is known of the remote), `gitstore.git.integrate`
(bringing the branch in step with a fetched tip), and here the turns, fetch, push and the sync built of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from typing import Protocol

import pygit2

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError, FlagdeckError, SyncError
from gitstore.git import transport
from gitstore.git.integrate import PUSH_ATTEMPTS, _move_synced, integrate
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import _lost_race
from gitstore.git.snapshot import ParseCache
from gitstore.git.sync_tracker import SyncTracker, synced_ref
from gitstore.git.transport import tracking_ref

__all__ = ["Extra", "SyncTracker", "before_commit", "fetch", "integrate", "push", "synced_ref", "sync", "tracking_ref",
           "try_push", "try_sync"]

FETCH_ATTEMPTS = 3  # a fetch that loses a race on the tracking ref's lock file is tried again
LOCK_FILE = "flagdeck-sync"
LOCK_GRACE = 5.0  # seconds beyond `timeout` a sync waits for another process's turn
log = logging.getLogger(__name__)


class Extra(Protocol):
    """More refs synced with a storage's branch (its branch environments, `gitstore.branches.BranchSync`): fetched
    in the same connection (`refspecs`), brought in step within the same turn (`integrate`), pushed after it."""

    refspecs: tuple[str, ...]

    def integrate(self, repo: pygit2.Repository) -> None: ...

    def push(self, repo: pygit2.Repository) -> None: ...


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
