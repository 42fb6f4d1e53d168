"""The change sets of an environment's branch, from Git: its first-parent line, each commit that changed the
environment's directory compared with its first parent namespace by namespace (the store's snapshots and
`diff_documents`, through `gitstore.model.revert.made_by`; a namespace whose file did not change is not parsed
twice). Runs on the repository's own thread (`Store.changes`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pygit2
from pygit2.enums import SortMode

from gitstore.errors import NotFoundError
from gitstore.events.model import ChangeSet, ResourceChange, resource_change, trailers
from gitstore.git.history import _same_directory
from gitstore.git.refs import tip
from gitstore.git.repo import commit_of
from gitstore.git.snapshot import ParseCache, Snapshot, build_snapshot
from gitstore.model.changes import Change, Kind
from gitstore.model.revert import made_by


def _line(repo: pygit2.Repository, ref: str, stop: pygit2.Oid | None) -> Iterator[pygit2.Commit]:
    """The branch's first-parent line from its tip, newest first, down to `stop` (excluded)."""
    start = tip(repo, ref)
    if start is None:
        raise NotFoundError(f"{ref} does not exist")
    walker = repo.walk(start, SortMode.TOPOLOGICAL | SortMode.TIME)
    walker.simplify_first_parent()
    for commit in walker:
        if commit.id == stop:
            return
        yield commit


def _stop_at(repo: pygit2.Repository, ref: str, since: str) -> pygit2.Oid:
    """Where a walk "after `since`" stops: `since` itself when the branch holds it, else (the branch's history was
    rewritten) where the two lines meet, so only the commits new to the branch count."""
    found = commit_of(repo, since).id
    head = tip(repo, ref)
    if head is None:
        raise NotFoundError(f"{ref} does not exist")
    if found == head or repo.descendant_of(head, found):
        return found
    base = repo.merge_base(head, found)
    if base is None:
        raise NotFoundError(f"commit {since} shares no history with {ref}")
    return base


class _Snapshots:
    """Snapshots of the commits a walk compares, each built once (a commit is one change set's parent and the
    next one's commit)."""

    def __init__(self, repo: pygit2.Repository, env: str, directory: str, cache: ParseCache):
        self.repo, self.env, self.directory, self.cache = repo, env, directory, cache
        self.built: dict[pygit2.Oid, Snapshot] = {}
        self.last: Snapshot | None = None

    def at(self, commit: pygit2.Commit) -> Snapshot:
        found = self.built.get(commit.id)
        if found is None:
            found = build_snapshot(self.repo, self.env, commit, self.directory, self.cache, self.last)
            self.built[commit.id] = found
            while len(self.built) > 2:  # the next comparison needs at most the last two again
                del self.built[next(iter(self.built))]
            self.last = found
        return found


def change_set(repo: pygit2.Repository, env: str, commit: pygit2.Commit, directory: str,
               snapshots: _Snapshots) -> ChangeSet:
    parent = commit.parents[0] if commit.parents else None
    before = snapshots.at(parent) if parent is not None else None
    after = snapshots.at(commit)
    changes: list[ResourceChange] = []
    problems: list[str] = []
    old = before.namespaces if before is not None else {}
    for key in sorted(old.keys() | after.namespaces.keys()):
        was, now = old.get(key), after.namespaces.get(key)
        if was is not None and now is not None and (was.path, was.digest) == (now.path, now.digest):
            continue
        if now is not None and not now.valid:
            problems += [str(p) for p in now.problems if p.severity == "error"]
            continue
        before_doc = was.document if was is not None else None
        after_doc = now.document if now is not None else None
        made = made_by(key, before_doc, after_doc, None)
        if after_doc is None and before_doc is not None:  # a namespace deleted: each of its resources with it
            made = [*(Change(key, Kind.FLAG, f.key, None) for f in before_doc.flags),
                    *(Change(key, Kind.SEGMENT, s.key, None) for s in before_doc.segments), *made]
        changes += [resource_change(c, before_doc) for c in made]
    return ChangeSet(environment=env, commit=str(commit.id), parent=str(parent.id) if parent is not None else None,
                     author_name=commit.author.name, author_email=commit.author.email,
                     time=datetime.fromtimestamp(commit.author.time, UTC), message=commit.message,
                     trailers=trailers(commit.message), changes=tuple(changes), problems=tuple(problems))


def one(repo: pygit2.Repository, env: str, commit: str, directory: str, cache: ParseCache) -> ChangeSet:
    """The change set of one commit (any revision) against its first parent."""
    return change_set(repo, env, commit_of(repo, commit), directory, _Snapshots(repo, env, directory, cache))


def pending(repo: pygit2.Repository, env: str, ref: str, directory: str, cache: ParseCache, since: str,
            limit: int) -> tuple[str, list[ChangeSet]]:
    """(the branch tip, oldest first the change sets of the first `limit` commits after `since` that changed the
    environment: delivery order). When fewer than `limit`, they are all there are up to that tip."""
    stop = _stop_at(repo, ref, since)
    line = list(_line(repo, ref, stop))
    head = str(line[0].id) if line else str(stop)
    commits = [c for c in line if not c.parents or not _same_directory(repo, c, c.parents[0], directory)]
    snapshots = _Snapshots(repo, env, directory, cache)
    return head, [change_set(repo, env, c, directory, snapshots) for c in reversed(commits[-limit:])]


def recent(repo: pygit2.Repository, env: str, ref: str, directory: str, cache: ParseCache, limit: int,
           since: str | None = None, after: datetime | None = None, namespace: str | None = None,
           flag: str | None = None) -> list[ChangeSet]:
    """Newest first: up to `limit` change sets (after commit `since`, or authored at or after `after`), keeping
    only the changes to `namespace` (and to its flag `flag`); a change set left with no change is dropped unless
    no filter is set."""
    stop = _stop_at(repo, ref, since) if since is not None else None
    snapshots = _Snapshots(repo, env, directory, cache)
    found: list[ChangeSet] = []
    for commit in _line(repo, ref, stop):
        if after is not None and datetime.fromtimestamp(commit.author.time, UTC) < after:
            break
        if commit.parents and _same_directory(repo, commit, commit.parents[0], directory):
            continue
        changes = change_set(repo, env, commit, directory, snapshots)
        if namespace is not None or flag is not None:
            kept = tuple(c for c in changes.changes if (namespace is None or c.namespace == namespace) and (
                flag is None or (c.kind == "flag" and c.key == flag)))
            if not kept:
                continue
            changes = changes.model_copy(update={"changes": kept})
        found.append(changes)
        if len(found) >= limit:
            break
    return found
