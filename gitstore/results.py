"""Plain values the Store hands out (re-exported by `gitstore.store`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FALLBACK_NAME = "flipt"
FALLBACK_EMAIL = "flipt[bot]@noreply.flipt.io"


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class EnvironmentInfo:
    name: str
    storage: str
    path: Path
    branch: str
    directory: str
    remote: str | None
    default: bool
    base: str | None = None  # a branch environment's base environment (gitstore.branches), else None


@dataclass(frozen=True)
class BranchInfo:
    """A branch environment as Flipt's API lists it (key, ref, environmentKey), with where it stands against its
    base's tip: `ahead` commits the base does not have, `behind` commits of the base it does not have;
    `merge_base` is the base's commit the branch's changes are made on (`merge_base(tip, base tip)`)."""

    key: str
    ref: str  # the Git branch, `flipt/ENV/NAME`
    environment_key: str
    head: str
    ahead: int
    behind: int
    merge_base: str | None = None


@dataclass(frozen=True)
class CommitResult:
    """`commit` is the new tip (or the unchanged tip when the change was a no-op: `created` is then False);
    `rebased` is True when the branch had moved past `based_on` and the change was applied on the newer tip."""

    commit: str
    rebased: bool = False
    created: bool = True
    pushed: bool | None = None  # None without a remote; False when the push has to wait (see sync_state)


@dataclass(frozen=True)
class HistoryEntry:
    commit: str
    author_name: str
    author_email: str
    time: datetime
    message: str
    diff: str


@dataclass(frozen=True)
class SyncState:
    remote: str | None
    ahead: int = 0
    behind: int = 0
    reachable: bool | None = None  # None until the first fetch or push
    last_error: str | None = None
    last_fetch: datetime | None = None
    last_rewrite: str | None = None  # when the remote's history was last rewritten, and what that did here
