"""Immutable snapshots of an environment at one commit, built from the commit's tree without a work tree.

Which file holds a namespace (one rule, used by the loader here and by the writer in `gitstore.git.tree_edits`; README
"Which file holds a namespace"): every `<directory>/*/features.yaml|yml|json` exactly one level below the
environment's directory is read, as Flipt v2's evaluation reads them, and each document belongs to the namespace
its `namespace:` names (missing: `default`), whatever the directory is called. A file that cannot be parsed holds
the namespace named like its directory (so its error is reported there). A namespace claimed by two files is
invalid, with an error naming both files: the evaluator keeps serving its last good version, if any.

Parsed files are cached by blob id, so a commit that changes one file costs one parse; a whole snapshot is reused
while the environment's directory tree id is unchanged.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import pygit2
from pygit2.enums import FileMode, ObjectType

from gitstore.errors import Problem
from gitstore.format import cache as disk_cache
from gitstore.format.limits import size_problem
from gitstore.format.loader import Documents, LoadResult, load_document
from gitstore.format.yamlscan import Locator

# Imported here, not lazily on a Git thread: yaml_rs (under the loader) crashes the process when it was first
# imported by a thread that has since ended (yaml-rs 0.1.6).
from gitstore.gcpause import gc_paused
from gitstore.git import background
from gitstore.git.objects import blob_bytes, tree_at

if TYPE_CHECKING:  # built when a document is asked for: reading and validating import no model
    from gitstore.model.documents import Document

FEATURE_FILES = ("features.yaml", "features.yml", "features.json")


@dataclass(frozen=True)
class NamespaceSnapshot:
    key: str
    path: str  # path of the file inside the repository
    source: Documents | None  # the namespaces of its file, built when asked for; None when it has errors
    digest: str  # sha1 hex of the file bytes (the client snapshot's ETag)
    problems: tuple[Problem, ...]
    text: str
    blob: str = ""

    @property
    def valid(self) -> bool:
        """Whether the namespace has a document (answered without building it)."""
        return self.source is not None and self.key in self.source

    @property
    def document(self) -> Document | None:
        """The namespace (built the first time it is asked for); None when the file has errors (see problems)."""
        return self.source.get(self.key) if self.source is not None else None

    def partial(self, flags: Collection[str]) -> tuple[Document, dict[str, int]] | None:
        """The namespace with only the flags named in `flags` and every segment, without building the other
        flags (`flagdeck eval FLAG` on a 100,000-flag file), and each flag's place in the whole namespace; None
        when the file has errors."""
        return self.source.partial(self.key, flags) if self.valid and self.source is not None else None


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
class ParsedFile:
    problems: tuple[Problem, ...]
    digest: str
    text: str
    size: int
    source: Documents | None = None  # every namespace the file holds, built when asked for; None: the file has errors
    claims: Mapping[str, int] | None = None  # namespace -> first document declaring it; None: unreadable file
    chosen: str = "default"  # which namespace is `document`

    @property
    def valid(self) -> bool:
        return self.source is not None

    @property
    def document(self) -> Document | None:
        """The file's namespace (see `LoadResult.document`); None when the file has errors."""
        return self.source.document(self.chosen) if self.source is not None else None

    @property
    def documents(self) -> Mapping[str, Document]:
        """Every namespace the file holds when it is valid (each built the first time it is asked for)."""
        return self.source if self.source is not None else {}

    def holds(self, dirname: str) -> tuple[str, ...]:
        """The namespaces this file holds under the rule (the module docstring)."""
        if self.claims:
            return tuple(self.claims)
        if not self.valid:  # unreadable, or no document at all: its errors belong to the directory's name
            return (dirname,) if any(p.severity == "error" for p in self.problems) else ()
        return ()


VERSIONS_PER_FILE = 16  # parsed versions kept of one path (each branch's head, recent history); a parse takes ~20x
# its source in memory, and an evaluator following a commit a second would otherwise keep every version it saw


