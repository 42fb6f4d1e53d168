"""What the console knows while it runs, beyond the session (no Textual here: the screens and
`app/screens/live.py` show it): the branch moves seen, the pending edits that now conflict with newer commits, the
editors that read a version which changed underneath them, and what the evaluate and review screens share (recent
contexts, the impact sample, what boolean flags really serve)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text

from app.insight.conflicts import (
    Conflict,
    already_applied,
    conflict_key,
    find_conflicts,
    rebase_pending,
    resolve,
)
from app.insight.impact import POPULATION_SIZE, Entity
from app.insight.moves import BranchMove
from app.insight.recents import RecentContexts
from app.insight.served import ServedCache
from app.session_edits import Pending, Resource
from gitstore.model.changes import Kind, resource_value

if TYPE_CHECKING:
    from app.session import Session


class OpenEditor(Protocol):
    """An editor open in the console (`ResourceEditorScreen`): the kind of resource and the version it read."""

    KIND: Kind

    @property
    def read(self) -> Resource: ...

    def is_open(self) -> bool: ...


@dataclass
class StaleRead:
    """An editor open on a resource that changed underneath it: what the editor read, and where it changed."""

    read: Resource
    editor: OpenEditor
    commit: str
    authors: list[str] = field(default_factory=list)


@dataclass
class Refresh:
    """What reading a moved branch found, for the console to tell: `news` is the move in words when it changed this
    environment's own data (and was not one's own commit); `stale` names each open editor's resource that changed
    underneath it ("flag new-checkout"); `conflicts` counts the environment's open conflicts."""

    news: str | None
    stale: list[str]
    conflicts: int


class Insight:
    def __init__(self, session: Session, sample: list[Entity] | None = None,
                 population_size: int = POPULATION_SIZE) -> None:
        self.session = session
        self.sample = list(sample or [])
        self.population_size = population_size
        self.conflicts: dict[tuple[str, str, str, str], Conflict] = {}
        self.moves: list[BranchMove] = []  # every move seen, newest last
        self.stale: dict[tuple[str, str, str, str], StaleRead] = {}
        self._recents: RecentContexts | None = None
        self.served = ServedCache()  # what boolean flags really serve (issue 14 #6)

    @property
    def recents(self) -> RecentContexts:
        if self._recents is None:
            self._recents = RecentContexts()
        return self._recents

    # ----- a branch moved ---------------------------------------------------------------------------------------
    def apply(self, env: str, old: Any, new: Any, move: BranchMove | None,
              editors: Iterable[OpenEditor]) -> Refresh | None:
        """Take the environment's new snapshot: drop the pending edits it already holds, mark those it conflicts
        with and the editors it made stale, rebase the rest onto it. None when something newer was loaded
        meanwhile (its own move brings a refresh)."""
        session = self.session
        current = session.snapshots.get(env)
        if current is not None and current is not old and current.commit != new.commit:
            return None
        session.snapshots[env] = session.seen[env] = new
        applied = already_applied(session.pending_for(env), new)
        for p in applied:
            session.discard(p)
        for conflict in find_conflicts(session.pending_for(env), new, move.authors if move else []):
            self.conflicts[conflict.key] = conflict
        stale = self.mark_stale(env, new, move, editors) if move is not None else []
        self.prune()
        if not self.open_conflicts(env):
            rebase_pending(session, env, new.commit)
        news = None
        if move is not None:
            self.moves.append(move)
            own = {f"{p.change.kind.value} {p.change.resource}" for p in applied}
            # Only what changed this environment's own data is news: environments sharing a branch all move with
            # a commit to any one of them, and one's own commit is no news either
            if (move.resources or move.invalid) and not (own and set(move.resources) <= own):
                news = move.text()
        return Refresh(news, stale, len(self.open_conflicts(env)))

    # ----- editors that read an older version -------------------------------------------------------------------
    def mark_stale(self, env: str, new: Any, move: BranchMove, editors: Iterable[OpenEditor]) -> list[str]:
        """Editors whose resource (not yet pending) changed: their edit will be checked when staged. Returns what
        each newly stale editor edits, e.g. "flag new-checkout"."""
        session = self.session
        if session.env != env:
            return []
        marked = []
        for editor in editors:
            read = editor.read
            if session.is_pending(editor.KIND, read.key):
                continue
            if resource_value(new.document(session.namespace), editor.KIND, read.key) == read:
                continue
            key = (env, session.namespace, editor.KIND.value, read.key)
            earlier = self.stale.get(key)
            self.stale[key] = StaleRead(earlier.read if earlier else read, editor, new.commit, list(move.authors))
            marked.append(f"{editor.KIND.value} {read.key}")
        return marked

    def check_stale(self) -> tuple[bool, bool]:
        """Settle the edits staged by stale editors: (the pending edits or conflicts changed, a conflict is new)."""
        before = (len(self.session.pending), len(self.conflicts))
        self.prune()
        after = (len(self.session.pending), len(self.conflicts))
        return after != before, after[1] > before[1]

    def _settle_stale(self, live: dict[tuple[str, str, str, str], Pending]) -> None:
        """A pending edit staged by an editor that read an older version: a conflict (or nothing, when the editor
        changed nothing: its old copy must not silently undo the other commit)."""
        for key, stale in list(self.stale.items()):
            p = live.get(key)
            if p is None:
                if not stale.editor.is_open():
                    del self.stale[key]
                continue
            del self.stale[key]
            if p.change.value == stale.read:
                self.session.discard(p)
                del live[key]
            elif p.before != stale.read and key not in self.conflicts:
                theirs, p.before = p.before, stale.read
                self.conflicts[key] = Conflict(p, theirs, stale.commit, stale.authors)

    # ----- conflicts --------------------------------------------------------------------------------------------
    def prune(self) -> None:
        """Forget conflicts whose pending edit is gone; follow edits re-staged since (same resource)."""
        live = {conflict_key(p): p for p in self.session.pending}
        if self.stale:
            self._settle_stale(live)
        for key in list(self.conflicts):
            if key in live:
                self.conflicts[key].pending = live[key]
            else:
                del self.conflicts[key]

    def open_conflicts(self, env: str | None = None) -> list[Conflict]:
        env = env or self.session.env
        self.prune()
        return [c for c in self.conflicts.values() if c.pending.env == env]

    def conflict_for(self, p: Pending) -> Conflict | None:
        found = self.conflicts.get(conflict_key(p))
        if found is not None:
            found.pending = p
        return found

    def title(self, p: Pending) -> Text:
        """A pending edit's line in the review list; a conflict is marked in words, not colour alone."""
        if self.conflict_for(p) is None:
            return Text(p.title)
        return Text.assemble(("⚠ CONFLICT ", "bold reverse"), p.title)

    def settle(self, conflict: Conflict, value: Any, keep: bool = True) -> None:
        resolve(self.session, conflict, value, keep)
        self.conflicts.pop(conflict.key, None)
        if not self.open_conflicts(conflict.pending.env):
            rebase_pending(self.session, conflict.pending.env, conflict.commit)

    # ----- impact -----------------------------------------------------------------------------------------------
    def impact_jobs(self) -> list[tuple[str, Any, Any]]:
        """(namespace, document before, document as edited) for each namespace with pending edits."""
        session = self.session
        namespaces = sorted({p.change.namespace for p in session.pending_for()})
        return [(ns, session.base_document(namespace=ns), session.document(namespace=ns)) for ns in namespaces]
