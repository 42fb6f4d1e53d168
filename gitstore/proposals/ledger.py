"""The proposals branch `flagdeck/proposals` of a repository: proposal records (`<id>.yaml`) and break-glass audit
records (`audit/<time>-<commit>.yaml`). Flipt never reads this branch, and the environments' histories carry no
review noise.

Each change is one compare-and-swap commit on the branch, made on the repository's own thread with the store's
rules: with a remote, fetch and integrate first (`gitstore.git.remote`, the branch treated as a storage branch of
its own), commit, then push what the remote never had. A change whose push collides with a change the remote got
meanwhile (two people approving one proposal at the same moment, two proposals taking the same number) is made
again on the remote's tip, so each record is written from the latest state and ids stay unique. An unreachable
remote leaves the commit local (`SyncState.ahead` of `Ledger.sync_state` counts it): the next change, listing or
`Ledger.sync` pushes it. The branch starts with a root commit holding a README, so that two clones starting it
offline replay their records onto each other's (a local root is never replayed).
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pygit2
from pygit2.enums import ObjectType

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError
from gitstore.git import remote
from gitstore.git.objects import blob_bytes, commit_at, tree_at
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.results import Author, SyncState

if TYPE_CHECKING:
    from gitstore.store import Store

RECORDS_BRANCH = "flagdeck/proposals"
README = (b"# Flagdeck proposals\n\nOne YAML file per change proposal (`P-<n>.yaml`) and break-glass audit records "
          b"(`audit/`), written by Flagdeck. Flipt never reads this branch.\n")
ATTEMPTS = 20
T = TypeVar("T")
Files = dict[str, bytes]
"""path -> bytes of every file on the branch (the README aside)."""
Edit = Callable[[Files], tuple[dict[str, bytes | None], str, T]]
"""Given the files at the tip: (path -> new bytes or None to delete, commit message, result)."""


class Ledger:
    """The proposals branch of each storage of a store."""

    def __init__(self, store: Store):
        self.store = store
        self._trackers: dict[str, remote.SyncTracker] = {}
        self._lock = threading.Lock()

    def storage(self, env: str) -> tuple[str, StorageConfig]:
        """(storage name, the storage as seen for the proposals branch) of a configured environment."""
        name = self.store.config.environment(env).storage
        return name, self.store.config.storage[name].model_copy(update={"branch": RECORDS_BRANCH})

    def _tracker(self, env: str) -> tuple[StorageConfig, remote.SyncTracker]:
        name, storage = self.storage(env)
        with self._lock:
            tracker = self._trackers.get(name)
            if tracker is None:
                tracker = self._trackers[name] = remote.SyncTracker(storage)
        return storage, tracker

    # -- reading -------------------------------------------------------------------------------------------------
    def files(self, env: str, fetch: bool = True) -> Files:
        """Every record file at the branch tip; with `fetch`, after bringing the branch in step with the remote
        (and pushing records made while it was down), unless the remote timed out within its poll interval."""
        storage, tracker = self._tracker(env)
        return self.store.run_on(env, self._files, storage, tracker, fetch)

    def _files(self, repo: pygit2.Repository, storage: StorageConfig, tracker: remote.SyncTracker,
               fetch: bool) -> Files:
        if fetch and storage.remote and not tracker.waiting():
            remote.try_sync(repo, storage, tracker, self.store.cache, not self.store.mirror, wait=True)
        return read_files(repo, tip(repo, branch_ref(RECORDS_BRANCH)))

    def sync_state(self, env: str) -> SyncState:
        storage, tracker = self._tracker(env)
        return self.store.run_on(env, tracker.state, branch_ref(RECORDS_BRANCH))

    def sync(self, env: str) -> SyncState:
        """Fetch, integrate and push the proposals branch now; its state after."""
        self.files(env)
        return self.sync_state(env)

    # -- writing -------------------------------------------------------------------------------------------------
    def change(self, env: str, edit: Edit[T], author: Author | None = None) -> tuple[T, bool | None]:
        """One commit on the proposals branch made by `edit` from the files at its tip; (edit's result, pushed:
        None without a remote, False when the commit waits to be pushed)."""
        storage, tracker = self._tracker(env)
        return self.store.run_on(env, self._change, storage, tracker, edit, author)

    def _change(self, repo: pygit2.Repository, storage: StorageConfig, tracker: remote.SyncTracker,
                edit: Edit[T], author: Author | None) -> tuple[T, bool | None]:
        ref = branch_ref(RECORDS_BRANCH)
        author = author or self.store._fallback_author(repo)
        for attempt in range(ATTEMPTS):
            reached = remote.before_commit(repo, storage, tracker, self.store.cache) if storage.remote else False
            current = tip(repo, ref)
            if current is None:
                root = build_tree(repo, None, {"README.md": README})
                start = make_commit(repo, root, [], author, "start the proposals branch")
                try:
                    cas_ref(repo, ref, None, start, "flagdeck: start the proposals branch")
                except ConflictError:
                    pass  # another writer started it
                continue
            edits, message, result = edit(read_files(repo, current))
            parent = commit_at(repo, current)
            new = make_commit(repo, build_tree(repo, parent.tree, edits), [current], author, message)
            try:
                cas_ref(repo, ref, current, new, f"flagdeck: {message.splitlines()[0]}")
            except ConflictError:
                time.sleep(random.uniform(0.001, 0.004) * (attempt + 1))
                continue
            if not storage.remote:
                return result, None
            try:
                return result, reached and not self.store.mirror and remote.try_push(
                    repo, storage, tracker, self.store.cache)
            except ConflictError:
                continue  # the remote changed the same record meanwhile: ours was parked; make it again
        raise ConflictError(f"{RECORDS_BRANCH} kept moving; gave up after {ATTEMPTS} attempts", resource=ref)


_LEDGERS: weakref.WeakKeyDictionary[Store, Ledger] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def ledger_of(store: Store) -> Ledger:
    """The store's one Ledger (its sync trackers are the store's view of each proposals branch)."""
    with _LEDGERS_LOCK:
        found = _LEDGERS.get(store)
        if found is None:
            found = _LEDGERS[store] = Ledger(store)
        return found


def read_files(repo: pygit2.Repository, commit: pygit2.Oid | None) -> Files:
    if commit is None:
        return {}
    found: Files = {}

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            path = f"{prefix}{entry.name}"
            if entry.type == ObjectType.TREE:
                walk(tree_at(repo, entry.id), f"{path}/")
            elif path.endswith(".yaml"):
                found[path] = blob_bytes(repo, entry.id)

    walk(commit_at(repo, commit).tree, "")
    return found
