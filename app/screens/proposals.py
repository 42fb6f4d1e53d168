"""The change proposals of one environment (gitstore/proposals/): id, title, author, state, approvals and when each
was last updated, filtered by state (`s` cycles: active, all, merged, closed). `enter` opens one (app/screens/
proposal.py). Proposals are made from a branch environment: `P` on the environment list, or a commit to a protected
environment in the review (which proposes instead)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen
from app.session import relative_time
from app.widgets.key_footer import KeyFooter

FILTERS = ("active", "all", "merged", "closed")  # active: open or approved


def shown(status: Any, state_filter: str) -> bool:
    state = status.state.value
    if state_filter == "active":
        return state in ("open", "approved")
    return state_filter == "all" or state == state_filter


def person(user: str) -> str:
    """`Alice Example <alice@example.com>` -> `Alice Example`."""
    return user.split("<", 1)[0].strip() or user


def approvals_text(status: Any) -> str:
    return f"{len(status.approvals)}/{status.required}" if status.required else f"{len(status.approvals)}"


def state_text(status: Any) -> str:
    requested = getattr(status, "changes_requested", ())
    if requested and status.state.value == "open":
        return "changes requested"
    return str(status.state.value)


class ProposalsScreen(BaseScreen):
    SCREEN_TITLE = "Proposals"
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Show the highlighted proposal: its changes, impact and comments"),
        Binding("s", "filter", "State filter", tooltip="Show active (open, approved), all, merged or closed ones"),
        Binding("r", "reload", "Reload", show=False, tooltip="Read the proposals again (and fetch them)"),
        BACK,
    ]

    def __init__(self, env: str) -> None:
        super().__init__()
        self.env = env  # the target environment (a configured one, never a branch)
        self.state_filter = FILTERS[0]
        self.statuses: list[Any] = []

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("", id="proposals-title", classes="section-title", markup=False)
        yield DataTable(id="proposals", cursor_type="row")
        yield Static("", id="proposals-status", classes="status-line", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("ID", "Title", "Author", "State", "Approvals", "Updated", "Branch")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.run_git(self.console.proposals.all, self.env, then=self.fill,
                     what=f"Could not read the proposals of {self.env}", exclusive=True, group="load")

    def action_reload(self) -> None:
        self.reload()

    def shown_rows(self) -> list[Any]:
        return [s for s in self.statuses if shown(s, self.state_filter)]

    def fill(self, statuses: list[Any]) -> None:
        self.statuses = statuses
        table = self.query_one(DataTable)
        before = self.selected()
        table.clear()
        now = self.session.clock()
        rows = list(reversed(self.shown_rows()))  # newest first
        for s in rows:
            p = s.proposal
            table.add_row(p.id, p.title, person(p.author), state_text(s), approvals_text(s),
                          relative_time(p.updated, now), p.branch, key=p.id)
        ids = [s.id for s in rows]
        if before is not None and before.id in ids:
            table.move_cursor(row=ids.index(before.id))
        self.query_one("#proposals-title", Static).update(
            f"Proposals for {self.env} — showing {self.state_filter} ({len(rows)} of {len(statuses)}; s: filter)")
        self.query_one("#proposals-status", Static).update(
            "" if rows else f"No {self.state_filter} proposals for {self.env}. Make one from a branch: E, "
            "highlight the branch, P.")
        self.update_context()

    def selected(self) -> Any | None:
        rows = list(reversed(self.shown_rows()))
        row = self.query_one(DataTable).cursor_row
        return rows[row] if rows and 0 <= row < len(rows) else None

    def action_filter(self) -> None:
        self.state_filter = FILTERS[(FILTERS.index(self.state_filter) + 1) % len(FILTERS)]
        self.fill(self.statuses)

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        from app.screens.proposal import ProposalScreen

        found = self.selected()
        if found is not None:
            self.app.push_screen(ProposalScreen(found.id))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.statuses:  # back from a proposal that may have changed
            self.reload()
