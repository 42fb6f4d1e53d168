"""History of a namespace or one flag (first-parent walk comparing blob ids, no diffs computed for commits that did
not touch it), and the resource changes behind a promotion."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime

import pygit2
from pygit2.enums import SortMode

from gitstore.changes import Change, Kind, diff_documents
from gitstore.documents import Document
from gitstore.errors import NotFoundError
from gitstore.gcpause import gc_paused
from gitstore.repo import tip
from gitstore.results import HistoryEntry
from gitstore.writes import find_namespace_file
from gitstore.yamlio import ParseError, parse_documents


def _text(repo: pygit2.Repository, blob: pygit2.Oid | None) -> str:
    return repo[blob].data.decode("utf-8", "replace") if blob is not None else ""


def unified_diff(old_path: str, old: str, new_path: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{old_path}" if old else "/dev/null", f"b/{new_path}" if new else "/dev/null")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _raw_flag(repo: pygit2.Repository, path: str, blob: pygit2.Oid | None, key: str, seen: dict) -> object:
    """The flag's raw data in one version of the file (a plain parse, no validation or models: a flag's history
    reads every version of the file, and this is ten times cheaper than loading it)."""
    if blob is None:
        return None
    if blob not in seen:
        try:
            docs = parse_documents(repo[blob].data.decode("utf-8"), path)
        except (ParseError, UnicodeDecodeError):
            seen[blob] = {}
        else:
            seen[blob] = {item.get("key"): item for doc in docs if isinstance(doc, dict)
                          for item in (doc.get("flags") or []) if isinstance(item, dict)}
    return seen[blob].get(key)


def history(repo: pygit2.Repository, ref: str, directory: str, namespace: str, flag: str | None,
            limit: int) -> list[HistoryEntry]:
    """Newest first: the commits on the branch's first-parent line that changed the namespace file (or, with
    `flag`, that changed that flag's parsed value), each with a unified diff of the document."""
    start = tip(repo, ref)
    if start is None:
        raise NotFoundError(f"{ref} does not exist")
    walker = repo.walk(start, SortMode.TOPOLOGICAL | SortMode.TIME)
    walker.simplify_first_parent()
    with gc_paused():  # a flag's history may parse many versions of the file
        return _entries(repo, walker, directory, namespace, flag, limit)


def _entries(repo: pygit2.Repository, walker: pygit2.Walker, directory: str, namespace: str, flag: str | None,
             limit: int) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    seen: dict[pygit2.Oid, dict] = {}
    for commit in walker:
        new = find_namespace_file(commit.tree, directory, namespace)
        old = find_namespace_file(commit.parents[0].tree, directory, namespace) if commit.parents else None
        new_path, new_blob = new.path, new.blob
        old_path, old_blob = (old.path, old.blob) if old is not None else (new_path, None)
        if old_blob == new_blob:
            continue
        if flag is not None and _raw_flag(repo, old_path, old_blob, flag, seen) == _raw_flag(
                repo, new_path, new_blob, flag, seen):
            continue
        diff = unified_diff(old_path, _text(repo, old_blob), new_path, _text(repo, new_blob))
        when = datetime.fromtimestamp(commit.author.time, UTC)
        entries.append(HistoryEntry(str(commit.id), commit.author.name, commit.author.email, when, commit.message,
                                    diff))
        if len(entries) >= limit:
            break
    return entries


def promotion_changes(namespace: str, source: Document, target: Document | None, flag: str | None) -> list[Change]:
    """What makes `target` hold `source`'s namespace, or only `source`'s flag plus the segments that flag uses."""
    if flag is None:
        return diff_documents(namespace, target, source)
    value = source.flag(flag)
    if value is None:
        raise NotFoundError(f"flag {namespace}/{flag} not found in the source environment")
    used = value.segment_keys()
    changes: list[Change] = []
    if target is None:
        changes.append(Change(namespace, Kind.NAMESPACE, namespace, source.namespace))
    for segment in source.segments:
        if segment.key in used and (target is None or target.segment(segment.key) != segment):
            changes.append(Change(namespace, Kind.SEGMENT, segment.key, segment))
    if target is None or target.flag(flag) != value:
        changes.append(Change(namespace, Kind.FLAG, flag, value))
    return changes
