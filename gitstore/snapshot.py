"""Immutable snapshots of an environment at one commit, built from the commit's tree without a work tree.

Discovery (flipt-compatibility §3.1): `<directory>/<namespace>/features.yaml`, else `.yml`, else `.json`, exactly one level
below the environment's directory. Parsed namespaces are cached by blob id, so a commit that changes one file costs
one parse; a whole snapshot is reused while the environment's directory tree id is unchanged.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

import pygit2
from pygit2.enums import ObjectType

from gitstore.documents import Document
from gitstore.errors import Problem

# Imported here, not lazily on a Git thread: yaml_rs (under the loader) crashes the process when it was first
# imported by a thread that has since ended (yaml-rs 0.1.6).
from gitstore.gcpause import gc_paused
from gitstore.loader import load_document

FEATURE_FILES = ("features.yaml", "features.yml", "features.json")


@dataclass(frozen=True)
class NamespaceSnapshot:
    key: str
    path: str  # path of the file inside the repository
    document: Document | None  # None when the file has errors (see problems)
    digest: str  # sha1 hex of the file bytes (the client snapshot's ETag)
    problems: tuple[Problem, ...]
    text: str
    blob: str = ""

    @property
    def valid(self) -> bool:
        return self.document is not None


@dataclass(frozen=True)
class Snapshot:
    environment: str
    commit: str
    committed_at: datetime | None
    namespaces: Mapping[str, NamespaceSnapshot]
    problems: tuple[Problem, ...] = ()
    tree: str = ""  # id of the environment directory's tree ("" when the directory does not exist)
    files: tuple[tuple[str, str], ...] = ()  # (path, blob id) of every namespace file read

    def document(self, namespace: str) -> Document | None:
        found = self.namespaces.get(namespace)
        return found.document if found is not None else None


@dataclass
class _Parsed:
    document: Document | None
    problems: tuple[Problem, ...]
    digest: str
    text: str
    size: int


@dataclass
class ParseCache:
    """Parsed namespace files by (blob id, file name), least recently used evicted beyond `max_bytes` of source."""

    max_bytes: int = 256 * 1024 * 1024
    parses: int = 0  # how many files were actually parsed (tests and benchmarks read it)
    _items: OrderedDict[tuple[str, str], _Parsed] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, blob_id: str, filename: str, data_fn) -> _Parsed:  # noqa: ANN001 - callable returning bytes
        key = (blob_id, filename)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        parsed = parse_file(data_fn(), filename)
        with self._lock:
            self.parses += 1
        self._add(key, parsed)
        return parsed

    def put(self, blob_id: str, filename: str, data: bytes, text: str, document: Document) -> None:
        """Remember a file the store has just written, with the document the writer verified it holds, so the
        next snapshot does not parse it again."""
        self._add((blob_id, filename), _Parsed(document, (), hashlib.sha1(data).hexdigest(), text, len(data)))

    def _add(self, key: tuple[str, str], parsed: _Parsed) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = parsed
            self._bytes += parsed.size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.size


def parse_file(data: bytes, filename: str) -> _Parsed:
    digest = hashlib.sha1(data).hexdigest()
    result = load_document(data, filename)  # reports bytes that are not UTF-8 with their line
    text = data.decode("utf-8", "replace")
    return _Parsed(result.document, tuple(result.problems), digest, text, len(data))


def namespace_files(repo: pygit2.Repository, root: pygit2.Tree | None) -> list[tuple[str, pygit2.Object]]:
    """(directory name, tree entry of its features file) for every namespace directory under `root`."""
    found = []
    if root is None:
        return found
    for entry in root:
        if entry.type != ObjectType.TREE:
            continue
        sub = repo[entry.id]
        for name in FEATURE_FILES:
            item = sub[name] if name in sub else None
            if item is not None and item.type == ObjectType.BLOB:
                found.append((entry.name, item))
                break
    return found


def file_path(directory: str, namespace_dir: str, filename: str) -> str:
    return f"{directory}/{namespace_dir}/{filename}" if directory else f"{namespace_dir}/{filename}"


def build_snapshot(repo: pygit2.Repository, environment: str, commit: pygit2.Commit, directory: str,
                   cache: ParseCache, previous: Snapshot | None = None) -> Snapshot:
    from gitstore.repo import subtree

    root = subtree(repo, commit.tree, directory)
    tree_id = str(root.id) if root is not None else ""
    committed_at = datetime.fromtimestamp(commit.commit_time, UTC)
    if previous is not None and previous.tree == tree_id:
        return _reuse(previous, str(commit.id), committed_at, tree_id)
    found = [(dirname, entry, file_path(directory, dirname, entry.name)) for dirname, entry in
             namespace_files(repo, root)]
    files = tuple((path, str(entry.id)) for _, entry, path in found)
    if previous is not None and previous.files == files:
        return _reuse(previous, str(commit.id), committed_at, tree_id)
    with gc_paused():  # one pause for all files: re-enabling after each file triggered a full collection each time
        namespaces, problems = _read_namespaces(repo, found, cache)
    return Snapshot(environment, str(commit.id), committed_at, MappingProxyType(namespaces), tuple(problems),
                    tree_id, files)


def _read_namespaces(repo: pygit2.Repository, found: list[tuple[str, pygit2.Object, str]],
                     cache: ParseCache) -> tuple[dict[str, NamespaceSnapshot], list[Problem]]:
    namespaces: dict[str, NamespaceSnapshot] = {}
    problems: list[Problem] = []
    for dirname, entry, path in found:
        parsed = cache.get(str(entry.id), path, lambda e=entry: repo[e.id].data)
        document = parsed.document
        key = document.namespace.key if document is not None else dirname
        if key in namespaces:
            problem = Problem(path, 0, "namespace", f"namespace {key!r} is already defined by "
                              f"{namespaces[key].path}; this file is ignored")
            problems.append(problem)
            continue
        namespaces[key] = NamespaceSnapshot(key, path, document, parsed.digest, parsed.problems, parsed.text,
                                            str(entry.id))
        problems.extend(parsed.problems)
    return namespaces, problems


def _reuse(previous: Snapshot, commit: str, committed_at: datetime, tree_id: str) -> Snapshot:
    return Snapshot(previous.environment, commit, committed_at, previous.namespaces, previous.problems, tree_id,
                    previous.files)
