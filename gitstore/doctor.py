"""`flagdeck doctor`: what a crash (kill -9, power loss, a full disk) can leave in a repository, found and repaired.

- **Lock files** (`refs/heads/main.lock`, `index.lock`, ...): one left by a writer that provably died (nobody has it
  open, no git process works in the repository, older than the threshold: `gitstore.git.locks`) is removed by `--fix`;
  one in use is reported with who holds it.
- **An interrupted work-tree update** (Flagdeck's journal, `gitstore.git.worktree`): finished by `--fix`.
- **A work tree and index behind the branch**: index entries holding an older committed version of a file than the
  branch (committing them by hand would undo a commit). `--fix` brings each index entry to the branch's version, and
  its file too unless someone edited the file since (an edit is never overwritten).
- **Symbolic links** where a namespace would be: reported (Flagdeck skips them; a person replaces them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitstore.config import Config
from gitstore.git import locks, worktree
from gitstore.git.refs import branch_ref
from gitstore.git.refs import tip as tip_of
from gitstore.git.repo import link_problems
from gitstore.git.snapshot import FEATURE_FILES


@dataclass
class Finding:
    storage: str
    kind: str  # lock, journal, behind, symlink, head, missing
    subject: str  # the file or path concerned
    message: str
    fixable: bool = False
    fixed: bool = False

    def __str__(self) -> str:
        state = "fixed" if self.fixed else ("fixable with --fix" if self.fixable else "not fixed")
        return f"{self.storage}: {self.kind}: {self.message} [{state}]"


def examine(config: Config, fix: bool = False, older_than: float | None = None) -> list[Finding]:
    """Every finding in every configured repository; with `fix`, repaired where it is safe."""
    found: list[Finding] = []
    for name, storage in config.storage.items():
        threshold = storage.stale_lock_after if older_than is None else older_than
        dirs = [env.directory for env in config.environments.values() if env.storage == name]
        found += _storage(name, storage.path, branch_ref(storage.branch), dirs, fix, threshold)
    return found


def _storage(name: str, path: Path, ref: str, directories: list[str], fix: bool, older_than: float
             ) -> list[Finding]:
    try:
        repo = pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError):
        return [Finding(name, "missing", str(path), f"{path} is not a Git repository (yet)")]
    gitdir = Path(repo.path)
    workdir = Path(repo.workdir) if not repo.is_bare else None
    found = [_lock(name, lock, gitdir, workdir, fix, older_than) for lock in locks.find_locks(gitdir, workdir)]
    if workdir is not None:
        found += _work_tree(name, repo, ref, fix)
    tip = tip_of(repo, ref)
    if tip is not None:
        for directory in directories:
            found += [Finding(name, "symlink", p.file, f"{p.file}: {p.message}")
                      for p in link_problems(repo, repo[tip].tree, directory, FEATURE_FILES)]
    return found


def _lock(name: str, lock: locks.LockFile, gitdir: Path, workdir: Path | None, fix: bool,
          older_than: float) -> Finding:
    stale = lock.stale(older_than)
    if stale:
        message = f"stale lock {lock.describe()}: left by a writer that died"
    elif lock.holders == () and not lock.git_processes:
        message = (f"lock {lock.describe()}: younger than {older_than:g}s, so it may still be in use; if no git or "
                   "flagdeck process is writing, `flagdeck doctor --fix --older-than 0` removes it")
    else:
        message = f"lock {lock.describe()}: in use"
    finding = Finding(name, "lock", str(lock.path), message, fixable=stale)
    if fix and stale:
        finding.fixed = locks.remove_if_stale(lock.path, gitdir, workdir, older_than) is not None
    return finding


def _work_tree(name: str, repo: pygit2.Repository, ref: str, fix: bool) -> list[Finding]:
    found = []
    if not worktree.applies(repo, ref):
        head = "a detached HEAD" if repo.head_is_detached else repo.references["HEAD"].target
        return [Finding(name, "head", repo.workdir, f"the work tree has {head} checked out, not {ref}: the store "
                                                    "leaves it alone")]
    journal = worktree.read_journal(repo)
    if journal is not None:
        finding = Finding(name, "journal", str(Path(repo.path) / locks.OWN_DIR / worktree.JOURNAL),
                          f"a work-tree update of commit {journal.get('commit', '?')[:8]} was interrupted "
                          f"({', '.join(journal.get('paths', {})) or 'no paths'})", fixable=True)
        if fix:
            outcome = worktree.recover(repo)
            finding.fixed = outcome is not None and worktree.read_journal(repo) is None
            if outcome is not None and outcome.skipped:
                finding.message += "; left alone: " + "; ".join(f"{p}: {w}" for p, w in outcome.skipped.items())
        found.append(finding)
    late = worktree.behind(repo, ref)
    for item in late:
        what = (f"{item.path}: the index holds an older committed version than {ref} (committing it would undo a "
                "commit)")
        if item.edited:
            what += "; the file was edited since: --fix moves only the index entry, the edit stays in the work tree"
        found.append(Finding(name, "behind", item.path, what, fixable=True))
    if fix and late:
        outcome = worktree.bring_forward(repo, ref, late)
        for finding in found:
            if finding.kind == "behind" and finding.subject in outcome.updated:
                finding.fixed = True
    return found