@dataclass
class ParseCache:
    """Parsed namespace files by (blob id, file name), least recently used evicted beyond `max_bytes` of source or
    `VERSIONS_PER_FILE` versions of one file name."""

    max_bytes: int = 256 * 1024 * 1024
    parses: int = 0  # how many files were actually parsed (tests and benchmarks read it)
    loaded: int = 0  # how many were found in the parse cache on disk instead
    _items: OrderedDict[tuple[str, str], ParsedFile] = field(default_factory=OrderedDict)
    _bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _holders: OrderedDict[str, Holders] = field(default_factory=OrderedDict)
    _saved: set[Path] = field(default_factory=set)  # disk directories written to since they were last evicted

    def get(self, blob_id: str, filename: str, data_fn: Callable[[], bytes],
            size_fn: Callable[[], int] | None = None, disk: Path | None = None) -> ParsedFile:
        """The parse of a blob; `data_fn()` reads it, `size_fn()` (optional) its size without reading it, so a file
        beyond the size limit is refused without being read (inflating 64 MB takes Git seconds). `disk`: a
        directory of `gitstore.format.cache` entries, asked before parsing and given each parse."""
        key = (blob_id, filename)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        too_big = size_problem(size_fn()) if size_fn is not None else None
        stored = _from_disk(disk, blob_id, filename) if disk is not None and not too_big else None
        if stored is not None:
            parsed = stored
        elif too_big:
            parsed = oversized(filename, too_big)
        else:
            parsed = parse_file(data_fn(), filename, disk=(disk, blob_id) if disk is not None else None)
        with self._lock:
            if stored is not None:
                self.loaded += 1
            else:
                self.parses += 1
                if disk is not None and not too_big:
                    self._saved.add(disk)
        self._add(key, parsed)
        return parsed

    def blob(self, repo: pygit2.Repository, oid: pygit2.Oid, filename: str) -> ParsedFile:
        """The parse of a blob of `repo` (through the repository's parse cache on disk, kept in bounds after)."""
        found = self.get(str(oid), filename, lambda: blob_bytes(repo, oid), lambda: blob_size(repo, oid),
                         disk_cache.cache_dir(repo.path))
        self.evict_saved()
        return found

    def evict_saved(self) -> None:
        """Keep each disk directory written to since the last call within its bounds (`disk_cache.evict`)."""
        with self._lock:
            saved, self._saved = self._saved, set()
        for directory in saved:
            try:
                disk_cache.evict(directory)
            except OSError:
                pass

    def known(self, blob_id: str, filename: str, disk: Path | None = None) -> ParsedFile | None:
        """The parse of a blob when it needs no parsing: in memory, else in the parse cache on disk (`disk`)."""
        with self._lock:
            found = self._items.get((blob_id, filename))
        if found is None and disk is not None:
            found = _from_disk(disk, blob_id, filename)
            if found is not None:
                with self._lock:
                    self.loaded += 1
                self._add((blob_id, filename), found)
        return found

    def put(self, blob_id: str, filename: str, data: bytes, text: str, document: Document,
            digest: Callable[[], str] | None = None) -> None:
        """Remember a file the store has just written, holding only `document` (the writer verified it), so the
        next snapshot does not parse it again. `digest`: gives sha1 hex of `data` (`digest_soon(data).result`)."""
        key = document.namespace.key
        self._add((blob_id, filename), ParsedFile((), digest() if digest is not None else file_digest(data), text,
                                                  len(data), Documents.of({key: document}), {key: 0}, key))

    def holders(self, root: pygit2.Tree | None, key: str, compute: Callable[[], Holders]) -> Holders:
        """The namespace -> files map of an environment tree, remembered by tree id (the writer asks at every
        commit, the history at every commit it walks)."""
        tree_id = f"{key}\0{root.id if root is not None else ''}"
        with self._lock:
            found = self._holders.get(tree_id)
            if found is not None:
                self._holders.move_to_end(tree_id)
                return found
        found = compute()
        with self._lock:
            self._holders[tree_id] = found
            while len(self._holders) > HOLDERS_KEPT:
                self._holders.popitem(last=False)
        return found

    def _add(self, key: tuple[str, str], parsed: ParsedFile) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = parsed
            self._bytes += parsed.size
            versions = [k for k in self._items if k[1] == key[1]]  # least recently used first
            if len(versions) > VERSIONS_PER_FILE:
                self._bytes -= self._items.pop(versions[0]).size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.size


