"""The Store's reading: an environment's head, its snapshot at the tip or any commit (kept, the newest
`SNAPSHOTS_KEPT`), and its history (per namespace and flag, or change set by change set, `gitstore.events`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygit2

from gitstore import branches as branching
from gitstore import roles as access
from gitstore.errors import NotFoundError
from gitstore.git.objects import commit_at
from gitstore.git.refs import branch_ref
from gitstore.git.repo import commit_of
from gitstore.git.snapshot import Snapshot, build_snapshot
from gitstore.results import HistoryEntry
from gitstore.store_base import StoreBase

if TYPE_CHECKING:  # imported where they are used: `flagdeck validate` or `eval` reads, and never pays for them
    from datetime import datetime

    from gitstore.events.model import ChangeSet

SNAPSHOTS_KEPT = 64


class Reading(StoreBase):
    # -- reading -------------------------------------------------------------------------------------------------
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

    # -- history ---------------------------------------------------------------------------------------------
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
