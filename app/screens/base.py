"""What every console screen shares: a context line, Git work in workers with results handed back to the screen,
and errors shown in a dialog where they happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from app.screens.messages import EnvironmentChanged, PendingChanged, SyncChanged
from app.screens.modals.error import ErrorModal, describe
from app.widgets.context_line import ContextLine, Part

if TYPE_CHECKING:
    from app.console import ConsoleApp
    from app.session import Session
    from gitstore.results import CommitResult, SyncState


def sync_text(state: SyncState | None) -> str:
    """A remote's sync state in words, e.g. "↑2 unpushed · ✗ remote unreachable"; "" without a remote."""
    if state is None or not state.remote:
        return ""
    parts = [f"↑{state.ahead} unpushed" if state.ahead else "", f"↓{state.behind} behind" if state.behind else ""]
    if state.reachable is False:
        parts.append("✗ remote unreachable")
    elif state.reachable is None:
        parts.append("remote not reached yet")
    return " · ".join(p for p in parts if p) or "✓ in sync"


def commit_notice(text: str, result: CommitResult, state: SyncState | None) -> tuple[str, bool]:
    """`text` ("Committed 5c9d65af") completed with whether the commit reached the remote: (message, not pushed)."""
    if result.pushed is not False:
        return text, False
    reason = (state.last_error if state is not None else None) or "the remote could not be reached"
    return f"{text} locally; not pushed: {reason}; will push later", True


GitJob = tuple[str, Callable[[Any], None] | None, Callable[[BaseException], None] | None]  # what, then, on_error


# escape on every screen the console pushes over another
BACK = Binding("escape", "app.pop_screen", "Back", tooltip="Back to the previous screen")


class BaseScreen(Screen[None]):
    """`run_git(fn, *args, then=...)` runs a blocking store call in a thread worker and calls `then(result)` back on
    the event loop; a failure opens an error dialog titled with `what`."""

    def __init__(self) -> None:
        super().__init__()
        self._git_jobs: dict[Worker[Any], GitJob] = {}

    @property
    def console(self) -> ConsoleApp:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.console.session

    def context_parts(self) -> list[Part]:
        s = self.session
        pending = len(s.pending_for())
        role = s.role()
        note = "" if s.can_edit() or not s.can_read() else " (read-only)"
        parts = [Part(f"env: {s.env}", s.env, 8), Part(f"ns: {s.namespace}", s.namespace, 7),
                 Part(f"role: {role}{note}", f"{role}{note}", 1),
                 Part(f"pending: {pending}" if pending else "no pending edits",
                      f"{pending} pending" if pending else "none pending", 9)]
        sync = sync_text(s.sync.get(s.env))
        if sync:
            parts.append(Part(sync, sync, 2))
        return parts

    def context_bar(self) -> ContextLine:
        return ContextLine(self.context_parts())

    def update_context(self) -> None:
        for widget in self.query(ContextLine):
            widget.show(self.context_parts())

    def notify_commit(self, text: str, result: CommitResult, env: str | None = None) -> None:
        """Say a commit was made, and warn when it stayed local because the remote could not be reached."""
        message, local = commit_notice(text, result, self.session.sync.get(env or self.session.env))
        if local:
            self.notify(message, title="Not pushed", severity="warning", timeout=15, markup=False)
        else:
            self.notify(message, markup=False)
        self.update_context()

    def run_git(
        self,
        fn: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], None] | None = None,
        what: str = "Git operation failed",
        on_error: Callable[[BaseException], None] | None = None,
        exclusive: bool = False,
        group: str = "git",
    ) -> Worker[Any]:
        worker = self.run_worker(
            lambda: fn(*args), thread=True, exclusive=exclusive, group=group, exit_on_error=False,
            description=what,
        )
        self._git_jobs[worker] = (what, then, on_error)
        return worker

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        entry = self._git_jobs.get(event.worker)
        if entry is None or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        del self._git_jobs[event.worker]
        what, then, on_error = entry
        if event.state is WorkerState.SUCCESS and then is not None:
            then(event.worker.result)
        elif event.state is WorkerState.ERROR and event.worker.error is not None:
            if on_error is not None:
                on_error(event.worker.error)
            self.show_error(what, event.worker.error)

    def check_write(self) -> bool:
        """True when the user may edit this environment; otherwise says so where they are."""
        if self.session.can_edit():
            return True
        self.show_error("Read-only", f"Your role in {self.session.env!r} is {self.session.role()!r}: "
                        "you can look but not change.")
        return False

    def show_error(self, what: str, error: BaseException | str) -> None:
        self.app.push_screen(ErrorModal(what, error if isinstance(error, str) else describe(error)))

    def reload(self) -> None:
        """Re-read what this screen shows (after a commit, or when the branch moved). Screens override it."""

    def redraw(self) -> None:
        """Show the session's data again without reading Git (pending edits changed). Screens override it."""

    def on_screen_resume(self) -> None:
        self.update_context()
        self.redraw()

    # ----- what the app tells every screen (app/screens/messages.py) ------------------------------------------
    def on_environment_changed(self, _: EnvironmentChanged) -> None:
        self.reload()

    def on_pending_changed(self, _: PendingChanged) -> None:
        self.redraw()
        self.update_context()

    def on_sync_changed(self, _: SyncChanged) -> None:
        self.update_context()
