"""Commits touching a namespace or one flag: author, time, message and diff; revert any of them as a new commit."""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static

from app.screens.base import BaseScreen
from app.screens.modals.confirm import ConfirmModal
from app.session import relative_time


class HistoryScreen(BaseScreen):
    BINDINGS = [
        Binding("r", "revert", "Revert"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, flag: str | None = None) -> None:
        super().__init__()
        self.flag = flag
        self.entries: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static(self.context_line(), classes="context-line")
        what = f"flag {self.flag}" if self.flag else f"namespace {self.session.namespace}"
        yield Static(f"History of {what} in {self.session.env}", id="history-title", classes="section-title")
        with Horizontal(classes="split"):
            yield DataTable(id="commits", cursor_type="row", classes="list-pane")
            with VerticalScroll(classes="detail-pane"):
                yield Static("loading…", id="commit-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#commits", DataTable)
        table.add_columns("When", "Author", "Message", "Commit")
        table.focus()
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "revert" and not self.session.can_edit():
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

    def action_revert(self) -> None:
        e = self.selected()
        if e is None:
            return
        scope = f"flag {self.flag}" if self.flag else f"namespace {self.session.namespace}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_git(self.session.revert, e.commit, self.flag, then=self.reverted,
                             what=f"Could not revert {e.commit[:8]}", group="write")

        self.app.push_screen(ConfirmModal("Revert", f"Revert {scope} to before {e.commit[:8]} "
                                          f"({e.message.splitlines()[0] if e.message else ''}) as a new commit?",
                                          "Revert"), answered)

    def reverted(self, result: Any) -> None:
        self.notify_commit(f"Reverted as {getattr(result, 'commit', '')[:8]}", result)
        self.console.base_reload()
