"""Keeping a repository's work tree and index in step with the commits the store makes, so that no crash can leave
a state that undoes a commit.

The store commits without a work tree (trees built in the object database, then a compare-and-swap on the branch).
In a repository with a work tree whose HEAD is that branch, each changed file is also brought up to date in the
work tree and the index, as Flipt does, but only where it still holds the previous version (a file a person edited
is left alone). The order makes a crash harmless:

1. under an advisory lock that serialises Flagdeck's writers of this work tree, a journal
   (`<gitdir>/flagdeck/worktree.json`: the branch, the commit being made, each path's old and new blob) is written;
2. the files and the index get the new versions (files replaced atomically, never through a symbolic link);
3. the branch moves (compare-and-swap); if it does not, step 2 is rolled back;
4. the journal is removed.

Killed before 3, the index and files hold a change that is not committed yet (`git status` shows it staged, as
after `git add`), never an older version of something committed. A journal left behind names the paths to bring
to whatever the branch holds; `recover` does that at the next commit, when a store opens, and `flagdeck doctor`.
Files are written only as regular files below the work tree's root: a symbolic link anywhere on the way (a
committed one, or one made by hand) makes the store leave that path alone and report it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FileMode

from gitstore.git import crash, locks
from gitstore.git.locks import OWN_DIR, exclusive
from gitstore.git.objects import blob_bytes, commit_at
from gitstore.git.refs import tip as tip_of

JOURNAL = "worktree.json"
INDEX_LOCK_WAIT = 1.0  # seconds to wait for a git command holding index.lock before leaving the index alone
Changed = dict[str, tuple[pygit2.Oid | None, pygit2.Oid | None]]  # path -> (old blob, new blob)


class UnsafePath(Exception):
    """A path of the work tree goes through a symbolic link, or is not a regular file."""


@dataclass
class Outcome:
    updated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why it was left alone
    written: dict[str, pygit2.Oid | None] = field(default_factory=dict)  # file written -> its version before


def applies(repo: pygit2.Repository, ref: str) -> bool:
    """True when the repository has a work tree checked out on `ref`."""
    return not repo.is_bare and not repo.head_is_detached and repo.references["HEAD"].target == ref


# ----- files, never through a symbolic link -------------------------------------------------------------------------
def _parts(path: str) -> list[str]:
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"{path}: not a plain path inside the repository")
    return parts


@contextmanager
def _directory(root: Path, parts: list[str], create: bool) -> Iterator[int | None]:
    """A descriptor of root/parts[0]/.../parts[-1], opened component by component without following links (None
    when missing and not `create`)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i, name in enumerate(parts):
            try:
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    yield None
                    return
                os.mkdir(name, 0o777, dir_fd=fd)
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except (NotADirectoryError, OSError) as exc:
                if isinstance(exc, NotADirectoryError) or exc.errno == errno.ELOOP:  # a symbolic link
                    where = "/".join(parts[:i + 1])
                    raise UnsafePath(f"{where} is a symbolic link or not a directory") from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _regular(fd: int, name: str, path: str) -> bool:
    """True when `name` in the directory is a regular file, False when absent; UnsafePath for anything else."""
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(f"{path} is a symbolic link or not a regular file")
    return True


def read_file(root: Path, path: str) -> bytes | None:
    """The bytes of a regular file of the work tree (None when absent); UnsafePath through a link."""
    *dirs, name = _parts(path)
    with _directory(root, dirs, create=False) as fd:
        if fd is None or not _regular(fd, name, path):
            return None
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        with os.fdopen(handle, "rb") as f:
            return f.read()


def write_file(root: Path, path: str, data: bytes | None) -> None:
    """Replace the file atomically with `data` (a temporary file renamed over it), or delete it (None)."""
    *dirs, name = _parts(path)
    with _directory(root, dirs, create=data is not None) as fd:
        if fd is None:
            return
        exists = _regular(fd, name, path)
        if data is None:
            if exists:
                os.unlink(name, dir_fd=fd)
            return
        temp = f".{name}.flagdeck-{os.getpid()}"
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666, dir_fd=fd)
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(data)
            os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(temp, dir_fd=fd)
            except OSError:
                pass
            raise


def _blob_id(data: bytes | None) -> pygit2.Oid | None:
    return pygit2.hash(data) if data is not None else None


# ----- the journal --------------------------------------------------------------------------------------------------
def _journal(repo: pygit2.Repository) -> Path:
    return Path(repo.path) / OWN_DIR / JOURNAL


