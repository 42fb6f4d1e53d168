"""Branch reference names and looking references up (the one place that does, see `tip`)."""

from __future__ import annotations

import sys

import pygit2

from gitstore.git.objects import target_of


def branch_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def tip(repo: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    """The commit `ref` points at, None when it does not exist. Look references up only through here: pygit2 1.21
    keeps one reference to the name string of every reference it finds (never released), so a fresh string per
    lookup leaks ~70 bytes each time (a watcher polling every second: megabytes a day). The interned name is one
    string per reference, however often it is looked up."""
    found = repo.references.get(sys.intern(ref))
    return target_of(found) if found is not None else None
