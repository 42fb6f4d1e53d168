"""Which flags are young: those that appeared in an environment less than N days ago, read off Git history (the
flags of each namespace as of N days ago: what is not among them now appeared since). A young flag has not had N
days of evaluations, so the stale rules (`app/insight/stale.py`) do not judge it by its counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from gitstore.git.snapshot import Snapshot

Existing = dict[str, frozenset[str]]  # namespace -> the flag keys it held


class GitReader(Protocol):
    """What is read of the Store (`gitstore.store.Store`)."""

    def head(self, env: str) -> str | None: ...

    def snapshot(self, env: str, commit: str | None = None) -> Snapshot: ...

    def run_on(self, env: str, fn: Any, *args: Any) -> Any: ...


def _commit_as_of(repo: Any, head: str, cutoff: float) -> str | None:
    """The tip of the branch at `cutoff` (POSIX seconds): the first commit on its first-parent line committed at or
    before then; None when the branch did not exist yet."""
    commit = repo[head]
    while commit.commit_time > cutoff:
        if not commit.parents:
            return None
        commit = commit.parents[0]
    return str(commit.id)


def flags_as_of(store: GitReader, env: str, when: datetime) -> Existing:
    """The flags of every namespace of the environment as its branch held them at `when` (blocks: Git)."""
    head = store.head(env)
    if head is None:
        return {}
    commit = store.run_on(env, _commit_as_of, head, when.timestamp())
    if commit is None:
        return {}
    snapshot = store.snapshot(env, commit)
    out: Existing = {}
    for key, namespace in snapshot.namespaces.items():
        doc = namespace.document
        if doc is not None:
            out[key] = frozenset(f.key for f in doc.flags)
    return out


def young_flags(store: GitReader, env: str, now: datetime, days: int) -> Existing:
    """namespace -> keys held `days` ago: a flag of the namespace now that is NOT in its set is young."""
    return flags_as_of(store, env, now - timedelta(days=days))
