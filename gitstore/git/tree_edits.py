"""Turning resource-level changes into a commit: minimal edits of each namespace file, a tree built without a work
tree, and the per-resource check that decides whether a change may be re-applied on a branch that moved."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import pygit2

from gitstore.edit import stored
from gitstore.edit.places import value_of
from gitstore.edit.writer import edit_file
from gitstore.errors import ConflictError, NotFoundError, Problem, ValidationError
from gitstore.format import cache as disk_cache
from gitstore.git.objects import tree_at
from gitstore.git.repo import blob_at, subtree
from gitstore.git.snapshot import (
    FEATURE_FILES,
    Holder,
    ParseCache,
    claim_problems,
    digest_soon,
    file_path,
    namespace_holders,
)
from gitstore.model.changes import Change, Kind, resource_value
from gitstore.model.documents import PROTECTED_NAMESPACE, Document


@dataclass(frozen=True)
class NamespaceFile:
    path: str
    blob: pygit2.Oid | None  # None when the namespace has no file yet
    shares: tuple[str, ...] = ()  # the other namespaces the same file holds (a YAML stream)


def find_namespace_file(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, namespace: str,
                        cache: ParseCache) -> NamespaceFile:
    """The file holding `namespace` in `tree`, by the loader's own rule (`gitstore.git.snapshot.namespace_holders`).
    A namespace no file holds gets `<directory>/<namespace>/features.yaml` (or an existing file there that holds
    nothing); `ValidationError` when two files claim it, or when that path already holds another namespace."""
    root = subtree(repo, tree, directory)
    holders = namespace_holders(repo, root, directory, cache)
    found = holders.get(namespace, ())
    if len(found) > 1:
        raise ValidationError(list(claim_problems(namespace, found)))
    if found:
        holder = found[0]
        return NamespaceFile(holder.path, holder.blob, tuple(k for k in holder.parsed.holds(holder.dirname)
                                                             if k != namespace))
    for name in FEATURE_FILES:
        path = file_path(directory, namespace, name)
        entry = blob_at(tree, path)
        if entry is None:
            continue
        held = [key for key, files in holders.items() if any(h.path == path for h in files)]
        if held:
            raise ValidationError([Problem(path, 1, "namespace", f"cannot create namespace {namespace!r} here: "
                                           f"the file holds namespace {', '.join(map(repr, held))}")])
        return NamespaceFile(path, entry.id)
    return NamespaceFile(file_path(directory, namespace, FEATURE_FILES[0]), None)


def read_document(repo: pygit2.Repository, found: NamespaceFile, namespace: str, cache: ParseCache
                  ) -> Document | None:
    blob = found.blob
    if blob is None:
        return None
    parsed = cache.blob(repo, blob, found.path)
    return parsed.documents.get(namespace) if parsed.valid else None


def namespace_document(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, namespace: str,
                       cache: ParseCache) -> Document | None:
    try:
        found = find_namespace_file(repo, tree, directory, namespace, cache)
    except ValidationError:
        return None
    return read_document(repo, found, namespace, cache)


def group_by_namespace(changes: Iterable[Change]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.namespace, []).append(change)
    return groups


@dataclass
class TreeEdits:
    files: dict[str, bytes | None]  # path -> new bytes, or None to delete
    documents: dict[str, Document]  # path -> the document a written file holds (verified by the writer)
    texts: dict[str, str]  # path -> the written text
    created: set[str]  # resources that did not exist before (for Flipt's `create` verb)
    clean: set[str]  # written paths whose previous version had no problems (safe to cache without a parse)
    digests: dict[str, Callable[[], str]] = field(default_factory=dict)  # path -> its digest (snapshot.digest_soon)


def edit_tree(repo: pygit2.Repository, base: pygit2.Commit, directory: str, changes: list[Change],
              cache: ParseCache) -> TreeEdits:
    """The file edits that apply `changes` on `base`."""
    edits = TreeEdits({}, {}, {}, set(), set())
    for namespace, group in group_by_namespace(changes).items():
        found = find_namespace_file(repo, base.tree, directory, namespace, cache)
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
            if found.shares:
                raise ValidationError([Problem(found.path, 1, "namespace", f"namespace {namespace!r} shares this "
                                               f"file with {', '.join(map(repr, found.shares))}: deleting the file "
                                               "would delete them too; move it to a file of its own first")])
            edits.files[found.path] = None
            continue
        creates_namespace = any(c.kind is Kind.NAMESPACE for c in group)
        if found.blob is None and not creates_namespace and namespace != PROTECTED_NAMESPACE:
            raise NotFoundError(f'namespace "{namespace}" not found')
        blob = found.blob
        parsed = cache.blob(repo, blob, found.path) if blob is not None else None
        if parsed is not None and not parsed.valid:
            raise ValidationError(list(parsed.problems) or [Problem(found.path, 0, "", "the file is invalid")])
        before = parsed.documents.get(namespace) if parsed is not None else None
        text = parsed.text if parsed is not None else ""
        kept = partial(stored.load, disk_cache.cache_dir(repo.path), str(blob), found.path) if blob else None
        result = edit_file(text, found.path, group, before, kept)  # first: it may give `before` its key index cheaply
        for change in group:
            if change.value is not None and value_of(before, change.kind, change.key) is None:
                edits.created.add(change.resource)
        data = edits.files[found.path] = result.text.encode("utf-8")
        edits.documents[found.path] = result.document
        edits.texts[found.path] = result.text
        if (parsed is None or not parsed.problems) and not found.shares:
            edits.clean.add(found.path)
            edits.digests[found.path] = digest_soon(data)  # hashed while the blob is written
    return edits


def _value(repo: pygit2.Repository, commit: pygit2.Commit, directory: str, change: Change,
           cache: ParseCache) -> object:
    doc = namespace_document(repo, commit.tree, directory, change.namespace, cache)
    return resource_value(doc, change.kind, change.key)


def who_changed(repo: pygit2.Repository, base: pygit2.Commit, tip: pygit2.Commit, directory: str, change: Change,
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
        at_base = find_namespace_file(repo, base.tree, directory, namespace, cache)
        at_tip = find_namespace_file(repo, tip.tree, directory, namespace, cache)
        if at_base == at_tip:
            continue
        before = read_document(repo, at_base, namespace, cache)
        now = read_document(repo, at_tip, namespace, cache)
        change = conflicting_change(before, now, group)
        if change is not None:
            who = who_changed(repo, base, tip, directory, change, cache)
            raise ConflictError(f"{change.kind.value} {change.resource} was changed meanwhile by {who}",
                                resource=change.resource)


def check_served(repo: pygit2.Repository, before: pygit2.Tree, after: pygit2.Oid, directory: str,
                 changes: list[Change], edits: TreeEdits, cache: ParseCache) -> None:
    """Read back the tree a commit is about to record, by the loader's rule, and raise `ValidationError` (so
    nothing is committed) unless it serves exactly what the writer intended: each changed namespace from one
    valid file holding the intended document (a deleted one from none), every other namespace as before. Cheap:
    unchanged files and the files the store just wrote come from the parse cache."""
    old = namespace_holders(repo, subtree(repo, before, directory), directory, cache)
    new = namespace_holders(repo, subtree(repo, tree_at(repo, after), directory), directory, cache)
    problems: list[Problem] = []
    changed = group_by_namespace(changes)
    for namespace, group in changed.items():
        found = new.get(namespace, ())
        if any(c.kind is Kind.NAMESPACE and c.value is None for c in group):
            problems += [Problem(h.path, 0, "namespace", f"namespace {namespace!r} is still served from this file")
                         for h in found]
            continue
        served = _served(namespace, found)
        intended = next((edits.documents[h.path] for h in found if h.path in edits.documents), None)
        if served is None or served != intended:
            where = ", ".join(h.path for h in found) or "no file"
            problems.append(Problem(found[0].path if found else "", 0, "namespace", f"namespace {namespace!r} "
                                    f"would be served from {where} without the change"))
    for namespace in old.keys() | new.keys():
        if namespace in changed:
            continue
        was, now = old.get(namespace, ()), new.get(namespace, ())
        if [(h.path, h.blob) for h in was] != [(h.path, h.blob) for h in now] and _served(namespace, was) != _served(namespace, now):
            where = ", ".join(h.path for h in now or was)
            problems.append(Problem(where, 0, "namespace", f"the change would also change namespace {namespace!r}"))
    if problems:
        raise ValidationError([Problem(p.file, p.line, p.path, f"{p.message}; nothing was committed")
                               for p in problems])


def _served(namespace: str, holders: tuple[Holder, ...]) -> Document | None:
    if len(holders) != 1 or not holders[0].parsed.valid:
        return None
    return holders[0].parsed.documents.get(namespace)
