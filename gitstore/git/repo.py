"""One Git repository: its own single-worker thread (pygit2 handles are not thread-safe) and the plumbing the
store needs: trees built without a work tree, commits, and a compare-and-swap on branch refs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pygit2
from isal import isal_zlib
from pygit2.enums import FileMode, ObjectType

from gitstore.errors import ConflictError, FlagdeckError, NotFoundError, Problem, ValidationError
from gitstore.git import background, crash, locks, worktree
from gitstore.git.objects import tree_at
from gitstore.git.refs import branch_ref, tip
from gitstore.results import Author

T = TypeVar("T")
# libgit2 keeps every commit and tree it parses in a process-wide cache, by default up to 256 MB of its own count
# (the memory behind it is ~7 times more): a server reading each new commit grew ~2.2 KB a commit, for good (bounded at
# 2 MB it still grew for ~7,500 commits, +16 MB). The store's own caches are keyed by blob and tree id, so it gains
# little: with it off a cold snapshot of 1,000 namespaces takes the same time and the history of one flag over 1,000
# commits 1.18 times as long (bench/gitstore.py, "libgit2 object cache", medians of 8). Flat memory wins: it is off.
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
    pygit2.settings.enable_caching(False)
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
    return tree_at(repo, entry.id) if entry.type == ObjectType.TREE else None


def blob_at(tree: pygit2.Tree, path: str) -> pygit2.Object | None:
    """The regular file at `path` (a symbolic link, or a path through one, is not a file: None)."""
    try:
        entry = tree[path]
    except KeyError:
        return None
    return entry if entry.type == ObjectType.BLOB and entry.filemode != FileMode.LINK else None


def symlink_on(tree: pygit2.Tree, path: str) -> str | None:
    """The first symbolic link (or file standing where a directory is needed) on `path` in `tree`, if any."""
    parts = path.split("/")
    for i in range(len(parts)):
        prefix = "/".join(parts[:i + 1])
        try:
            entry = tree[prefix]
        except KeyError:
            return None
        if entry.filemode == FileMode.LINK or (i < len(parts) - 1 and entry.type != ObjectType.TREE):
            return prefix
    return None


def link_problems(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, files: Iterable[str]
                  ) -> list[Problem]:
    """A warning for each symbolic link where an environment's directory, a namespace directory or a namespace
    file would be: Flagdeck neither reads nor writes through links, so each is skipped."""
    what = "; Flagdeck reads and writes only regular files in the repository, so it is skipped"
    if directory:
        link = symlink_on(tree, directory)
        if link is not None:
            return [Problem(link, 0, "", f"the environment's directory is a symbolic link{what}", "warning")]
    root = subtree(repo, tree, directory)
    found = []
    for entry in root if root is not None else []:
        name = entry.name or ""  # a tree entry always has one
        path = f"{directory}/{name}" if directory else name
        if entry.filemode == FileMode.LINK:
            found.append(Problem(path, 0, "", f"a namespace directory that is a symbolic link{what}", "warning"))
        elif entry.type == ObjectType.TREE:
            sub = tree_at(repo, entry.id)
            found += [Problem(f"{path}/{name}", 0, "", f"a namespace file that is a symbolic link{what}", "warning")
                      for name in files if name in sub and sub[name].filemode == FileMode.LINK]
    return found


BIG_BLOB = 1 << 20  # bytes: a blob this big is written by `write_blob` itself


def write_blob(repo: pygit2.Repository, data: bytes) -> pygit2.Oid:
    """`repo.create_blob(data)`, a big blob written as Git writes a loose object but deflated by ISA-L at its
    level 1 (a zlib stream like any other: Git and libgit2 read it; `git gc` recompresses when it packs): a 46 MB
    namespace file (100,000 flags) is deflated in 25 ms, against zlib level 1's 110 ms and libgit2's 0.3 s, to the
    same size as zlib level 1 (issue 18), on another thread while this one hashes it (both let go of the GIL).
    Written to a temporary file and renamed into place, read-only, as Git does."""
    objects = Path(repo.path) / "objects"
    if len(data) < BIG_BLOB or not objects.is_dir():
        return repo.create_blob(data)
    header = b"blob %d\0" % len(data)
    packed = background.soon("deflate", _deflate, header, data)  # wasted when the object exists: rare
    digest = hashlib.sha1(header)
    digest.update(data)
    name = digest.hexdigest()
    oid = pygit2.Oid(hex=name)
    if repo.odb.exists(oid):
        return oid
    folder = objects / name[:2]
    folder.mkdir(exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(packed.result())
        os.chmod(temp, 0o444)
        os.replace(temp, folder / name[2:])
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return oid


def _deflate(header: bytes, data: bytes) -> bytes:
    deflate = isal_zlib.compressobj(1)
    return deflate.compress(header) + deflate.compress(data) + deflate.flush()


def build_tree(repo: pygit2.Repository, base: pygit2.Tree | None,
               edits: Mapping[str, bytes | pygit2.Oid | None]) -> pygit2.Oid:
    """A new tree: `base` with each path set to the bytes (or existing blob id) given, or removed (None). Only the
    trees on the edited paths are rebuilt; a directory left empty disappears, as does one holding nothing but a
    `.gitkeep`. A path through (or onto) a symbolic link is refused with `ValidationError`: the store never
    replaces a committed link, nor writes where it points."""
    if base is not None:
        for path in edits:
            link = symlink_on(base, path)
            if link is not None:
                raise ValidationError([Problem(link, 0, "", f"is a symbolic link (or a file where a directory is "
                                               f"needed): {path} is not written; Flagdeck reads and writes only "
                                               "regular files in directories of the repository")])
    return _build(repo, base, edits)


def _build(repo: pygit2.Repository, base: pygit2.Tree | None, edits: Mapping[str, bytes | pygit2.Oid | None]
           ) -> pygit2.Oid:
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
            blob = data if isinstance(data, pygit2.Oid) else write_blob(repo, data)
            builder.insert(name, blob, FileMode.BLOB)
    for name, sub_edits in nested.items():
        existing = builder.get(name)
        sub_base = tree_at(repo, existing.id) if existing is not None and existing.type == ObjectType.TREE else None
        sub_id = _build(repo, sub_base, sub_edits)
        sub = tree_at(repo, sub_id)
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


class RefLocked(ConflictError):
    """The ref's lock file exists: another writer holds it, or one died holding it (`lock` is its path)."""

    def __init__(self, message: str, resource: str, lock: Path):
        super().__init__(message, resource=resource)
        self.lock = lock


