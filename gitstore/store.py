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
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pygit2

from gitstore import branches as branching
from gitstore import roles as access
from gitstore import store_ops
from gitstore.config import Config, StorageConfig, load_config
from gitstore.errors import ConflictError, NotFoundError, SyncError
from gitstore.git import crash, remote, worktree
from gitstore.git.objects import commit_at
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import (
    GitRepo,
    RefLocked,
    blob_at,
    build_tree,
    commit_of,
    ensure_branch,
    gc_auto,
    locked_error,
    make_commit,
    publish,
    write_blob,
    write_error,
)
from gitstore.git.snapshot import NamespaceSnapshot, ParseCache, Snapshot, build_snapshot
from gitstore.proposals import protection
from gitstore.results import (
    FALLBACK_EMAIL,
    FALLBACK_NAME,
    Author,
    BranchInfo,
    CommitResult,
    EnvironmentInfo,
    HistoryEntry,
    SyncState,
)

if TYPE_CHECKING:  # imported where they are used: `flagdeck validate` or `eval` reads, and never pays for them
    from datetime import datetime

    from gitstore.events.model import ChangeSet
    from gitstore.git.watch import BranchMoved, EnvironmentsChanged, Watcher
    from gitstore.model.changes import Change

__all__ = ["Author", "BranchInfo", "CommitResult", "EnvironmentInfo", "HistoryEntry", "NamespaceSnapshot", "Snapshot", "Store",
           "SyncState", "open_store"]

CAS_ATTEMPTS = 20
SNAPSHOTS_KEPT = 64
T = TypeVar("T")
GC_EVERY = 100  # commits made by this process between two `git gc --auto` runs


