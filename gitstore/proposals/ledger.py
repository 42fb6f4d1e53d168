"""The proposals branch `flagdeck/proposals` of a repository: proposal records (`<id>.yaml`) and break-glass audit
records (`audit/<time>-<commit>.yaml`). Flipt never reads this branch, and the environments' histories carry no
review noise.

Each change is one compare-and-swap commit on the branch, made on the repository's own thread with the store's
rules: with a remote, fetch and integrate first (`gitstore.git.remote`, the branch treated as a storage branch of
its own), commit, then push what the remote never had. A change whose push collides with a change the remote got
meanwhile (two people approving one proposal at the same moment, two proposals taking the same number) is made
again on the remote's tip, so each record is written from the latest state and ids stay unique. An unreachable
remote leaves the commit local (`SyncState.ahead` of `Ledger.sync_state` counts it): the next change, listing or
`Ledger.sync` pushes it. When it collides with the remote's version of a record then (a comment written offline,
an approval given meanwhile in another clone), the sync parks it (`gitstore.git.remote`) and `_reconcile` makes it
again record by record (`records.merge`: both sides' approvals and comments; a proposal numbered alike on both
sides is renumbered here, the next free number), so no record change is lost. The branch starts with a root
commit holding a README, so that two clones starting it offline replay their records onto each other's (a local
root is never replayed).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pygit2
from pygit2.enums import ObjectType, SortMode

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError
from gitstore.git import remote
from gitstore.git.objects import blob_bytes, commit_at, tree_at
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import blob_at, build_tree, cas_ref, make_commit
from gitstore.proposals.records import Proposal, dump, load, merge, number
from gitstore.results import Author, SyncState

if TYPE_CHECKING:
    from gitstore.store import Store

RECORDS_BRANCH = "flagdeck/proposals"
README = (b"# Flagdeck proposals\n\nOne YAML file per change proposal (`P-<n>.yaml`) and break-glass audit records "
          b"(`audit/`), written by Flagdeck. Flipt never reads this branch.\n")
PARKED = f"refs/flagdeck/conflicts/{RECORDS_BRANCH}/"
ATTEMPTS = 20
log = logging.getLogger(__name__)
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
            if _reconcile(repo, None) and not self.store.mirror:
                remote.try_sync(repo, storage, tracker, self.store.cache, True, wait=True)
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
            _reconcile(repo, None)
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
            except ConflictError:  # the remote changed the same record meanwhile: ours was parked; make it again
                _reconcile(repo, new)  # (and any older change parked with it)
                continue
        raise ConflictError(f"{RECORDS_BRANCH} kept moving; gave up after {ATTEMPTS} attempts", resource=ref)


def _reconcile(repo: pygit2.Repository, skip: pygit2.Oid | None) -> bool:
    """Make the record changes a sync parked (under `refs/flagdeck/conflicts/flagdeck/proposals/`) again on the
    branch's tip, merged record by record, except commit `skip` (a change about to be made again anyway); True when
    a commit was made. A parked ref goes once its changes are on the branch."""
    ref = branch_ref(RECORDS_BRANCH)
    made = False
    for name in sorted(r for r in repo.listall_references() if r.startswith(PARKED)):
        parked, current = tip(repo, name), tip(repo, ref)
        if parked is None or current is None:
            continue
        walker = repo.walk(parked, SortMode.TOPOLOGICAL | SortMode.REVERSE)
        walker.hide(current)
        view: dict[str, bytes | None] = dict(read_files(repo, current))
        edits: dict[str, bytes | None] = {}
        subjects = []
        for commit in walker:
            if not commit.parents or commit.id == skip:
                continue  # a root starting the branch offline: the remote's start stands
            parent = commit.parents[0]
            for delta in parent.tree.diff_to_tree(commit.tree).deltas:
                path = delta.new_file.path or delta.old_file.path
                before, after = _bytes(repo, parent.tree, path), _bytes(repo, commit.tree, path)
                for target, data in _merged(path, before, after, view).items():
                    view[target] = edits[target] = data
            subjects.append(commit.message.splitlines()[0] if commit.message else str(commit.id)[:8])
        if edits:
            message = "record changes made again after colliding with the remote's\n\n" + "\n".join(subjects)
            tree = build_tree(repo, commit_at(repo, current).tree, edits)
            new = make_commit(repo, tree, [current], Author("flagdeck", "flagdeck@localhost"), message)
            try:
                cas_ref(repo, ref, current, new, "flagdeck: record changes made again")
            except ConflictError:
                continue  # the branch moved here meanwhile: next time
            made = True
        repo.references.delete(name)
    return made


def _bytes(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    entry = blob_at(tree, path)
    return blob_bytes(repo, entry.id) if entry is not None else None


def _merged(path: str, before: bytes | None, after: bytes | None, view: dict[str, bytes | None]
            ) -> dict[str, bytes | None]:
    """The edits that put one parked file change (`before` -> `after`) on the files `view` holds now."""
    now = view.get(path)
    if now == before:
        return {path: after}
    if now == after:
        return {}
    name = path.removesuffix(".yaml")
    if "/" not in path and number(name) and after is not None and now is not None:
        theirs, ours = load(Proposal, path, now)[0], load(Proposal, path, after)[0]
        base = load(Proposal, path, before)[0] if before is not None else None
        if isinstance(theirs, Proposal) and isinstance(ours, Proposal):
            if before is None:  # both sides numbered a new proposal alike: ours takes the next free number
                free = f"P-{max(number(p.removesuffix('.yaml')) for p in view if view[p] is not None) + 1}"
                log.warning("proposal %s was also created on the remote: the one made here is now %s", name, free)
                return {f"{free}.yaml": dump(ours.model_copy(update={"id": free}))}
            return {path: dump(merge(base if isinstance(base, Proposal) else None, ours, theirs))}
    log.warning("%s changed here and on the remote: the remote's version is kept", path)
    return {}


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
