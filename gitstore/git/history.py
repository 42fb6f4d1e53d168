"""History of a namespace or one flag (first-parent walk comparing blob ids, no diffs computed for commits that did
not touch it)."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

import pygit2
from pygit2.enums import SortMode

from gitstore.errors import NotFoundError
from gitstore.format import cache as disk_cache
from gitstore.format.validation import namespace_claims
from gitstore.format.yamlio import ParseError, decode_text, parse_documents
from gitstore.gcpause import gc_paused
from gitstore.git.objects import blob_bytes
from gitstore.git.refs import tip
from gitstore.git.repo import subtree
from gitstore.git.snapshot import FEATURE_FILES, ParseCache, claims_by_file, file_path
from gitstore.results import HistoryEntry

Parses = dict[pygit2.Oid, list[Any] | None]  # blob -> its plain parse (None: it cannot be parsed)


def _text(repo: pygit2.Repository, blob: pygit2.Oid | None) -> str:
    return blob_bytes(repo, blob).decode("utf-8", "replace") if blob is not None else ""


def unified_diff(old_path: str, old: str, new_path: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{old_path}" if old else "/dev/null", f"b/{new_path}" if new else "/dev/null")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _raw_docs(repo: pygit2.Repository, path: str, blob: pygit2.Oid, seen: Parses) -> list[Any] | None:
    """A plain parse of one version of a file (no validation or models: a history reads every version of the
    file, and this is ten times cheaper than loading it); None when it cannot be parsed."""
    if blob not in seen:
        try:
            seen[blob] = parse_documents(decode_text(blob_bytes(repo, blob)), path)
        except ParseError:
            seen[blob] = None
    return seen[blob]


def _raw_flag(repo: pygit2.Repository, path: str, blob: pygit2.Oid | None, key: str, seen: Parses) -> object:
    """The flag's raw data in one version of the file."""
    docs = _raw_docs(repo, path, blob, seen) if blob is not None else None
    for doc in docs or ():
        if isinstance(doc, dict):
            for item in doc.get("flags") or []:
                if isinstance(item, dict) and item.get("key") == key:
                    return item
    return None


def _holding_file(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, namespace: str, seen: Parses,
                  cache: ParseCache | None = None) -> tuple[str, pygit2.Oid | None]:
    """(path, blob) of the file holding the namespace at one commit, by the loader's rule (`gitstore.git.snapshot`),
    read from the store's parses where it has them without parsing (`cache`: in memory or on disk; the branch tip
    always is), else from plain parses; a namespace no file holds: its conventional path and None."""
    disk = disk_cache.cache_dir(repo.path) if cache is not None else None

    def holds(path: str, dirname: str, entry: pygit2.Object) -> tuple[str, ...]:
        parsed = cache.known(str(entry.id), path, disk) if cache is not None else None
        if parsed is not None:
            return parsed.holds(dirname)
        docs = _raw_docs(repo, path, entry.id, seen)
        claims = namespace_claims(docs) if docs is not None else {}
        return tuple(claims) if claims else (dirname,) if docs is None or docs else ()

    found = claims_by_file(repo, subtree(repo, tree, directory), directory, holds).get(namespace)
    if found:
        path, _, entry = found[0]
        return path, entry.id
    return file_path(directory, namespace, FEATURE_FILES[0]), None


def history(repo: pygit2.Repository, ref: str, directory: str, namespace: str, flag: str | None,
            limit: int, diffs: bool = True, cache: ParseCache | None = None) -> list[HistoryEntry]:
    """Newest first: the commits on the branch's first-parent line that changed the namespace file (or, with
    `flag`, that changed that flag's parsed value), each with a unified diff of the document (`diffs=False`: none,
    for who changed what and when: a diff of a 46 MB file takes seconds). `cache`: the store's parses."""
    start = tip(repo, ref)
    if start is None:
        raise NotFoundError(f"{ref} does not exist")
    walker = repo.walk(start, SortMode.TOPOLOGICAL | SortMode.TIME)
    walker.simplify_first_parent()
    with gc_paused():  # a flag's history may parse many versions of the file
        return _entries(repo, walker, directory, namespace, flag, limit, diffs, cache)


def _entries(repo: pygit2.Repository, walker: pygit2.Walker, directory: str, namespace: str, flag: str | None,
             limit: int, diffs: bool, cache: ParseCache | None) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    seen: Parses = {}
    for commit in walker:
        if commit.parents and _same_directory(repo, commit, commit.parents[0], directory):
            continue
        new_path, new_blob = _holding_file(repo, commit.tree, directory, namespace, seen, cache)
        old_path, old_blob = new_path, None
        if commit.parents:
            old_path, old_blob = _holding_file(repo, commit.parents[0].tree, directory, namespace, seen, cache)
        if old_blob == new_blob:
            continue
        if flag is not None and _raw_flag(repo, old_path, old_blob, flag, seen) == _raw_flag(
                repo, new_path, new_blob, flag, seen):
            continue
        diff = unified_diff(old_path, _text(repo, old_blob), new_path, _text(repo, new_blob)) if diffs else ""
        when = datetime.fromtimestamp(commit.author.time, UTC)
        entries.append(HistoryEntry(str(commit.id), commit.author.name, commit.author.email, when, commit.message,
                                    diff))
        if len(entries) >= limit:
            break
    return entries


def _same_directory(repo: pygit2.Repository, a: pygit2.Commit, b: pygit2.Commit, directory: str) -> bool:
    one, two = subtree(repo, a.tree, directory), subtree(repo, b.tree, directory)
    return (one.id if one is not None else None) == (two.id if two is not None else None)