def _write_journal(repo: pygit2.Repository, ref: str, commit: pygit2.Oid, changed: Changed) -> None:
    path = _journal(repo)
    record = {"ref": ref, "commit": str(commit), "pid": os.getpid(), "time": time.time(),
              "paths": {p: [str(o) if o else None, str(n) if n else None] for p, (o, n) in changed.items()}}
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(record))
    os.replace(temp, path)


def read_journal(repo: pygit2.Repository) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads(_journal(repo).read_text())
        return record
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"ref": "", "commit": "", "paths": {}, "broken": True}


# ----- bringing paths to a version ----------------------------------------------------------------------------------
def _move(repo: pygit2.Repository, index: pygit2.Index, moves: dict[str, tuple[set[pygit2.Oid | None], pygit2.Oid | None]],
          outcome: Outcome) -> None:
    """Set each path's file, and its index entry, to the blob given where it holds one of the accepted versions.
    The two are decided apart: a file edited by hand (or reached through a symbolic link) is left alone while its
    index entry still follows the branch, so the index never holds an older version than the commit."""
    root = Path(repo.workdir)
    for path, (accepted, target) in moves.items():
        try:
            on_disk = _blob_id(read_file(root, path))
            file_ok = on_disk in accepted
            why = "" if file_ok else "the file was changed by hand: left alone"
        except UnsafePath as exc:
            on_disk, file_ok, why = None, False, f"{exc}: the file is left alone"
        in_index = index[path].id if path in index else None
        if file_ok and on_disk != target:
            try:
                write_file(root, path, blob_bytes(repo, target) if target is not None else None)
                outcome.written[path] = on_disk
            except UnsafePath as exc:
                file_ok, why = False, f"{exc}: the file is left alone"
        if in_index not in accepted:
            why = "staged by someone else: the file and its index entry are left alone"
        elif in_index != target:
            if target is None:
                index.remove(path)
            elif file_ok:
                index.add(path)
            else:
                index.add(pygit2.IndexEntry(path, target, index[path].mode if path in index else FileMode.BLOB))
        if in_index in accepted:
            outcome.updated.append(path)
        if why:
            outcome.skipped[path] = why


class IndexLocked(Exception):
    """`index.lock` stayed in place: a git command holds it (or died holding it and it is not provably stale)."""

    def __init__(self, lock: Path):
        super().__init__(f"{lock} is held")
        self.lock = lock


def _write_index(repo: pygit2.Repository, index: pygit2.Index, stale_after: float) -> None:
    """Write the index, waiting a moment for a git command holding `index.lock`; one left by a writer that
    provably died is removed. `IndexLocked` when it stays; other failures (a full disk) are raised as they are."""
    lock = Path(repo.path) / "index.lock"
    deadline = time.monotonic() + INDEX_LOCK_WAIT
    while True:
        try:
            index.write()
            return
        except (OSError, pygit2.GitError):
            if not lock.exists():
                raise
            if locks.remove_if_stale(lock, Path(repo.path), Path(repo.workdir), stale_after) is not None:
                continue
            if time.monotonic() > deadline:
                raise IndexLocked(lock) from None
            time.sleep(0.02)


def _apply(repo: pygit2.Repository, moves: dict[str, tuple[set[pygit2.Oid | None], pygit2.Oid | None]], outcome: Outcome,
           stale_after: float = locks.STALE_AFTER) -> Outcome:
    """Move the paths (`_move`) and write the index. On any failure the files written are put back (as far as the
    disk allows) and the error raised: the files and the index never part."""
    index = repo.index
    index.read(True)
    try:
        _move(repo, index, moves, outcome)
        if outcome.updated or outcome.written:
            _write_index(repo, index, stale_after)
    except BaseException:
        root = Path(repo.workdir)
        for path, previous in outcome.written.items():
            write_file(root, path, blob_bytes(repo, previous) if previous is not None else None)
        outcome.updated, outcome.written = [], {}
        raise
    return outcome


@contextmanager
def updating(repo: pygit2.Repository, ref: str, commit: pygit2.Oid, changed: Changed,
             stale_after: float = locks.STALE_AFTER) -> Iterator[Outcome]:
    """Steps 1, 2 and 4 of the module docstring around the caller's compare-and-swap (step 3, inside the block):
    the work tree and the index are updated before the block and rolled back if it raises. Raises (nothing
    committed) when they cannot be updated: `IndexLocked`, or the OSError of a full disk."""
    gitdir = Path(repo.path)
    with exclusive(gitdir, "worktree"):
        recover(repo, locked=True)
        try:
            _write_journal(repo, ref, commit, changed)
            outcome = _apply(repo, {p: ({old}, new) for p, (old, new) in changed.items()}, Outcome(), stale_after)
        except BaseException:
            _journal(repo).unlink(missing_ok=True)
            raise
        crash.point("worktree-written")
        try:
            yield outcome
        except BaseException:
            back = {p: ({new}, old) for p, (old, new) in changed.items()
                    if p in outcome.updated or p in outcome.written}
            try:
                _apply(repo, back, Outcome(), stale_after)
                _journal(repo).unlink(missing_ok=True)
            except Exception:  # noqa: BLE001 - the journal stays: `recover` finishes the rollback later
                pass
            raise
        crash.point("ref-moved")
        _journal(repo).unlink(missing_ok=True)


