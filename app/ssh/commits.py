"""Commit lines for the SSH log: watch every environment's branch and attribute each new commit to the connected
person whose e-mail address authored it (the console commits as FLAGDECK_USER, set from the authenticated key).
Environments sharing a branch are told apart by the directory the commit touched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pygit2

MAX_WALK = 100


@dataclass(frozen=True)
class SeenCommit:
    environment: str
    commit: str
    author_name: str
    author_email: str
    summary: str
    paths: tuple[str, ...] = ()

    def touches(self, directory: str) -> bool:
        """Whether the commit changed anything under `directory` ("" = the whole repository)."""
        prefix = directory.strip("/") + "/" if directory.strip("/") else ""
        return not prefix or any(path.startswith(prefix) for path in self.paths)


def new_commits(repo_path: str | Path, new: str, old: str | None) -> list[SeenCommit]:
    """Commits reachable from `new` but not from `old`, oldest first (at most MAX_WALK)."""
    repo = pygit2.Repository(str(repo_path))
    walker = repo.walk(pygit2.Oid(hex=new), pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    if old:
        try:
            walker.hide(pygit2.Oid(hex=old))
        except (KeyError, ValueError, pygit2.GitError):  # history rewritten: report the new tip only
            walker = iter([repo[pygit2.Oid(hex=new)]])
    seen = []
    for commit in walker:
        diff = repo.diff(commit.parents[0], commit) if commit.parents else commit.tree.diff_to_tree(swap=True)
        paths = {path for delta in diff.deltas for path in (delta.old_file.path, delta.new_file.path)}
        summary = commit.message.splitlines()[0] if commit.message else ""
        seen.append(
            SeenCommit(
                "", str(commit.id), commit.author.name, commit.author.email, summary, tuple(sorted(paths))
            )
        )
        if len(seen) >= MAX_WALK:
            break
    return seen


class CommitWatcher:
    """Subscribes to `store.watch`; walks the new commits on the watcher thread, then hands them to `report`
    on the event loop."""

    def __init__(self, store: Any, loop: asyncio.AbstractEventLoop, report: Callable[[SeenCommit], None]):
        self.store = store
        self.loop = loop
        self.report = report
        self.paths: dict[str, Path] = {}
        self.directories: dict[str, str] = {}
        self.heads: dict[str, str | None] = {}
        for info in store.environments():
            self.paths[info.name] = Path(info.path)
            self.directories[info.name] = info.directory or ""
            self.heads[info.name] = store.head(info.name)
        self._unsubscribe = store.watch(self._moved)

    def _moved(self, env: str, commit: str) -> None:
        path = self.paths.get(env)
        old, self.heads[env] = self.heads.get(env), commit
        if path is None or commit == old:
            return
        try:
            found = new_commits(path, commit, old)
        except (pygit2.GitError, KeyError, ValueError) as exc:
            self.loop.call_soon_threadsafe(self.report, SeenCommit(env, commit, "", "", f"unreadable: {exc}"))
            return
        for seen in found:
            if seen.touches(self.directories.get(env, "")):
                self.loop.call_soon_threadsafe(self.report, replace(seen, environment=env))

    def close(self) -> None:
        self._unsubscribe()
