"""The console side of insight: watch the store, refresh open screens when a branch moves (saying what changed and
who changed it), keep pending edits and mark the ones that now conflict, and settle conflicts. Also holds what the
evaluate and review screens share: the recent contexts and the impact sample."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

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
from app.insight.moves import BranchMove, describe_move
from app.insight.recents import RecentContexts
from app.insight.served import ServedCache
from app.session import Pending, Resource
from gitstore.errors import ConflictError
from gitstore.model.changes import Kind, resource_value

if TYPE_CHECKING:
    from app.console import ConsoleApp
    from app.session import Session


@dataclass
class StaleRead:
    """An editor open on a resource that changed underneath it: what the editor read, and where it changed."""

    read: Resource
    screen: Any
    commit: str
    authors: list[str] = field(default_factory=list)


class Insight:
    def __init__(self, app: ConsoleApp, sample: list[Entity] | None = None,
                 population_size: int = POPULATION_SIZE) -> None:
        self.app = app
        self.sample = list(sample or [])
        self.population_size = population_size
        self.conflicts: dict[tuple[str, str, str, str], Conflict] = {}
        self.moves: list[BranchMove] = []  # every move seen, newest last
        self.stale: dict[tuple[str, str, str, str], StaleRead] = {}
        self._recents: RecentContexts | None = None
        self.served = ServedCache()  # what boolean flags really serve (issue 14 #6)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context = contextvars.copy_context()
        self._stale_timer: Any = None

    @property
    def session(self) -> Session:
        return self.app.session

    @property
    def recents(self) -> RecentContexts:
        if self._recents is None:
            self._recents = RecentContexts()
        return self._recents

    # ----- watching ---------------------------------------------------------------------------------------------
    def start(self) -> Callable[[], None]:
        """Subscribe to the store's branch moves (call on the app's loop); returns the unsubscribe function."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()  # the app's context (active app), for callbacks from threads
        return self.session.store.watch(self._moved_from_thread)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the app's loop, from any thread, without waiting (a closing app just drops it)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args, context=self._context.copy())
        except RuntimeError:
            pass

    def _moved_from_thread(self, env: str, commit: str) -> None:
        self.post(self.branch_moved, env, commit)

    def branch_moved(self, env: str, commit: str) -> None:
        snap = self.session.snapshots.get(env)
        if snap is not None and snap.commit != commit:
            self.refresh(env)

    def refresh(self, env: str, announce: bool = True) -> None:
        """Read the environment's new snapshot and what changed in a worker, then apply it on the loop."""
        old = self.session.snapshots.get(env)
        store = self.session.store

        def work() -> None:
            try:
                new = store.snapshot(env)
                move = describe_move(store, env, old, new) if old is None or old.commit != new.commit else None
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
                self.post(partial(self.app.notify, severity="error"), f"Could not read {env}: {exc}")
                return
            self.post(self._apply, env, old, new, move, announce)

        self.app.run_worker(work, thread=True, exclusive=True, group=f"live-{env}", exit_on_error=False,
                            description=f"refresh {env}")

    def _apply(self, env: str, old: Any, new: Any, move: BranchMove | None, announce: bool) -> None:
        session = self.session
        current = session.snapshots.get(env)
        if current is not None and current is not old and current.commit != new.commit:
            return  # something newer was loaded meanwhile; its own move brings a refresh
        session.snapshots[env] = new
        applied = already_applied(session.pending_for(env), new)
        for p in applied:
            session.discard(p)
        for conflict in find_conflicts(session.pending_for(env), new, move.authors if move else []):
            self.conflicts[conflict.key] = conflict
        if move is not None:
            self.mark_stale_editors(env, new, move)
        self.prune()
        if not self.open_conflicts(env):
            rebase_pending(session, env, new.commit)
        if move is not None:
            self.moves.append(move)
            own = {f"{p.change.kind.value} {p.change.resource}" for p in applied}
            # Only what changed this environment's own data is news: environments sharing a branch all move with
            # a commit to any one of them, and one's own commit is no news either
            changed = bool(move.resources or move.invalid)
            if announce and changed and not (own and set(move.resources) <= own):
                self.app.notify(move.text(), title="Branch moved", timeout=8, markup=False)
        count = len(self.open_conflicts(env))
        if count:
            self.app.notify(f"{count} pending edit(s) conflict with newer commits: open review (ctrl+s), "
                            "select the edit marked CONFLICT and press x", title="Conflict", severity="warning",
                            timeout=12)
        self.app.base_reload()

    # ----- conflicts --------------------------------------------------------------------------------------------
    def mark_stale_editors(self, env: str, new: Any, move: BranchMove) -> None:
        """Editors on the stack whose resource (not yet pending) changed: their edit will be checked when staged."""
        from app.screens.editor import ResourceEditorScreen

        session = self.session
        for screen in self.app.screen_stack:
            if not isinstance(screen, ResourceEditorScreen) or session.env != env:
                continue
            read = getattr(screen, "flag" if screen.KIND is Kind.FLAG else "segment", None)
            if read is None or session.is_pending(screen.KIND, read.key):
                continue
            if resource_value(new.document(session.namespace), screen.KIND, read.key) == read:
                continue
            key = (env, session.namespace, screen.KIND.value, read.key)
            earlier = self.stale.get(key)
            self.stale[key] = StaleRead(earlier.read if earlier else read, screen, new.commit, list(move.authors))
            self.app.notify(f"{screen.KIND.value} {read.key} changed underneath the open editor; your edit will be "
                            "shown beside theirs before it can be committed", title="Changed meanwhile",
                            severity="warning", timeout=10, markup=False)
        if self.stale and self._stale_timer is None:
            self._stale_timer = self.app.set_interval(0.1, self._watch_stale)

    def _watch_stale(self) -> None:
        """While editors read stale versions: settle their edits as soon as they are staged."""
        before = (len(self.session.pending), len(self.conflicts))
        self.prune()
        if not self.stale and self._stale_timer is not None:
            self._stale_timer.stop()
            self._stale_timer = None
        if (len(self.session.pending), len(self.conflicts)) != before:
            redraw = getattr(self.app.screen, "redraw", None)
            if callable(redraw):
                redraw()
            self.app.update_context()
            if len(self.conflicts) > before[1]:
                self.app.notify("Your edit was made on an older version: open review (ctrl+s), select the edit "
                                "marked CONFLICT and press x", title="Conflict", severity="warning", timeout=12)

    def _settle_stale(self, live: dict[tuple[str, str, str, str], Pending]) -> None:
        """A pending edit staged by an editor that read an older version: a conflict (or nothing, when the editor
        changed nothing: its old copy must not silently undo the other commit)."""
        for key, stale in list(self.stale.items()):
            p = live.get(key)
            if p is None:
                if stale.screen not in self.app.screen_stack:
                    del self.stale[key]
                continue
            del self.stale[key]
            if p.change.value == stale.read:
                self.session.discard(p)
                del live[key]
            elif p.before != stale.read and key not in self.conflicts:
                theirs, p.before = p.before, stale.read
                self.conflicts[key] = Conflict(p, theirs, stale.commit, stale.authors)

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

    def resolve_selected(self, screen: Any, p: Pending | None) -> None:
        """Open the side-by-side dialog for the selected pending edit (if it is a conflict)."""
        conflict = self.conflict_for(p) if p is not None else None
        if conflict is None:
            screen.notify("The selected edit has no conflict.")
            return
        from app.screens.modals.conflict import ConflictModal

        def done(outcome: tuple[str, Any] | None) -> None:
            if outcome is None:
                return
            choice, value = outcome
            self.settle(conflict, value if choice != "mine" else conflict.mine, keep=choice != "theirs")
            screen.notify({"mine": "Kept your version", "theirs": "Took their version",
                           "merge": "Merged field by field"}[choice] + f" of {conflict.pending.change.resource}")
            screen.fill()

        self.app.push_screen(ConflictModal(conflict), done)

    def commit_blocked(self, status: Any) -> bool:
        """True (and says so in `status`) while a conflict of this environment is unresolved."""
        count = len(self.open_conflicts())
        if count:
            status.update(f"✗ {count} conflict(s) to resolve first: select an edit marked CONFLICT and press x")
        return bool(count)

    def commit_failed(self, error: BaseException) -> None:
        """The store refused a commit because the resource moved: read the branch and mark the conflicts."""
        if isinstance(error, ConflictError):
            self.refresh(self.session.env)

    # ----- impact -----------------------------------------------------------------------------------------------
    def impact_jobs(self) -> list[tuple[str, Any, Any]]:
        """(namespace, document before, document as edited) for each namespace with pending edits."""
        session = self.session
        namespaces = sorted({p.change.namespace for p in session.pending_for()})
        return [(ns, session.base_document(namespace=ns), session.document(namespace=ns)) for ns in namespaces]
