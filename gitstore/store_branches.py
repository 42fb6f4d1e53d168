"""The Store's branch environments (`gitstore.branches`): creating one from an environment's tip, listing an
environment's with where each stands, deleting one (on the remote first)."""

from __future__ import annotations

import pygit2

from gitstore import branches as branching
from gitstore import roles as access
from gitstore.config import StorageConfig
from gitstore.errors import NotFoundError, SyncError
from gitstore.git import remote
from gitstore.results import Author, BranchInfo, EnvironmentInfo
from gitstore.store_base import StoreBase


class BranchEnvironments(StoreBase):
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
