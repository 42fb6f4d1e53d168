"""Git's lock files (`refs/heads/main.lock`, `index.lock`, `packed-refs.lock`, ...): finding them, deciding whether
the writer that made one is gone, and removing one that is provably stale.

Git and libgit2 take a lock by creating `<file>.lock` exclusively and release it by renaming it over `<file>`; a
writer killed in between (kill -9, power loss, a full disk) leaves the lock behind, and every later writer of that
file fails until someone removes it. A lock file records no process id, so "nobody holds it" is decided from what
the kernel knows (Linux `/proc`): no process has the file open (libgit2 keeps it open while it holds the lock), no
`git` process works in the repository (git closes a ref lock before renaming it, and `git commit` holds
`index.lock` while its editor is open) and the file is older than a threshold. This only sees processes of this
machine: on a repository shared over a network file system, keep the threshold long.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STALE_AFTER = 30.0  # seconds: a lock older than this that no process holds is left by a writer that died
PROC = Path("/proc")
OWN_DIR = "flagdeck"  # Flagdeck's own state inside the git directory (work-tree journal, its locks)


@dataclass(frozen=True)
class LockFile:
    path: Path
    age: float  # seconds since it was last modified
    holders: tuple[int, ...] | None  # pids with the file open; None when /proc cannot tell
    git_processes: tuple[int, ...]  # git processes working in the repository (cwd inside it)

    def stale(self, older_than: float = STALE_AFTER) -> bool:
        """True when provably left by a dead writer (on this machine): nobody has it open, no git process works in
        the repository, and it is at least `older_than` seconds old."""
        return self.holders == () and not self.git_processes and self.age >= older_than

    def describe(self) -> str:
        if self.holders:
            who = f"held open by process {', '.join(map(str, self.holders))}"
        elif self.git_processes:
            who = f"git process {', '.join(map(str, self.git_processes))} works in this repository"
        elif self.holders is None:
            who = "cannot tell who holds it (no /proc)"
        else:
            who = "no process holds it"
        return f"{self.path} ({_age(self.age)} old, {who})"


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.0f}h"


def _open_files() -> dict[str, list[int]] | None:
    """Every file some process of this machine has open -> the pids (None when /proc is not there)."""
    if not (PROC / "self" / "fd").is_dir():
        return None
    found: dict[str, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            fds = os.scandir(f"{entry.path}/fd")
        except OSError:
            continue
        with fds:
            for fd in fds:
                try:
                    found.setdefault(os.readlink(fd.path), []).append(int(entry.name))
                except OSError:
                    continue
    return found


def git_processes(roots: list[Path]) -> tuple[int, ...]:
    """Pids of `git` processes (git, git-receive-pack, ...) whose working directory lies in one of `roots`."""
    if not PROC.is_dir():
        return ()
    resolved = [str(r.resolve()) for r in roots]
    found = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            comm = Path(entry.path, "comm").read_text().strip()
            cwd = os.readlink(f"{entry.path}/cwd")
        except OSError:
            continue
        if comm.startswith("git") and any(cwd == r or cwd.startswith(r + os.sep) for r in resolved):
            found.append(int(entry.name))
    return tuple(found)


def find_locks(gitdir: Path, workdir: Path | None = None) -> list[LockFile]:
    """Every `*.lock` file in the git directory (objects excepted), oldest first."""
    paths = []
    for root, dirs, files in os.walk(gitdir):
        if Path(root) == gitdir:
            dirs[:] = [d for d in dirs if d not in ("objects", OWN_DIR)]
        paths += [Path(root, name) for name in files if name.endswith(".lock")]
    if not paths:
        return []
    table = _open_files()
    return sorted((examine(p, gitdir, workdir, table) for p in paths if p.exists()), key=lambda lock: -lock.age)


def examine(path: Path, gitdir: Path, workdir: Path | None = None,
            open_files: dict[str, list[int]] | None = None) -> LockFile:
    try:
        age = max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        age = 0.0
    table = open_files if open_files is not None else _open_files()
    holders = None if table is None else tuple(sorted(set(table.get(str(path.resolve()), []))))
    roots = [gitdir] + ([workdir] if workdir is not None else [])
    return LockFile(path, age, holders, git_processes(roots))


@contextmanager
def exclusive(gitdir: Path, name: str, wait: bool = True) -> Iterator[bool]:
    """An advisory lock (flock) on `<gitdir>/flagdeck/<name>` between Flagdeck processes; the kernel releases it when
    its holder dies, so it can never go stale. Yields False when `wait` is False and another process holds it."""
    own = gitdir / OWN_DIR
    own.mkdir(exist_ok=True)
    fd = os.open(own / name, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def remove_if_stale(path: Path, gitdir: Path, workdir: Path | None = None,
                    older_than: float = STALE_AFTER) -> LockFile | None:
    """Remove the lock file when it is provably stale; return what was removed (None: kept or already gone).
    Lock breakers are serialised, and the file is re-checked to be the same one just before it goes."""
    with exclusive(gitdir, "lockbreak"):
        try:
            before = path.stat()
        except FileNotFoundError:
            return None
        if time.time() - before.st_mtime < older_than:
            return None  # too young to ask /proc about
        lock = examine(path, gitdir, workdir)
        if not lock.stale(older_than):
            return None
        try:
            now = path.stat()
        except FileNotFoundError:
            return None
        if (now.st_ino, now.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
            return None
        path.unlink(missing_ok=True)
        return lock
