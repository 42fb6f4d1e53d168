"""Turning resource-level changes into a commit: minimal edits of each namespace file, a tree built without a work
tree, and the per-resource check that decides whether a change may be re-applied on a branch that moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pygit2

from gitstore.changes import Change, Kind, apply_to_document, resource_value
from gitstore.documents import Document
from gitstore.errors import ConflictError, NotFoundError, Problem, ValidationError
from gitstore.loader import dump_document, load_document
from gitstore.repo import blob_at, subtree
from gitstore.snapshot import FEATURE_FILES, ParseCache, file_path

try:
    from gitstore.writer import apply_changes
except ImportError:  # pragma: no cover - the minimal-diff writer is being written alongside
    apply_changes = None

PROTECTED_NAMESPACE = "default"


@dataclass(frozen=True)
class NamespaceFile:
    path: str
    blob: pygit2.Oid | None  # None when the namespace has no file yet


def find_namespace_file(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, namespace: str) -> NamespaceFile:
    """`<directory>/<namespace>/features.yaml|yml|json` in `tree`; a missing file is reported as features.yaml."""
    for name in FEATURE_FILES:
        path = file_path(directory, namespace, name)
        entry = blob_at(tree, path)
        if entry is not None:
            return NamespaceFile(path, entry.id)
    return NamespaceFile(file_path(directory, namespace, FEATURE_FILES[0]), None)


def read_document(repo: pygit2.Repository, found: NamespaceFile, cache: ParseCache) -> Document | None:
    if found.blob is None:
        return None
    return cache.get(str(found.blob), found.path, lambda: repo[found.blob].data).document


def namespace_document(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, namespace: str,
                       cache: ParseCache) -> Document | None:
    return read_document(repo, find_namespace_file(repo, tree, directory, namespace), cache)


def group_by_namespace(changes: Iterable[Change]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.namespace, []).append(change)
    return groups


def apply_text(text: str, path: str, changes: list[Change]) -> str:
    if apply_changes is None:  # until the minimal-diff writer lands: the whole file as canonical YAML
        base = load_document(text.encode(), path).document if text else None
        out = dump_document(apply_to_document(base, changes))
        result = load_document(out.encode(), path)
        if result.document is None:
            raise ValidationError(result.problems) from None
        return out
    return apply_changes(text, path, changes)


def edit_tree(repo: pygit2.Repository, base: pygit2.Commit, directory: str, changes: list[Change],
              cache: ParseCache) -> tuple[dict[str, bytes | None], set[str]]:
    """The file edits that apply `changes` on `base`, and the resources they create (for the `create` verb)."""
    edits: dict[str, bytes | None] = {}
    created: set[str] = set()
    for namespace, group in group_by_namespace(changes).items():
        found = find_namespace_file(repo, base.tree, directory, namespace)
        if found.blob is not None and found.path.endswith(".json"):
            raise ValidationError([Problem(found.path, 0, "", "namespaces stored as JSON are read-only; convert "
                                           "the file to features.yaml to edit it")])
        deletes = [c for c in group if c.kind is Kind.NAMESPACE and c.value is None]
        if deletes:
            if namespace == PROTECTED_NAMESPACE:
                raise ValidationError([Problem(found.path, 0, "namespace", 'namespace "default" is protected')])
            if found.blob is None:
                raise NotFoundError(f'namespace "{namespace}" not found')
            if len(group) > 1:
                raise ValidationError([Problem(found.path, 0, "namespace", "a namespace that is deleted cannot be "
                                               "changed in the same commit")])
            edits[found.path] = None
            continue
        creates_namespace = any(c.kind is Kind.NAMESPACE for c in group)
        if found.blob is None and not creates_namespace and namespace != PROTECTED_NAMESPACE:
            raise NotFoundError(f'namespace "{namespace}" not found')
        before = read_document(repo, found, cache)
        if found.blob is not None and before is None:
            problems = cache.get(str(found.blob), found.path, lambda f=found: repo[f.blob].data).problems
            raise ValidationError(list(problems) or [Problem(found.path, 0, "", "the file is invalid")])
        for change in group:
            if change.value is not None and resource_value(before, change.kind, change.key) is None:
                created.add(change.resource)
        text = repo[found.blob].data.decode("utf-8") if found.blob is not None else ""
        edits[found.path] = apply_text(text, found.path, group).encode("utf-8")
    return edits, created


def _value(repo: pygit2.Repository, commit: pygit2.Commit, directory: str, change: Change,
           cache: ParseCache) -> object:
    doc = read_document(repo, find_namespace_file(repo, commit.tree, directory, change.namespace), cache)
    if change.kind is Kind.NAMESPACE:
        return doc.namespace if doc is not None else None
    return resource_value(doc, change.kind, change.key)


def _who_changed(repo: pygit2.Repository, base: pygit2.Commit, tip: pygit2.Commit, directory: str, change: Change,
                 cache: ParseCache) -> str:
    """`Name in <short id>` of the newest commit between base and tip that changed the resource."""
    for commit in repo.walk(tip.id):
        if commit.id == base.id or not commit.parents:
            break
        parent = commit.parents[0]
        if _value(repo, commit, directory, change, cache) != _value(repo, parent, directory, change, cache):
            return f"{commit.author.name} in {str(commit.id)[:8]}"
    return f"{tip.author.name} in {str(tip.id)[:8]}"


def conflicting_change(before: Document | None, now: Document | None, changes: list[Change]) -> Change | None:
    """The first change whose resource differs between `before` (what the writer saw) and `now` (what the branch
    holds), unless `now` already holds the wanted value; None when all of them may be applied on `now`."""
    for change in changes:
        if change.kind is Kind.NAMESPACE:
            old_value = before.namespace if before is not None else None
            new_value = now.namespace if now is not None else None
        else:
            old_value = resource_value(before, change.kind, change.key)
            new_value = resource_value(now, change.kind, change.key)
        if old_value != new_value and new_value != change.value:
            return change
    return None


def check_unchanged(repo: pygit2.Repository, base: pygit2.Commit, tip: pygit2.Commit, directory: str,
                    changes: list[Change], cache: ParseCache) -> None:
    """Raise `ConflictError` naming the first resource the changes touch that another commit changed between
    `base` and `tip`."""
    for namespace, group in group_by_namespace(changes).items():
        at_base = find_namespace_file(repo, base.tree, directory, namespace)
        at_tip = find_namespace_file(repo, tip.tree, directory, namespace)
        if at_base == at_tip:
            continue
        before = read_document(repo, at_base, cache)
        now = read_document(repo, at_tip, cache)
        change = conflicting_change(before, now, group)
        if change is not None:
            who = _who_changed(repo, base, tip, directory, change, cache)
            raise ConflictError(f"{change.kind.value} {change.resource} was changed meanwhile by {who}",
                                resource=change.resource)


def directory_tree_id(repo: pygit2.Repository, commit: pygit2.Commit, directory: str) -> str:
    found = subtree(repo, commit.tree, directory)
    return str(found.id) if found is not None else ""
