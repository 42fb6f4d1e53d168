"""Typed access to a repository's objects: `repo[oid]` is typed as any Git object, and these name what the caller
knows the id to be (no check and no cost at run time; a wrong kind fails as it would have). Imports nothing of
gitstore, so every module of `gitstore.git` may use it."""

from __future__ import annotations

from typing import cast

import pygit2


def target_of(reference: pygit2.Reference) -> pygit2.Oid:
    """The commit a branch points to (a branch is a direct reference)."""
    return cast(pygit2.Oid, reference.target)


def blob_bytes(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    """The blob's content, read straight from the object database: half the time of `repo[oid].data` for a big
    blob (0.30 s instead of 0.54 s for 46 MB: the object is not looked up first), the same bytes, checked against
    its id as Git does. Anything but a blob, or a missing id, fails as `repo[oid].data` does."""
    try:
        kind, data = repo.odb.read(oid)
    except KeyError:  # pygit2.GitError's NotFoundError is a KeyError: raise the lookup's own
        kind, data = None, b""
    return data if kind == pygit2.GIT_OBJECT_BLOB else cast(pygit2.Blob, repo[oid]).data


def tree_at(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Tree:
    return cast(pygit2.Tree, repo[oid])


def commit_at(repo: pygit2.Repository, oid: pygit2.Oid) -> pygit2.Commit:
    return cast(pygit2.Commit, repo[oid])
