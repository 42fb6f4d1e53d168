"""The Store's remotes and watching: where each branch stands against its remote, fetching and pushing on demand
(`gitstore.git.remote`), and the watcher thread (`gitstore.git.watch`) that follows every branch, syncs in the
background and reports branches moved and branch environments appearing or disappearing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygit2

from gitstore import branches as branching
from gitstore.errors import SyncError
from gitstore.git import remote
from gitstore.git.refs import branch_ref
from gitstore.results import SyncState
from gitstore.store_base import StoreBase

if TYPE_CHECKING:  # imported where it is used: `flagdeck validate` or `eval` reads, and never pays for it
    from gitstore.git.watch import BranchMoved, EnvironmentsChanged, Watcher


class Syncing(StoreBase):
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
