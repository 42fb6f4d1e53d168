"""Re-creating local commits on another base, resource by resource (no text merge): used when the remote moved, or
was rewritten, while the local branch held commits the remote never had. A change that collides with one made on
the new base raises `ConflictError` naming the resource (`gitstore.git.tree_edits.conflicting_change`)."""

from __future__ import annotations

import pygit2

from gitstore.edit.writer import apply_changes
from gitstore.errors import ConflictError
from gitstore.git.objects import blob_bytes, commit_at
from gitstore.git.repo import blob_at, build_tree, make_commit
from gitstore.git.snapshot import FEATURE_FILES, ParseCache
from gitstore.git.tree_edits import conflicting_change
from gitstore.model.changes import diff_documents
from gitstore.model.documents import Document
from gitstore.results import Author


def _changed_paths(repo: pygit2.Repository, old: pygit2.Tree, new: pygit2.Tree) -> set[str]:
    paths = set()
    for delta in old.diff_to_tree(new).deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return paths


def _blob_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    entry = blob_at(tree, path)
    return entry.id if entry is not None else None


def _replay_path(repo: pygit2.Repository, commit: pygit2.Commit, onto: pygit2.Commit, path: str,
                 cache: ParseCache) -> tuple[bool, bytes | None]:
    """(changed?, new bytes or None for a deletion) for one path of `commit` replayed on `onto`."""
    parent = commit.parents[0]
    before, ours, theirs = (_blob_id(c.tree, path) for c in (parent, commit, onto))
    if theirs == before:
        return True, blob_bytes(repo, ours) if ours is not None else None
    if theirs == ours:
        return False, None
    parts = path.split("/")
    if len(parts) < 2 or parts[-1] not in FEATURE_FILES or ours is None or theirs is None:
        raise ConflictError(f"{path} was changed on the remote as well", resource=path)
    held = [_namespaces(repo, oid, path, cache) for oid in (before, ours, theirs)]
    if any(h is None for h in held[1:]):
        raise ConflictError(f"{path} was changed on the remote as well", resource=path)
    before_docs, our_docs, their_docs = (h or {} for h in held)
    text, changed = blob_bytes(repo, theirs).decode("utf-8"), False
    for namespace in sorted(set(before_docs) | set(our_docs)):  # the file's namespaces, by the holder rule
        changes = diff_documents(namespace, before_docs.get(namespace), our_docs.get(namespace))
        clash = conflicting_change(before_docs.get(namespace), their_docs.get(namespace), changes)
        if clash is not None:
            raise ConflictError(f"{clash.kind.value} {clash.resource} was changed on the remote as well",
                                resource=clash.resource)
        if changes:
            base = their_docs.get(namespace) if not changed else None  # after one edit the text is new
            text, changed = apply_changes(text, path, changes, base), True
    return (True, text.encode("utf-8")) if changed else (False, None)


def _namespaces(repo: pygit2.Repository, oid: pygit2.Oid | None, path: str, cache: ParseCache
                ) -> dict[str, Document] | None:
    """Every namespace the file holds (the holder rule: each document's `namespace:`); {} when absent, None when
    the file is invalid (nothing can be replayed onto or from it resource by resource)."""
    if oid is None:
        return {}
    parsed = cache.blob(repo, oid, path)
    return dict(parsed.documents) if parsed.valid else None


def replay(repo: pygit2.Repository, pending: list[pygit2.Commit], onto: pygit2.Oid, cache: ParseCache) -> pygit2.Oid:
    """Re-create each of `pending` (oldest first) on top of `onto`, keeping authors, dates and messages; the
    changes a commit makes to its first parent are applied, so whatever else lies under it is left behind."""
    walker_tip = commit_at(repo, onto)
    for commit in pending:
        if not commit.parents:
            continue  # a local root (the `add initial README` of a repository made while offline): theirs wins
        edits: dict[str, bytes | None] = {}
        for path in _changed_paths(repo, commit.parents[0].tree, commit.tree):
            changed, data = _replay_path(repo, commit, walker_tip, path, cache)
            if changed:
                edits[path] = data
        tree = build_tree(repo, walker_tip.tree, edits)
        if tree == walker_tip.tree_id:
            continue  # already upstream
        author = Author(commit.author.name, commit.author.email)
        committer = Author(commit.committer.name, commit.committer.email)
        new = make_commit(repo, tree, [walker_tip.id], author, commit.message, committer, commit.author.time)
        walker_tip = commit_at(repo, new)
    return walker_tip.id
