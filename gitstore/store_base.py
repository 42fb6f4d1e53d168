"""The Store's groundwork, which every part of it stands on: one `GitRepo` (and its thread) per storage, where each
environment is (a configured one or a branch environment, `gitstore.branches`), the sync tracker of each branch, the
fallback author, the role check, and closing. `gitstore.store.Store` adds reading, writing, branch environments and
remotes to it (`gitstore.store_reading`, `gitstore.store`, `gitstore.store_branches`, `gitstore.store_sync`)."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pygit2

from gitstore import branches as branching
from gitstore import roles as access
from gitstore.config import Config, StorageConfig
from gitstore.git import remote, worktree
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import GitRepo, ensure_branch
from gitstore.git.snapshot import ParseCache, Snapshot
from gitstore.results import FALLBACK_EMAIL, FALLBACK_NAME, Author, EnvironmentInfo

if TYPE_CHECKING:  # imported where it is used: `flagdeck validate` or `eval` reads, and never pays for it
    from gitstore.git.watch import Watcher

T = TypeVar("T")


class StoreBase:
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

    # -- environments and closing ---------------------------------------------------------------------------
    def environments(self) -> list[EnvironmentInfo]:
        """The configured environments, then every branch environment (local or fetched) with its base."""
        places = [branching.resolve(self.config, {}, name) for name in self.config.environments]
        known = self._discover()
        places += [branching.resolve(self.config, known, key) for key in known]
        return [EnvironmentInfo(p.key, p.storage_name, p.storage.path, p.storage.branch, p.env.directory,
                                p.storage.remote, p.env.default and p.base is None, p.base)
                for p in places if p is not None]

    def close(self) -> None:
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        for repo in self._repos.values():
            repo.close()
        kept = sys.modules.get("gitstore.git.kept_indexes")  # imported by a commit (not here: a read needs none)
        if kept is not None:
            kept.flush()  # the indexes of the files this process wrote, kept for the next one

