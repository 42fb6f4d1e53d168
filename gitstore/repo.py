"""One Git repository: its own single-worker thread (pygit2 handles are not thread-safe) and the plumbing the
store needs: trees built without a work tree, commits, and a compare-and-swap on branch refs."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pygit2
from pygit2.enums import FileMode, ObjectType

from gitstore.errors import ConflictError, FlagdeckError, NotFoundError
from gitstore.results import Author

T = TypeVar("T")
README = b"# Feature flags\n\nFlipt-format namespaces (`<namespace>/features.yaml`), managed with Flagdeck.\n"


class StorageError(FlagdeckError):
    """A Git operation failed for a reason other than a lost race (corrupt object, permissions, disk full)."""


class GitRepo:
    """A repository and the one thread that touches it. `run` executes a function on that thread with the open
    `pygit2.Repository` as first argument and waits; called from that thread it runs inline."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"git-{name}")
        self._local = threading.local()
        self._thread: int | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._executor.submit(self._call, fn, *args)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        if threading.get_ident() == self._thread:
            return fn(self.handle(), *args)
        return self.submit(fn, *args).result()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self._thread = threading.get_ident()
        return fn(self.handle(), *args)

    def handle(self) -> pygit2.Repository:
        repo = getattr(self._local, "repo", None)
        if repo is None:
            repo = self._local.repo = open_repository(self.path)
        return repo

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def open_repository(path: Path) -> pygit2.Repository:
    """Open the repository at `path` (bare or with a work tree), creating a bare one when nothing is there."""
    found = pygit2.discover_repository(str(path)) if path.exists() else None
    if found and Path(found).resolve() in (path.resolve(), (path / ".git").resolve()):
        return pygit2.Repository(found)
    if path.exists() and not path.is_dir():
        raise StorageError(f"{path}: is a file, not a Git repository")
    try:
        if path.exists() and any(path.iterdir()):
            raise StorageError(f"{path}: exists and is not a Git repository")
        path.mkdir(parents=True, exist_ok=True)
        return pygit2.init_repository(str(path), bare=True, initial_head="main")
    except (OSError, pygit2.GitError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StorageError(f"{path}: cannot create a Git repository here: {reason}") from None


def branch_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def tip(repo: pygit2.Repository, ref: str) -> pygit2.Oid | None:
    found = repo.references.get(ref)
    return found.target if found is not None else None


def commit_of(repo: pygit2.Repository, commit: str | pygit2.Oid) -> pygit2.Commit:
    try:
        obj = repo[commit] if isinstance(commit, pygit2.Oid) else repo.revparse_single(commit)
        return obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise NotFoundError(f"commit {commit} not found in {repo.path}") from None


def subtree(repo: pygit2.Repository, tree: pygit2.Tree, directory: str) -> pygit2.Tree | None:
    if not directory:
        return tree
    try:
        entry = tree[directory]
    except KeyError:
        return None
    return repo[entry.id] if entry.type == ObjectType.TREE else None


def blob_at(tree: pygit2.Tree, path: str) -> pygit2.Object | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry if entry.type == ObjectType.BLOB else None


def build_tree(repo: pygit2.Repository, base: pygit2.Tree | None,
               edits: dict[str, bytes | pygit2.Oid | None]) -> pygit2.Oid:
    """A new tree: `base` with each path set to the bytes (or existing blob id) given, or removed (None). Only the
    trees on the edited paths are rebuilt; a directory left empty disappears, as does one holding nothing but a
    `.gitkeep`."""
    nested: dict[str, dict[str, bytes | pygit2.Oid | None]] = {}
    files: dict[str, bytes | pygit2.Oid | None] = {}
    for path, data in edits.items():
        head, _, rest = path.partition("/")
        if rest:
            nested.setdefault(head, {})[rest] = data
        else:
            files[head] = data
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, data in files.items():
        if data is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            blob = data if isinstance(data, pygit2.Oid) else repo.create_blob(data)
            builder.insert(name, blob, FileMode.BLOB)
    for name, sub_edits in nested.items():
        existing = builder.get(name)
        sub_base = repo[existing.id] if existing is not None and existing.type == ObjectType.TREE else None
        sub_id = build_tree(repo, sub_base, sub_edits)
        sub = repo[sub_id]
        if len(sub) == 0 or (len(sub) == 1 and sub[0].name == ".gitkeep" and not sub_edits.get(".gitkeep")):
            if existing is not None:
                builder.remove(name)
        else:
            builder.insert(name, sub_id, FileMode.TREE)
    return builder.write()


def signature(author: Author, when: float | None = None) -> pygit2.Signature:
    return pygit2.Signature(author.name, author.email, int(when if when is not None else time.time()), 0)


def make_commit(repo: pygit2.Repository, tree: pygit2.Oid, parents: Iterable[pygit2.Oid], author: Author,
                message: str, committer: Author | None = None, when: float | None = None) -> pygit2.Oid:
    """Write a commit object without moving any ref (the caller compares-and-swaps the branch)."""
    sig = signature(author, when)
    other = signature(committer, when) if committer is not None else sig
    return repo.create_commit(None, sig, other, message, tree, list(parents))


def _lost_race(exc: BaseException) -> bool:
    text = str(exc)
    return ".lock" in text or "locked file" in text or "does not match" in text or "not the first parent" in text


def cas_ref(repo: pygit2.Repository, ref: str, expected: pygit2.Oid | None, new: pygit2.Oid, message: str) -> None:
    """Move `ref` from `expected` to `new` atomically (create it when `expected` is None); `ConflictError` when
    another writer got there first. Safe against other processes and the git CLI (same lock-file protocol)."""
    try:
        if expected is None:
            repo.create_reference(ref, new, force=False, message=message)
            return
        with repo.transaction() as txn:
            txn.lock_ref(ref)
            current = tip(repo, ref)
            if current != expected:
                raise ConflictError(f"{ref} moved from {expected} to {current}", resource=ref)
            txn.set_target(ref, new, message=message)
    except pygit2.AlreadyExistsError:
        raise ConflictError(f"{ref} was created by another writer", resource=ref) from None
    except (OSError, pygit2.GitError) as exc:
        if _lost_race(exc):
            raise ConflictError(f"{ref}: lost a race with another writer ({exc})", resource=ref) from None
        raise StorageError(f"{repo.path}: cannot update {ref}: {exc}") from None


def ensure_branch(repo: pygit2.Repository, branch: str, author: Author) -> pygit2.Oid:
    """The branch tip, creating the branch with Flipt's first commit (`add initial README`) when it is unborn."""
    ref = branch_ref(branch)
    current = tip(repo, ref)
    if current is not None:
        return current
    tree = build_tree(repo, None, {"README.md": README})
    commit = make_commit(repo, tree, [], author, "add initial README")
    try:
        cas_ref(repo, ref, None, commit, "flagdeck: initial commit")
    except ConflictError:
        pass  # another process created it first: use theirs
    found = tip(repo, ref)
    assert found is not None
    return found


def gc_auto(path: Path) -> threading.Thread | None:
    """`git gc --auto` in a background thread (libgit2 never packs loose objects). The default thresholds make it
    a no-op until about 1,300 one-file commits; the default prune grace period protects commits written but not
    yet referenced by a concurrent writer."""
    git = shutil.which("git")
    if git is None:
        return None
    command = [git, "-C", str(path), "-c", "gc.autoDetach=false", "gc", "--auto", "--quiet"]
    thread = threading.Thread(target=subprocess.run, args=(command,), name="flagdeck-gc", daemon=True,
                              kwargs={"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False})
    thread.start()
    return thread


def update_worktree(repo: pygit2.Repository, ref: str, changed: dict[str, tuple[pygit2.Oid | None, pygit2.Oid | None]]
                    ) -> list[str]:
    """For a repository with a work tree whose HEAD is `ref`: bring each changed file (path -> (old blob, new
    blob)) in the work tree and the index up to the new commit, as Flipt does, but only where the file still holds
    the old version; a file edited by hand meanwhile is left alone. Returns the paths left alone."""
    if repo.is_bare or repo.head_is_detached or repo.references["HEAD"].target != ref:
        return []
    workdir = Path(repo.workdir)
    index = repo.index
    index.read()
    skipped = []
    for path, (old, new) in changed.items():
        target = workdir / path
        on_disk = pygit2.hashfile(str(target)) if target.is_file() else None
        in_index = index[path].id if path in index else None
        if on_disk != old or in_index != old:
            skipped.append(path)
            continue
        if new is None:
            target.unlink(missing_ok=True)
            index.remove(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(repo[new].data)
            index.add(path)
    try:
        index.write()
    except (OSError, pygit2.GitError):
        skipped.extend(p for p in changed if p not in skipped)  # index locked by a concurrent git command
    return skipped
