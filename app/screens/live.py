"""Live refresh, the console's side (issue 6). The store's watcher posts `BranchMoved` to the app; `LiveRefresh`
reads the environment's new snapshot and what changed in a worker, lets insight (`app/insight/live.py`) settle the
pending edits against it, then tells the person (notifications: what moved and who moved it, conflicts, editors
left on an older version) and the screens (`EnvironmentChanged`, `PendingChanged`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.timer import Timer

from app.insight.live import Insight
from app.insight.moves import BranchMove, describe_move
from app.screens.editor import ResourceEditorScreen
from app.screens.messages import BranchMoved, PendingChanged, post_from_thread

if TYPE_CHECKING:
    from app.console import ConsoleApp
    from app.session import Session

STALE_CHECK_EVERY = 0.1  # seconds: while editors read stale versions, how soon a staged edit is settled


class Refreshed(Message):
    """A refresh worker read `env` anew (posted to the app from the worker's thread)."""

    def __init__(self, env: str, old: Any, new: Any, move: BranchMove | None) -> None:
        self.env, self.old, self.new, self.move = env, old, new, move
        super().__init__()


class LiveRefresh:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self._stale_timer: Timer | None = None

    @property
    def session(self) -> Session:
        return self.app.session

    @property
    def insight(self) -> Insight:
        return self.app.insight

    def start(self) -> Callable[[], None]:
        """Subscribe to the store's branch moves; returns the unsubscribe function."""
        app = self.app
        return self.session.store.watch(lambda env, commit: post_from_thread(app, BranchMoved(env, commit)))

    def told(self, env: str) -> Any:
        """The snapshot of `env` whose move was last told (a reload may have read a newer one since)."""
        return self.session.seen.get(env, self.session.snapshots.get(env))

    def branch_moved(self, env: str, commit: str) -> None:
        last = self.told(env)
        if last is not None and last.commit != commit:
            self.refresh(env)

    def refresh(self, env: str) -> None:
        """Read the environment's new snapshot and what changed in a worker; `applied` takes it on the loop."""
        old = self.told(env)
        store, app = self.session.store, self.app

        def work() -> None:
            try:
                new = store.snapshot(env)
                move = describe_move(store, env, old, new) if old is None or old.commit != new.commit else None
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
                try:
                    app.notify(f"Could not read {env}: {exc}", severity="error")
                except RuntimeError:  # the app's loop is closed
                    pass
                return
            post_from_thread(app, Refreshed(env, old, new, move))

        app.run_worker(work, thread=True, exclusive=True, group=f"live-{env}", exit_on_error=False,
                       description=f"refresh {env}")

    def applied(self, event: Refreshed) -> None:
        editors = [s for s in self.app.screen_stack if isinstance(s, ResourceEditorScreen)]
        found = self.insight.apply(event.env, event.old, event.new, event.move, editors)
        if found is None:
            return
        notify = self.app.notify
        for what in found.stale:
            notify(f"{what} changed underneath the open editor; your edit will be shown beside theirs before it "
                   "can be committed", title="Changed meanwhile", severity="warning", timeout=10, markup=False)
        if self.insight.stale:
            self.watch_stale()
        if found.news:
            notify(found.news, title="Branch moved", timeout=8, markup=False)
        if found.conflicts:
            notify(f"{found.conflicts} pending edit(s) conflict with newer commits: open review (ctrl+s), select "
                   "the edit marked CONFLICT and press x", title="Conflict", severity="warning", timeout=12)
        self.app.environment_changed()

    # ----- editors that read an older version -------------------------------------------------------------------
    def watch_stale(self) -> None:
        if self._stale_timer is None:
            self._stale_timer = self.app.set_interval(STALE_CHECK_EVERY, self._check_stale)

    def _check_stale(self) -> None:
        """While editors read stale versions: settle their edits as soon as they are staged."""
        changed, new_conflict = self.insight.check_stale()
        if not self.insight.stale and self._stale_timer is not None:
            self._stale_timer.stop()
            self._stale_timer = None
        if changed:
            self.app.screen.post_message(PendingChanged())
            if new_conflict:
                self.app.notify("Your edit was made on an older version: open review (ctrl+s), select the edit "
                                "marked CONFLICT and press x", title="Conflict", severity="warning", timeout=12)