class Store:
    def __init__(self, config: Config, roles: dict[str, str] | None = None, identity: Author | None = None,
                 mirror: bool = False):
        """`mirror` (what `flagdeck serve` opens): follow each remote, never push to it (commits made through this
        store stay local until a writer pushes them)."""
        self.config = config
        self.roles = access.check_roles(roles)
        self.identity = identity
        self.mirror = mirror
        self.cache = ParseCache()
        self._repos = {name: GitRepo(name, storage.path) for name, storage in config.storage.items()}
        self._sync = {name: remote.SyncTracker(storage) for name, storage in config.storage.items()}
        self._branch_sync: dict[tuple[str, str], remote.SyncTracker] = {}
        self._known: dict[str, branching.Found] = {}  # branch environments by key (gitstore.branches)
        self._snapshots: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._latest: dict[str, Snapshot] = {}
        self._lock = threading.Lock()
        self._watcher: Watcher | None = None
        self._commits = 0
        # called as on_commit(env, commit id, message) on the repository's thread after each commit this Store
        # object makes (the SSH server learns its consoles' commits this way); must be quick and must not raise
        self.on_commit: Callable[[str, str, str], None] | None = None
        for name in config.storage:
            self._repos[name].run(self._open, name)
        self._discover()

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _open(self, repo: pygit2.Repository, storage_name: str) -> None:
        storage = self.config.storage[storage_name]
        ref = branch_ref(storage.branch)
        if repo.is_bare and repo.head_is_unborn:
            repo.set_head(ref)
        worktree.recover(repo)  # a work-tree update interrupted by a crash: finish it
        tracker = self._sync[storage_name]
        reached = storage.remote is not None and remote.before_commit(repo, storage, tracker, self.cache,
                                                                      self._extra(storage_name))
        if tip(repo, ref) is None:
            ensure_branch(repo, storage.branch, self._fallback_author(repo))
            if reached and not self.mirror:
                remote.try_push(repo, storage, tracker, self.cache)

    def _run(self, env: str, fn: Callable[..., T], *args: Any) -> T:
        return self._repos[self._place(env).storage_name].run(fn, *args)

    def _place(self, env: str) -> branching.Place:
        """Where a configured environment or a branch environment (NAME or ENV/NAME) is; ConfigError if neither."""
        place = branching.resolve(self.config, self._known, env)
        if place is None:
            self._discover()
            place = branching.resolve(self.config, self._known, env)
        if place is None:
            raise branching.unknown(self.config, self._known, env)
        return place

    def _discover(self) -> dict[str, branching.Found]:
        """Look the branch environments up in the refs (each repository on its own thread)."""
        self._known = branching.discover(self.config, lambda name, fn: self._repos[name].run(fn))
        return self._known

    def _tracker(self, storage_name: str, storage: StorageConfig) -> remote.SyncTracker:
        if storage.branch == self.config.storage[storage_name].branch:
            return self._sync[storage_name]
        with self._lock:
            return self._branch_sync.setdefault((storage_name, storage.branch), remote.SyncTracker(storage))

    def _extra(self, storage_name: str) -> branching.BranchSync | None:
        """The storage's branch environments, synced with its remote alongside its branch."""
        storage = self.config.storage[storage_name]
        if storage.remote is None:
            return None
        envs = tuple(name for name, env in self.config.environments.items() if env.storage == storage_name)
        return branching.BranchSync(storage, envs, lambda s: self._tracker(storage_name, s), self.cache)

    def _fallback_author(self, repo: pygit2.Repository) -> Author:
        if self.identity is not None:
            return self.identity
        if self.config.identity is not None:
            return Author(self.config.identity.name, self.config.identity.email)
        try:
            sig = repo.default_signature
            return Author(sig.name, sig.email)
        except (KeyError, pygit2.GitError, ValueError):
            return Author(FALLBACK_NAME, FALLBACK_EMAIL)

    def require(self, env: str, action: access.Action | str, what: str | None = None) -> None:
        """`AccessDenied` unless the store's roles allow `action` in `env` (see `gitstore.roles`)."""
        who = self.identity.name if self.identity else "this user"
        found = None if env in self.config.environments else (
            branching.lookup(self.config, self._known, env) or branching.lookup(self.config, self._discover(), env))
        access.require(self.roles, found.env if found else env, action, who, what)  # a branch: its base's role

    async def call(self, fn: str | Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store method (by name) or any callable off the event loop; the Git work stays on its thread."""
        import asyncio

        target = getattr(self, fn) if isinstance(fn, str) else fn
        return await asyncio.to_thread(target, *args, **kwargs)

    # -- reading -------------------------------------------------------------------------------------------------
    def environments(self) -> list[EnvironmentInfo]:
        """The configured environments, then every branch environment (local or fetched) with its base."""
        places = [branching.resolve(self.config, {}, name) for name in self.config.environments]
        known = self._discover()
        places += [branching.resolve(self.config, known, key) for key in known]
        return [EnvironmentInfo(p.key, p.storage_name, p.storage.path, p.storage.branch, p.env.directory,
                                p.storage.remote, p.env.default and p.base is None, p.base)
                for p in places if p is not None]

    def head(self, env: str) -> str | None:
        place = self._place(env)
        found = self._run(env, branching.head_of, place.storage.branch)
        return str(found) if found is not None else None

    def snapshot(self, env: str, commit: str | None = None) -> Snapshot:
        self.require(env, access.Action.READ)
        place = self._place(env)
        return self._run(env, self._snapshot, place, commit)

    def _snapshot(self, repo: pygit2.Repository, place: branching.Place, commit: str | None) -> Snapshot:
        env = place.key
        if commit is None:
            found = branching.head_of(repo, place.storage.branch)
            if found is None:
                gone = f"branch environment {env!r} no longer exists" if place.base else \
                    f"environment {env!r} has no commits"
                raise NotFoundError(gone)
            target = commit_at(repo, found)
        else:
            target = commit_of(repo, commit)
        key = (env, str(target.id))
        with self._lock:
            cached = self._snapshots.get(key)
            if cached is not None:
                self._snapshots.move_to_end(key)
                return cached
        snap = build_snapshot(repo, env, target, place.env.directory, self.cache, self._latest.get(env))
        with self._lock:
            self._snapshots[key] = snap
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                self._snapshots.popitem(last=False)
            if commit is None:
                self._latest[env] = snap
        return snap

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

    # -- branch environments (gitstore.branches) ----------------------------------------------------------------
    def branch(self, env: str, name: str, author: Author | None = None) -> EnvironmentInfo:
        """Create branch environment `name` of `env` from its tip (pushed when there is a remote, unless this is a
        mirror); `BranchNameError`, `ConflictError` (a taken key, a branch of a branch) or `ConfigError` say why
        not."""
        self.require(env, access.Action.COMMIT, "creating a branch")
        name = branching.check_new(self.config, self._discover(), env, name)
        place = self._place(env)
        found = branching.Found(env, name, place.storage_name)
        storage = branching.storage_of(place.storage, found)
        who = author or self.identity
        self._run(env, self._create_branch, place, storage, f"branch {env} as {name}" + (f" by {who}" if who else ""))
        self._discover()
        return next(info for info in self.environments() if info.base == env and info.branch == found.branch)

    def _create_branch(self, repo: pygit2.Repository, place: branching.Place, storage: StorageConfig,
                       why: str) -> None:
        tracker = self._tracker(place.storage_name, place.storage)
        reached = storage.remote is not None and remote.before_commit(
            repo, place.storage, tracker, self.cache, self._extra(place.storage_name))
        branching.create(repo, place.storage, storage.branch, why)
        if reached and not self.mirror:
            remote.try_push(repo, storage, self._tracker(place.storage_name, storage), self.cache)

    def branches(self, env: str) -> list[BranchInfo]:
        """`env`'s branch environments with where each stands against `env`'s tip (a branch has none)."""
        self.require(env, access.Action.READ)
        place = self._place(env)
        if place.base is not None:
            return []
        known = self._discover()

        def work(repo: pygit2.Repository) -> list[BranchInfo]:
            found = [branching.info(repo, key, f, place.storage) for key, f in known.items() if f.env == env]
            return [f for f in found if f is not None]

        return self._run(env, work)

    def delete_branch(self, env: str, name: str) -> None:
        """Delete branch environment `name` of `env`: on the remote first (a mirror cannot: `SyncError`), then
        here."""
        self.require(env, access.Action.COMMIT, "deleting a branch")
        found = branching.lookup(self.config, self._discover(), f"{env}/{name}")
        if found is None or env not in self.config.environments:
            raise NotFoundError(f"environment {env!r} has no branch {name!r}")
        place = self._place(env)
        storage = branching.storage_of(place.storage, found)
        if storage.remote and self.mirror:
            raise SyncError(f"this store mirrors {storage.remote} and never pushes to it: delete the branch there")
        self._run(env, branching.delete, storage, True)
        with self._lock:
            self._branch_sync.pop((place.storage_name, storage.branch), None)
        self._discover()

    # -- history, revert, promote ----------------------------------------------------------------------------
    def history(self, env: str, namespace: str, flag: str | None = None, limit: int = 100,
                diffs: bool = True) -> list[HistoryEntry]:
        """`diffs=False`: entries without their diff (`diff` is ""), for who changed what and when."""
        self.require(env, access.Action.READ, "reading history")
        place = self._place(env)
        from gitstore.git import history

        return self._run(env, history.history, branch_ref(place.storage.branch), place.env.directory, namespace,
                         flag, limit, diffs, self.cache)

    def changes(self, env: str, limit: int = 100, since: str | None = None, after: datetime | None = None,
                namespace: str | None = None, flag: str | None = None) -> list[ChangeSet]:
        """What each commit of the environment's first-parent line changed, resource by resource, before and after
        (`gitstore.events`): newest first, after commit `since` or authored at or after `after`, only `namespace`'s
        (and its `flag`'s) changes."""
        self.require(env, access.Action.READ, "reading history")
        place = self._place(env)
        from gitstore.events import walk

        ref, directory = branch_ref(place.storage.branch), place.env.directory
        return self._run(env, walk.recent, env, ref, directory, self.cache, limit, since, after, namespace, flag)

    def change_set(self, env: str, commit: str) -> ChangeSet:
        """What one commit (any revision) changed in the environment, against its first parent."""
        self.require(env, access.Action.READ, "reading history")
        place = self._place(env)
        from gitstore.events import walk

        return self._run(env, walk.one, env, commit, place.env.directory, self.cache)

    def pending_changes(self, env: str, since: str, limit: int = 20) -> tuple[str, list[ChangeSet]]:
        """(the branch tip, the change sets of the first `limit` commits after `since`, oldest first): what a
        change-event delivery sends next (`gitstore.events.walk.pending`)."""
        self.require(env, access.Action.READ, "reading history")
        place = self._place(env)
        from gitstore.events import walk

        ref = branch_ref(place.storage.branch)
        return self._run(env, walk.pending, env, ref, place.env.directory, self.cache, since, limit)

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

    # -- remotes and watching ------------------------------------------------------------------------------------
    def sync_state(self, env: str) -> SyncState:
        place = self._place(env)
        base = self.config.storage[place.storage_name].branch if place.base else None  # a branch: its base's too
        return self._run(env, self._tracker(place.storage_name, place.storage).state, branch_ref(place.storage.branch),
                         base)

    def fetch(self, env: str) -> None:
        """Fetch the environment's remote and bring the branch in step with it (following a rewrite, replaying
        local commits it never had); a configured environment's branch environments come along."""
        self._sync_now(env, False)

    def push(self, env: str) -> None:
        """Fetch, then push the local commits the remote never had (SyncError on a mirror, which never pushes)."""
        if self._place(env).storage.remote and self.mirror:
            raise SyncError(f"this store mirrors {self._place(env).storage.remote} and never pushes to it")
        self._sync_now(env, True)

    def _sync_now(self, env: str, push: bool) -> None:
        place = self._place(env)
        if place.storage.remote:
            extra = self._extra(place.storage_name) if place.base is None else None
            self._run(env, remote.sync, place.storage, self._tracker(place.storage_name, place.storage), self.cache,
                      push, True, extra)
            if extra is not None:
                self._discover()

    def watch(self, callback: BranchMoved) -> Callable[[], None]:
        """Call `callback(env, commit)` from a watcher thread whenever an environment's branch moves; returns the
        function that stops these calls."""
        return self._watching().subscribe(callback)

    def watch_environments(self, callback: EnvironmentsChanged) -> Callable[[], None]:
        """Call `callback(keys)` from the watcher thread whenever a branch environment appears or disappears (a
        branch created, fetched or deleted, here or by anyone): `keys` are every branch environment's, sorted."""
        return self._watching().subscribe_environments(callback)

    def _watching(self) -> Watcher:
        from gitstore.git.watch import Watcher

        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(self.config, self._sync_in_background, self._discover_polled)
            return self._watcher

    def _discover_polled(self, handle: Callable[[str], pygit2.Repository]) -> dict[str, tuple[str, str]]:
        """The watcher's look for branch environments, with its own handles (it keeps the store's list current)."""
        self._known = branching.discover(self.config, lambda name, fn: fn(handle(name)))
        return {key: (f.storage, f.ref) for key, f in self._known.items()}

    def _sync_in_background(self, repo: pygit2.Repository, storage_name: str) -> bool:
        """The watcher's periodic sync of one storage, on the watcher's own handle `repo` (see `Watcher`)."""
        storage = self.config.storage[storage_name]
        return remote.try_sync(repo, storage, self._sync[storage_name], self.cache, not self.mirror,
                               extra=self._extra(storage_name))

    def close(self) -> None:
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        for repo in self._repos.values():
            repo.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(config_path: str | Path | None = None, **kwargs: Any) -> Store:
    """Load the configuration (`gitstore.config.load_config`) and open a Store on it (keyword arguments go to
    `Store`: roles, identity, mirror)."""
    return Store(load_config(config_path), **kwargs)
