"""What the parts above need from a store, as Protocols: the evaluator only reads (`StoreReader`), the app reads and
writes (`StoreEditor`). `gitstore.store.Store` is the implementation (the type checker holds it to both, below);
the evaluator and the app are typed against these, never against `Store`'s internals.

Every method is synchronous and thread-safe and may block on Git (run it off an event loop with
`asyncio.to_thread`); `docs/contracts.md` says what each one guarantees.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gitstore.config import Config
from gitstore.events.model import ChangeSet
from gitstore.git.snapshot import Snapshot
from gitstore.git.watch import BranchMoved, EnvironmentsChanged
from gitstore.model.changes import Change
from gitstore.proposals.protection import Admission
from gitstore.results import Author, BranchInfo, CommitResult, EnvironmentInfo, HistoryEntry, SyncState

__all__ = ["BranchMoved", "StoreEditor", "StoreReader"]


class StoreReader(Protocol):
    """What the evaluator serves from: the environments, a snapshot of each, the state of their remotes, a call
    when a branch moves (`watch` returns the function that stops the calls) and when a branch environment appears
    or disappears (`watch_environments`), and an environment's branch environments (`branches`)."""

    def environments(self) -> list[EnvironmentInfo]: ...

    def snapshot(self, env: str, commit: str | None = None) -> Snapshot: ...

    def sync_state(self, env: str) -> SyncState: ...

    def watch(self, callback: BranchMoved) -> Callable[[], None]: ...

    def watch_environments(self, callback: EnvironmentsChanged) -> Callable[[], None]: ...

    def branches(self, env: str) -> list[BranchInfo]: ...

    def head(self, env: str) -> str | None: ...

    def pending_changes(self, env: str, since: str, limit: int = 20) -> tuple[str, list[ChangeSet]]: ...


class StoreEditor(StoreReader, Protocol):
    """What the console and the commands work through: the configuration, history, and every kind of commit (each
    checked against the store's roles; `ConflictError`, `ValidationError`, `AccessDenied` say why nothing was
    committed)."""

    @property
    def config(self) -> Config: ...

    def history(self, env: str, namespace: str, flag: str | None = None, limit: int = 100,
                diffs: bool = True) -> list[HistoryEntry]: ...

    def changes(self, env: str, limit: int = 100, since: str | None = None, after: datetime | None = None,
                namespace: str | None = None, flag: str | None = None) -> list[ChangeSet]: ...

    def change_set(self, env: str, commit: str) -> ChangeSet: ...

    def require(self, env: str, action: str, what: str | None = None) -> None: ...

    def commit(self, env: str, changes: list[Change], author: Author | None = None, based_on: str | None = None,
               message: str | None = None) -> CommitResult: ...

    def revert(self, env: str, namespace: str, commit: str, flag: str | None = None,
               author: Author | None = None) -> CommitResult: ...

    def restore(self, env: str, namespace: str, commit: str, flag: str | None = None,
                author: Author | None = None) -> CommitResult: ...

    def promote(self, src_env: str, dst_env: str, namespace: str, flag: str | None = None,
                author: Author | None = None) -> CommitResult: ...

    def fetch(self, env: str) -> None: ...

    def push(self, env: str) -> None: ...

    def branch(self, env: str, name: str, author: Author | None = None) -> EnvironmentInfo: ...

    def delete_branch(self, env: str, name: str) -> None: ...

    def break_glass(self, env: str, reason: str) -> AbstractContextManager[Admission]: ...

    def close(self) -> None: ...


if TYPE_CHECKING:  # the type checker holds Store to both interfaces
    from gitstore.store import Store

    def _reader(store: Store) -> StoreReader:
        return store

    def _editor(store: Store) -> StoreEditor:
        return store