def _lost_race(exc: BaseException) -> bool:
    text = str(exc)
    return ".lock" in text or "locked file" in text or "does not match" in text or "not the first parent" in text


def _locked(exc: BaseException) -> bool:
    text = str(exc)
    return ".lock" in text or "locked file" in text


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
            crash.point("ref-locked")
            txn.set_target(ref, new, message=message)
    except pygit2.AlreadyExistsError:
        raise ConflictError(f"{ref} was created by another writer", resource=ref) from None
    except (OSError, pygit2.GitError) as exc:
        if _locked(exc):
            raise RefLocked(f"{ref} is locked by another writer ({exc})", ref, Path(repo.path) / f"{ref}.lock"
                            ) from None
        if _lost_race(exc):
            raise ConflictError(f"{ref}: lost a race with another writer ({exc})", resource=ref) from None
        if tip(repo, ref) == new:
            return  # moved; what failed came after (the reflog, on a full disk)
        raise write_error(repo, exc, f"update {ref}") from None


class RepositoryLocked(StorageError):
    """A lock file of the repository stays in place: its message names the file and what to do."""

    def __init__(self, message: str, lock: Path):
        super().__init__(message)
        self.lock = lock


def publish(repo: pygit2.Repository, ref: str, expected: pygit2.Oid, new: pygit2.Oid, message: str,
            changed: worktree.Changed, stale_after: float = locks.STALE_AFTER) -> worktree.Outcome | None:
    """Move `ref` from `expected` to `new` (`cas_ref`), with the work tree and index brought along when the
    repository has one checked out on `ref` (`gitstore.git.worktree`). A ref lock left by a writer that provably died
    (`gitstore.git.locks`: older than `stale_after`, nobody holds it) is removed and the move tried again."""
    for _ in range(2):
        try:
            if not worktree.applies(repo, ref):
                cas_ref(repo, ref, expected, new, message)
                crash.point("ref-moved")
                return None
            with worktree.updating(repo, ref, new, changed, stale_after) as outcome:
                cas_ref(repo, ref, expected, new, message)
            return outcome
        except RefLocked as exc:
            workdir = Path(repo.workdir) if not repo.is_bare else None
            if locks.remove_if_stale(exc.lock, Path(repo.path), workdir, stale_after) is None:
                raise
        except worktree.IndexLocked as exc:
            raise locked_error(repo, "the index", exc.lock, stale_after) from None
        except (OSError, pygit2.GitError) as exc:
            raise write_error(repo, exc, "update the work tree") from None
    raise RefLocked(f"{ref} is locked again", ref, Path(repo.path) / f"{ref}.lock")


def write_error(repo: pygit2.Repository, exc: BaseException, doing: str) -> StorageError:
    """A failed write as a StorageError that says what could not be done, why (libgit2 says "no error" when a disk
    is full, so the free space is given when it is low) and that nothing was committed."""
    reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
    try:
        space = os.statvfs(repo.path)
        free = space.f_bavail * space.f_frsize
    except OSError:
        free = None
    if free is not None and free < 1024 * 1024:
        reason += f"; the file system holding it has {free // 1024} KiB free"
    return StorageError(f"{repo.path}: cannot {doing}: {reason}. Nothing was committed")


def locked_error(repo: pygit2.Repository, ref: str, lock: Path, stale_after: float) -> RepositoryLocked:
    """The error for a lock that stayed in place through every attempt: the file, who holds it, what to do."""
    workdir = Path(repo.workdir) if not repo.is_bare else None
    found = locks.examine(lock, Path(repo.path), workdir)
    return RepositoryLocked(
        f"{ref} is locked: {found.describe()}. A git or flagdeck process killed while committing leaves this file "
        f"behind; if none is writing to {repo.path} now, run `flagdeck doctor --fix` (or delete the file). The "
        f"store removes such a lock by itself once it is {stale_after:g}s old and no process holds it. Nothing was "
        "committed.", lock)


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