def file_digest(data: bytes) -> str:
    """A file's digest (`NamespaceSnapshot.digest`): sha1 hex of its bytes."""
    return hashlib.sha1(data).hexdigest()


DIGEST_APART = 1 << 20  # bytes: a file this big is hashed on the digest thread


def digest_soon(data: bytes) -> Callable[[], str]:
    """`file_digest(data)`, for a big file computed on another thread (hashlib lets go of the GIL) while the
    caller goes on (a 46 MB file: 30 ms, which a commit spends writing its blob meanwhile); call the answer
    for the digest."""
    if len(data) < DIGEST_APART:
        return lambda: file_digest(data)
    return background.soon("digest", file_digest, data).result


def oversized(filename: str, problem: str) -> ParsedFile:
    """A file refused unread (too big, or unreadable): the problem, on line 1."""
    return ParsedFile((Problem(filename, 1, "", problem),), "", "", 0)


def blob_size(repo: pygit2.Repository, oid: pygit2.Oid) -> int:
    return repo.odb.read_header(oid)[1]


def parse_file(data: bytes, filename: str, extended: bool = False, disk: tuple[Path, str] | None = None
               ) -> ParsedFile:
    """`disk`: (cache directory, blob id) to keep what was found in the parse cache on disk."""
    saved = disk is not None and not extended
    result = load_document(data, filename, extended=extended, keep_json=saved)  # never raises
    if disk is not None and saved:
        disk_cache.save(*disk, filename, data, result)
    return _parsed(data, result)


def _from_disk(directory: Path, blob_id: str, filename: str) -> ParsedFile | None:
    found = disk_cache.load(directory, blob_id, filename)
    return _parsed(*found) if found is not None else None


def _parsed(data: bytes, result: LoadResult) -> ParsedFile:
    digest = file_digest(data)
    text = "" if size_problem(len(data)) else data.decode("utf-8", "replace")  # not kept beyond the limit
    return ParsedFile(tuple(result.problems), digest, text, len(data), result.namespaces, result.claims,
                      result.chosen)


@dataclass(frozen=True)
class Holder:
    """One file of an environment: its path in the repository, directory name, blob and parse."""

    path: str
    dirname: str
    blob: pygit2.Oid | None  # None for a file on disk (`flagdeck validate DIR`)
    parsed: ParsedFile


Holders = dict[str, tuple[Holder, ...]]  # namespace -> the files claiming it (more than one: invalid)
HOLDERS_KEPT = 256


def claims_by_file(repo: pygit2.Repository, root: pygit2.Tree | None, directory: str,
                   holds: Callable[[str, str, pygit2.Object], tuple[str, ...]]
                   ) -> dict[str, list[tuple[str, str, pygit2.Object]]]:
    """namespace -> [(path, directory name, tree entry)] of the files claiming it; `holds(path, dirname, entry)`
    says which namespaces one file holds."""
    claimed: dict[str, list[tuple[str, str, pygit2.Object]]] = {}
    for dirname, entry in namespace_files(repo, root):
        path = file_path(directory, dirname, entry.name or "")
        for key in holds(path, dirname, entry):
            claimed.setdefault(key, []).append((path, dirname, entry))
    return claimed


def namespace_holders(repo: pygit2.Repository, root: pygit2.Tree | None, directory: str, cache: ParseCache
                      ) -> Holders:
    """THE rule for which file holds a namespace (module docstring), for the loader and the writer alike."""
    def parse(path: str, entry: pygit2.Object) -> ParsedFile:
        return cache.get(str(entry.id), path, lambda: blob_bytes(repo, entry.id), lambda: blob_size(repo, entry.id),
                         disk)

    disk = disk_cache.cache_dir(repo.path)

    def compute() -> Holders:
        with gc_paused():  # one pause for all files: re-enabling after each file triggered a full collection
            claimed = claims_by_file(repo, root, directory, lambda path, dirname, entry: parse(path, entry)
                                     .holds(dirname))
            found = {key: tuple(Holder(path, dirname, entry.id, parse(path, entry)) for path, dirname, entry in found)
                     for key, found in claimed.items()}
        cache.evict_saved()  # once for the whole tree (a 1,000-namespace environment saves 1,000 entries)
        return found

    return cache.holders(root, directory, compute)


