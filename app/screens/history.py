"""Commits touching a namespace or one flag: author, time, message and diff. `r` reverts the selected commit (undoes
what it changed here, as a new commit); `R` restores this version (puts it back as it was at that commit). Each
says what it did, or exactly why it did nothing (already so, or changed again since: a conflict)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen
from app.screens.modals.confirm import ConfirmModal
from app.session import relative_time
from app.widgets.key_footer import KeyFooter
from gitstore.errors import ConflictError
from gitstore.model.revert import NothingToRevert


class HistoryScreen(BaseScreen):
    SCREEN_TITLE = "History"
    BINDINGS = [
        Binding("r", "revert", "Revert",
                tooltip="Undo what the highlighted commit changed here, as a new commit"),
        Binding("R", "restore", "Restore version",
                tooltip="Put this back as it was at the highlighted commit, as a new commit"),
        BACK,
    ]

    def __init__(self, flag: str | None = None) -> None:
        super().__init__()
        self.flag = flag
        self.entries: list[Any] = []

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        what = f"flag {self.flag}" if self.flag else f"namespace {self.session.namespace}"
        yield Static(f"History of {what} in {self.session.env}", id="history-title", classes="section-title")
        with Horizontal(classes="split"):
            yield DataTable(id="commits", cursor_type="row", classes="list-pane")
            with VerticalScroll(classes="detail-pane"):
                yield Static("loading…", id="commit-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#commits", DataTable)
        table.add_columns("When", "Author", "Message", "Commit")
        table.focus()
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("revert", "restore") and not self.session.can_edit():
            return False
        return True

    def reload(self) -> None:
        self.run_git(self.session.history, self.flag, then=self.show, what="Could not read the history",
                     exclusive=True, group="load")

    def show(self, entries: list[Any]) -> None:
        self.entries = entries
        table = self.query_one("#commits", DataTable)
        table.clear()
        now = self.session.clock()
        for e in entries:
            table.add_row(relative_time(e.time, now), e.author_name, e.message.splitlines()[0] if e.message else "",
                          e.commit[:8], key=e.commit)
        if not entries:
            self.query_one("#commit-detail", Static).update("No commits touch this yet.")
        self.update_context()

    def selected(self) -> Any | None:
        row = self.query_one("#commits", DataTable).cursor_row
        return self.entries[row] if self.entries and 0 <= row < len(self.entries) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        e = self.selected()
        if e is None:
            return
        head = (f"commit {e.commit}\nAuthor: {e.author_name} <{e.author_email}>\n"
                f"Date:   {e.time:%Y-%m-%d %H:%M:%S %z}\n\n{e.message.rstrip()}\n\n")
        detail = self.query_one("#commit-detail", Static)
        detail.update(Syntax(head + (e.diff or "(no diff)"), "diff", theme="ansi_dark", background_color="default"))

    def scope(self) -> str:
        return f"flag {self.session.namespace}/{self.flag}" if self.flag else f"namespace {self.session.namespace}"

    def action_revert(self) -> None:
        e = self.selected()
        if e is not None:
            subject = e.message.splitlines()[0] if e.message else ""
            self.confirm_and_run(self.session.revert, e.commit, "Revert",
                                 f"Undo what {e.commit[:8]} ({subject}) changed in {self.scope()}, as a new commit?",
                                 f"Reverted {e.commit[:8]} for {self.scope()}")

    def action_restore(self) -> None:
        e = self.selected()
        if e is not None:
            self.confirm_and_run(self.session.restore, e.commit, "Restore",
                                 f"Put {self.scope()} back as it was at {e.commit[:8]}, as a new commit?",
                                 f"Restored {self.scope()} to {e.commit[:8]}")

    def confirm_and_run(self, fn: Callable[[str, str | None], Any], commit: str, verb: str, question: str,
                        done: str) -> None:
        what = f"Could not {verb.lower()} {commit[:8]}"

        def attempt() -> tuple[Any, str | None, str | None]:
            try:
                return fn(commit, self.flag), None, None
            except NothingToRevert as exc:
                return None, str(exc), None
            except ConflictError as exc:  # not "someone changed this meanwhile": the history says who did what
                return None, None, str(exc)

        def finished(outcome: tuple[Any, str | None, str | None]) -> None:
            result, nothing, conflict = outcome
            if nothing is not None:
                self.notify(f"No commit made: {nothing}", title=verb, severity="warning", timeout=10, markup=False)
                return
            if conflict is not None:
                self.show_error(what, f"No commit made: {conflict}")
                return
            self.notify_commit(f"{done} as {result.commit[:8]}", result)
            self.console.environment_changed()

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_git(attempt, then=finished, what=what, group="write")

        self.app.push_screen(ConfirmModal(verb, question, verb), answered)
