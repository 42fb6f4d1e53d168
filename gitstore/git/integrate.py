"""Bringing a local branch in step with the remote tip just fetched (`integrate`, see `gitstore.git.remote`): follow
the remote (fast-forward, or a rewrite: the commits it no longer has are dropped and reported), keep the local
commits it never had on top (replayed by `gitstore.git.replay` when the tip moved), and park them under
`refs/flagdeck/conflicts/<branch>/<time>` when one collides with a remote change. A work tree checked out on the
branch follows it."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pygit2

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError, SyncError
from gitstore.git import worktree
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import cas_ref
from gitstore.git.snapshot import ParseCache
from gitstore.git.sync_tracker import SyncTracker, _commits, synced_ref

PUSH_ATTEMPTS = 5
SHOWN = 5  # commits named in a message
log = logging.getLogger("gitstore.git.remote")  # the sync's messages keep the name they always had


def _named(commits: list[pygit2.Commit]) -> str:
    names = [f"{c.short_id} {c.message.splitlines()[0] if c.message else ''!r}" for c in commits[:SHOWN]]
    more = f" and {len(commits) - SHOWN} more" if len(commits) > SHOWN else ""
    return ", ".join(names) + more


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