def claim_problems(key: str, holders: tuple[Holder, ...]) -> tuple[Problem, ...]:
    """One error per file when several files claim one namespace, each naming all of them."""
    paths = ", ".join(h.path for h in holders)
    problems = []
    for holder in holders:
        line = 1
        claims = holder.parsed.claims
        if claims and key in claims:
            line = Locator(holder.parsed.text).line(claims[key], ("namespace",)) or 1
        problems.append(Problem(holder.path, line, "namespace", f"namespace {key!r} is declared by {len(holders)} "
                                f"files ({paths}); a namespace must be held by exactly one file"))
    return tuple(problems)


def namespace_files(repo: pygit2.Repository, root: pygit2.Tree | None) -> list[tuple[str, pygit2.Object]]:
    """(directory name, tree entry) of every `*/features.yaml|yml|json` one level below `root` (Flipt reads all
    three when a directory has several)."""
    found: list[tuple[str, pygit2.Object]] = []
    if root is None:
        return found
    for entry in root:
        if entry.type != ObjectType.TREE:
            continue
        sub = tree_at(repo, entry.id)
        for name in FEATURE_FILES:
            item = sub[name] if name in sub else None
            if item is not None and item.type == ObjectType.BLOB and item.filemode != FileMode.LINK:
                found.append((entry.name or "", item))
    return found


def file_path(directory: str, namespace_dir: str, filename: str) -> str:
    return f"{directory}/{namespace_dir}/{filename}" if directory else f"{namespace_dir}/{filename}"


def build_snapshot(repo: pygit2.Repository, environment: str, commit: pygit2.Commit, directory: str,
                   cache: ParseCache, previous: Snapshot | None = None) -> Snapshot:
    from gitstore.git.repo import link_problems, subtree

    root = subtree(repo, commit.tree, directory)
    tree_id = str(root.id) if root is not None else ""
    committed_at = datetime.fromtimestamp(commit.commit_time, UTC)
    if previous is not None and previous.tree == tree_id:
        return _reuse(previous, str(commit.id), committed_at, tree_id)
    found = namespace_files(repo, root)
    files = tuple((file_path(directory, dirname, entry.name or ""), str(entry.id)) for dirname, entry in found)
    links = link_problems(repo, commit.tree, directory, FEATURE_FILES)  # symbolic links: skipped, with a warning
    same_links = previous is not None and previous.problems[:len(links)] == tuple(links) and not any(
        "symbolic link" in p.message for p in previous.problems[len(links):])
    if previous is not None and previous.files == files and same_links:
        return _reuse(previous, str(commit.id), committed_at, tree_id)
    namespaces, problems = _read_namespaces(namespace_holders(repo, root, directory, cache))
    problems = links + problems
    return Snapshot(environment, str(commit.id), committed_at, MappingProxyType(namespaces), tuple(problems),
                    tree_id, files)


def _read_namespaces(holders: Holders) -> tuple[dict[str, NamespaceSnapshot], list[Problem]]:
    namespaces: dict[str, NamespaceSnapshot] = {}
    problems: list[Problem] = []
    reported: set[str] = set()
    for key, found in sorted(holders.items(), key=lambda item: item[1][0].path):
        first = found[0]
        parsed = first.parsed
        own = tuple(p for h in found for p in h.parsed.problems)
        for holder in found:
            if holder.path not in reported:
                reported.add(holder.path)
                problems.extend(holder.parsed.problems)
        if len(found) > 1:
            clash = claim_problems(key, found)
            problems.extend(clash)
            namespaces[key] = NamespaceSnapshot(key, first.path, None, parsed.digest, clash + own, parsed.text,
                                                str(first.blob))
            continue
        namespaces[key] = NamespaceSnapshot(key, first.path, parsed.source, parsed.digest, parsed.problems,
                                            parsed.text, str(first.blob))
    return namespaces, problems


def _reuse(previous: Snapshot, commit: str, committed_at: datetime, tree_id: str) -> Snapshot:
    return Snapshot(previous.environment, commit, committed_at, previous.namespaces, previous.problems, tree_id,
                    previous.files)