def recover(repo: pygit2.Repository, locked: bool = False) -> Outcome | None:
    """Finish an interrupted work-tree update: each path the journal names goes to the version the branch holds,
    where its file and index entry hold the journal's old or new version (or already that one). None when there
    was nothing to recover, or another Flagdeck process is in the middle of an update."""
    if repo.is_bare or not _journal(repo).exists():
        return None
    if not locked:
        with exclusive(Path(repo.path), "worktree", wait=False) as got:
            return recover(repo, locked=True) if got else None
    record = read_journal(repo)
    if record is None:
        return None
    outcome = Outcome()
    ref = record.get("ref", "")
    if record.get("broken") or not applies(repo, ref):
        _journal(repo).unlink(missing_ok=True)
        return outcome
    tip = tip_of(repo, ref)
    tree = repo[tip].tree if tip is not None else None
    moves = {}
    for path, (old, new) in record["paths"].items():
        now = entry(tree, path)
        versions = {pygit2.Oid(hex=v) if v else None for v in (old, new)} | {now}
        moves[path] = (versions, now)
    try:
        outcome = _apply(repo, moves, Outcome())
    except Exception as exc:  # noqa: BLE001 - a held index.lock, a full disk: the journal stays for next time
        return Outcome(skipped={path: f"not recovered yet: {exc}" for path in moves})
    _journal(repo).unlink(missing_ok=True)
    return outcome


def entry(tree: pygit2.Tree | None, path: str) -> pygit2.Oid | None:
    if tree is None:
        return None
    try:
        return tree[path].id
    except KeyError:
        return None


# ----- the work tree and index against the branch -------------------------------------------------------------------
@dataclass(frozen=True)
class Behind:
    """A path whose index entry (and file) hold an older committed version than the branch: committing the index
    by hand would undo a commit."""

    path: str
    index: str | None  # blob id in the index (None: not in the index)
    branch: str | None  # blob id on the branch
    edited: bool  # the file in the work tree differs from the index entry (someone edited it since)


def behind(repo: pygit2.Repository, ref: str, depth: int = 200) -> list[Behind]:
    """Paths whose index entry differs from the branch tip and equals that path's blob in one of the last `depth`
    commits of the branch (first parents): what a crash between a commit and its work-tree update leaves."""
    current = tip_of(repo, ref) if applies(repo, ref) else None
    if current is None:
        return []
    index = repo.index
    index.read(True)
    head = commit_at(repo, current)
    staged = index.diff_to_tree(head.tree)
    found = []
    for delta in staged.deltas:
        path = delta.new_file.path or delta.old_file.path
        in_index = index[path].id if path in index else None
        on_branch = entry(head.tree, path)
        if not _was_committed(repo, head, path, in_index, depth):
            continue
        try:
            on_disk: object = _blob_id(read_file(Path(repo.workdir), path))
        except UnsafePath:
            on_disk = object()
        found.append(Behind(path, str(in_index) if in_index else None, str(on_branch) if on_branch else None,
                            on_disk != in_index))
    return found


def _was_committed(repo: pygit2.Repository, head: pygit2.Commit, path: str, blob: pygit2.Oid | None,
                   depth: int) -> bool:
    commit = head
    for _ in range(depth):
        if not commit.parents:
            return False
        commit = commit.parents[0]
        if entry(commit.tree, path) == blob:
            return True
    return False


def bring_forward(repo: pygit2.Repository, ref: str, paths: list[Behind]) -> Outcome:
    """Bring the paths' index entries to the branch's version, and their files where nobody edited them."""
    current = tip_of(repo, ref)
    if current is None:
        return Outcome()
    head = commit_at(repo, current)
    moves = {}
    for item in paths:
        current = pygit2.Oid(hex=item.index) if item.index else None
        moves[item.path] = ({current}, entry(head.tree, item.path))
    with exclusive(Path(repo.path), "worktree"):
        return _apply(repo, moves, Outcome())
