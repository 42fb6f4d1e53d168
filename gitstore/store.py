"""The Store: every environment's namespaces on a Git branch, read as immutable snapshots and written as commits.

All public methods are synchronous and thread-safe: each runs on its repository's own single-worker thread.
`await store.call("snapshot", env)` does the same from asyncio without blocking the event loop.

Writes (`commit`): each change is applied to its namespace file as a minimal textual edit (`gitstore.edit.writer`), the
tree is rebuilt along the edited paths only, and the branch ref is moved with a compare-and-swap, so concurrent
writers (threads, processes, the git CLI) never lose a commit. If the branch moved past `based_on`, the change is
re-applied on the new tip when every resource it touches is unchanged there, else `ConflictError` names the
resource. Author = committer = `author`, else the store's `identity`, else `identity:` in flagdeck.yaml, else Git's
configured user, else `flipt <flipt[bot]@noreply.flipt.io>`. With a remote: fetch first, commit, then push what the
remote never had (`gitstore.git.remote`); an unreachable remote leaves the commit local (`CommitResult.pushed` False,
`sync_state` ahead) to be pushed later, and a commit waits for it at most once (`timeout`). A mirror never pushes.
Roles (`viewer` < `editor` < `admin`, per environment or "*") are decided by `gitstore.roles`: reading needs viewer,
commits and reverts editor, creating, renaming or deleting a namespace and promoting admin. A protected environment
(`protect:`) refuses every direct write whatever the role (`gitstore.proposals.protection`): changes get in by
merging an approved proposal (`gitstore.proposals`), or by an admin breaking glass (`break_glass`).

The Store is built in parts, each in a module named for what it holds: `gitstore.store_base` (the repositories and
their threads, where each environment is, roles, closing), `gitstore.store_reading` (snapshots and history),
`gitstore.store_branches` (branch environments), `gitstore.store_sync` (remotes and watching), and here the writes
(`commit`, and revert, restore and promote through `gitstore.store_ops`).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from gitstore import roles as access
from gitstore import store_ops
from gitstore.config import load_config
from gitstore.errors import ConflictError, NotFoundError
from gitstore.git import crash, remote
from gitstore.git.objects import commit_at
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import (
    RefLocked,
    blob_at,
    build_tree,
    commit_of,
    gc_auto,
    locked_error,
    make_commit,
    publish,
    write_blob,
    write_error,
)
from gitstore.git.snapshot import NamespaceSnapshot, Snapshot
from gitstore.proposals import protection
from gitstore.results import (
    Author,
    BranchInfo,
    CommitResult,
    EnvironmentInfo,
    HistoryEntry,
    SyncState,
)
from gitstore.store_base import T
from gitstore.store_branches import BranchEnvironments
from gitstore.store_reading import Reading
from gitstore.store_sync import Syncing

if TYPE_CHECKING:  # imported where it is used: `flagdeck validate` or `eval` reads, and never pays for it
    from gitstore.model.changes import Change

__all__ = ["Author", "BranchInfo", "CommitResult", "EnvironmentInfo", "HistoryEntry", "NamespaceSnapshot", "Snapshot", "Store",
           "SyncState", "open_store"]

CAS_ATTEMPTS = 20
GC_EVERY = 100  # commits made by this process between two `git gc --auto` runs


class Store(Reading, BranchEnvironments, Syncing):
    # -- writing -------------------------------------------------------------------------------------------------
    def commit(self, env: str, changes: list[Change], author: Author | None = None, based_on: str | None = None,
               message: str | None = None, files: dict[str, bytes | None] | None = None,
               trailers: tuple[tuple[str, str], ...] = ()) -> CommitResult:
        """One commit on the environment's branch applying `changes` (see the module docstring for the rules).
        `files` (path under the environment's directory -> bytes, None = delete): files Flipt does not read
        (`gitstore.automation`'s records) written in the same commit; on a moved branch each must be unchanged since
        `based_on`, else `ConflictError` (the compare-and-swap is their lock). `trailers` end the message."""
        if not changes and not files:
            raise ValueError("no changes to commit")
        self.require(env, access.action_of(changes))
        admission = protection.guard(self.config, env)
        trailers = (admission.trailers if admission else ()) + tuple(trailers)
        result = self._run(env, self._commit, env, list(changes), author, based_on, message, None, trailers,
                           files or {})
        return self._admitted(env, admission, result)

    def _admitted(self, env: str, admission: protection.Admission | None, result: CommitResult) -> CommitResult:
        if admission is not None and admission.after is not None and result.created:
            admission.after(env, result.commit)
        return result

    def break_glass(self, env: str, reason: str) -> contextlib.AbstractContextManager[protection.Admission]:
        """`with store.break_glass(env, reason): store.commit(env, ...)`: admins only, writes to a protected
        environment inside the block; each commit carries `Break-glass: <reason>` and leaves an audit record
        (`gitstore.proposals.audit`)."""
        from gitstore.proposals.audit import break_glass

        return break_glass(self, env, reason)

    def run_on(self, env: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(repository, *args)` on the thread of the environment's repository (for the packages built on the
        store: gitstore.proposals)."""
        return self._run(env, fn, *args)

    def _commit(self, repo: pygit2.Repository, env: str, changes: list[Change], author: Author | None,
                based_on: str | None, message: str | None,
                restore: dict[str, pygit2.Oid | None] | None = None,
                trailers: tuple[tuple[str, str], ...] = (),
                files: dict[str, bytes | None] | None = None) -> CommitResult:
        """`restore` (path -> blob id, None = delete) writes those files as they are instead of applying changes;
        `trailers` end the message (`gitstore.proposals.protection.with_trailers`); `files`: see `commit`."""
        from gitstore.git import kept_indexes
        from gitstore.git.tree_edits import TreeEdits, check_served, check_unchanged, edit_tree
        from gitstore.model.changes import commit_message

        place = self._place(env)
        storage, directory = place.storage, place.env.directory
        tracker = self._tracker(place.storage_name, storage)
        ref = branch_ref(storage.branch)
        reached = remote.before_commit(repo, storage, tracker, self.cache) if storage.remote else False
        author = author or self._fallback_author(repo)
        base = commit_of(repo, based_on) if based_on else None
        locked = None
        for attempt in range(CAS_ATTEMPTS):
            tip_id = tip(repo, ref)
            if tip_id is None:
                raise NotFoundError(f"environment {env!r} has no branch {storage.branch!r}")
            current = commit_at(repo, tip_id)
            rebased = base is not None and base.id != tip_id
            if base is not None and rebased:
                check_unchanged(repo, base, current, directory, changes, self.cache)
                store_ops.check_files_unchanged(base, current, directory, files or {})
            try:
                if restore is not None:
                    edits, blobs = TreeEdits({}, {}, {}, set(), set()), dict(restore)
                else:
                    edits = edit_tree(repo, current, directory, changes, self.cache)
                    blobs = {path: write_blob(repo, data) if data is not None else None
                             for path, data in edits.files.items()}
                    blobs |= {store_ops.under(directory, path): write_blob(repo, data) if data is not None else None
                              for path, data in (files or {}).items()}
                tree = build_tree(repo, current.tree, blobs)
                if tree == current.tree_id:
                    return CommitResult(str(tip_id), rebased, created=False)
                for path in edits.clean:  # the files just written are known: the read-back parses none of them
                    data = edits.files[path]
                    if data is not None:
                        self.cache.put(str(blobs[path]), path, data, edits.texts[path], edits.documents[path],
                                       edits.digests.get(path))
                if restore is None:
                    check_served(repo, current.tree, tree, directory, changes, edits, self.cache)
                text = protection.with_trailers(message or commit_message(changes, edits.created), trailers)
                new = make_commit(repo, tree, [tip_id], author, text)
            except (OSError, pygit2.GitError) as exc:  # a full disk, permissions: say so, nothing is committed
                raise write_error(repo, exc, "write the commit") from None
            crash.point("object-written")
            changed: dict[str, tuple[pygit2.Oid | None, pygit2.Oid | None]] = {}
            for path, blob in blobs.items():
                old = blob_at(current.tree, path)
                changed[path] = (old.id if old else None, blob)
            try:
                publish(repo, ref, tip_id, new, f"flagdeck: {text.splitlines()[0]}", changed,
                        storage.stale_lock_after)
                break
            except ConflictError as exc:
                locked = exc.lock if isinstance(exc, RefLocked) else None
                time.sleep(random.uniform(0.001, 0.004) * (attempt + 1))
        else:
            if locked is not None:
                raise locked_error(repo, ref, locked, storage.stale_lock_after)
            raise ConflictError(f"{ref} kept moving; gave up after {CAS_ATTEMPTS} attempts", resource=ref)
        self._commits += 1
        kept_indexes.keep(repo.path, [(str(blobs[path]), path, edits.texts[path], edits.documents[path])
                                      for path in edits.clean if blobs.get(path) is not None])
        if self._commits % GC_EVERY == 0:
            gc_auto(storage.path)
        pushed = None
        if storage.remote:  # a remote that just failed is not waited for twice; a mirror never pushes
            pushed = reached and not self.mirror and remote.try_push(repo, storage, tracker, self.cache)
        final = tip(repo, ref)
        result = CommitResult(str(final if pushed else new), rebased, True, pushed)
        if self.on_commit is not None:
            self.on_commit(env, result.commit, text)
        return result

    # -- revert, restore, promote ----------------------------------------------------------------------------
    def revert(self, env: str, namespace: str, commit: str, flag: str | None = None,
               author: Author | None = None) -> CommitResult:
        """A new commit undoing what `commit` changed in the namespace (or only in one flag): see `gitstore.model.revert`.
        `NothingToRevert` or `ConflictError` say exactly why no commit was made."""
        return store_ops.revert(self, env, namespace, commit, flag, author)

    def restore(self, env: str, namespace: str, commit: str, flag: str | None = None,
                author: Author | None = None) -> CommitResult:
        """A new commit that puts the namespace (or one flag) back as it was at `commit`; `NothingToRevert` when it
        already is."""
        return store_ops.restore(self, env, namespace, commit, flag, author)

    def promote(self, src_env: str, dst_env: str, namespace: str, flag: str | None = None,
                author: Author | None = None) -> CommitResult:
        """Copy a namespace (or one flag and the segments it uses) from `src_env` to `dst_env` as one commit."""
        return store_ops.promote(self, src_env, dst_env, namespace, flag, author)

    # -- as a context manager (closing: gitstore.store_base) -----------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(config_path: str | Path | None = None, **kwargs: Any) -> Store:
    """Load the configuration (`gitstore.config.load_config`) and open a Store on it (keyword arguments go to
    `Store`: roles, identity, mirror)."""
    return Store(load_config(config_path), **kwargs)
