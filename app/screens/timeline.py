"""The timeline of an environment (`T`): its scheduled changes and ramps by time — what is pending, what ran (on
time or late), was skipped, failed (and why) or was cancelled, and where each ramp stands. One key acts on the
highlighted row: `x` cancels a pending schedule, `p` pauses or resumes a ramp, `a` aborts a ramp (the flag goes
back as it was before it). Each is one commit, with the roles and protection of any commit
(`gitstore.automation`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen
from app.widgets.key_footer import KeyFooter


@dataclass(frozen=True)
class Row:
    key: str  # "S-1" / "R-1"
    when: datetime | None
    kind: str  # "schedule" / "ramp"
    state: str
    flag: str  # namespace/flag
    what: str
    note: str
    record: Any


def rows_of(schedules: list[Any], ramps: list[Any]) -> list[Row]:
    """Schedules at their time, ramps at their next step (else when they started), oldest first."""
    found = [Row(s.id, s.at, "schedule", s.state.value, s.target(),
                 s.set.describe() if s.set is not None else s.what(),
                 s.note or f"by {person(s.by)}", s) for s in schedules]
    found += [Row(r.id, r.next_at or r.created, "ramp", r.state.value, f"{r.namespace}/{r.flag}",
                  f"{r.what().split(': ', 1)[1]}{' of ' + r.variant if r.variant else ''}, {r.current()}",
                  r.note or f"by {person(r.by)}", r) for r in ramps]
    return sorted(found, key=lambda row: (row.when is None, row.when or datetime.min, row.key))


def person(user: str) -> str:
    return user.split("<", 1)[0].strip() or user


def when_text(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    rel = next((f"{int(span // size)}{unit}" for unit, size in (("d", 86400), ("h", 3600), ("m", 60))
                if span >= size), f"{int(span)}s")
    return f"{when.strftime('%Y-%m-%d %H:%M')}Z ({'in ' + rel if seconds > 0 else rel + ' ago'})"


def read(store: Any, env: str) -> list[Row]:
    from gitstore.automation import ramps, schedules

    return rows_of([s for _, s in schedules.listing(store, env)], [r for _, r in ramps.RAMPS.every(store, env)])


class TimelineScreen(BaseScreen):
    SCREEN_TITLE = "Timeline"
    BINDINGS = [
        Binding("x", "cancel_schedule", "Cancel schedule", tooltip="Cancel the highlighted pending schedule"),
        Binding("p", "pause_resume", "Pause/resume ramp", tooltip="Pause the highlighted ramp, or resume it"),
        Binding("a", "abort_ramp", "Abort ramp",
                tooltip="Stop the highlighted ramp and put the flag back as it was before it"),
        Binding("r", "reload", "Reload", show=False, tooltip="Read the schedules and ramps again"),
        BACK,
    ]

    def __init__(self, env: str) -> None:
        super().__init__()
        self.env = env
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("", id="timeline-title", classes="section-title", markup=False)
        yield DataTable(id="timeline", cursor_type="row")
        yield Static("", id="timeline-detail", markup=False)
        yield Static("", id="timeline-status", classes="status-line", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "ID", "State", "Flag", "Change", "Note")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.run_git(read, self.session.store, self.env, then=self.fill,
                     what=f"Could not read the schedules and ramps of {self.env}", exclusive=True, group="load")

    def action_reload(self) -> None:
        self.reload()

    def fill(self, rows: list[Row]) -> None:
        before = self.selected()
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        now = self.session.clock()
        for row in rows:
            table.add_row(when_text(row.when, now), row.key, row.state, row.flag, row.what, row.note, key=row.key)
        keys = [row.key for row in rows]
        if before is not None and before.key in keys:
            table.move_cursor(row=keys.index(before.key))
        pending = sum(row.state in ("pending", "running", "paused") for row in rows)
        self.query_one("#timeline-title", Static).update(
            f"Timeline of {self.env} — {pending} active of {len(rows)} schedules and ramps")
        self.query_one("#timeline-status", Static).update(
            "" if rows else f"Nothing scheduled in {self.env}. Schedule a change: S in the review (ctrl+s), or "
            "flagdeck schedule KEY --at TIME ...; ramp one: flagdeck ramp start KEY --steps 5,25,50,100 --every 2h")
        self.show_detail()
        self.update_context()

    @on(DataTable.RowHighlighted, "#timeline")
    def show_detail(self) -> None:
        """A change set's every change, one a line, under the table (its column shows as much as fits)."""
        row = self.selected()
        changes = getattr(row.record, "changes", ()) if row is not None else ()
        detail = self.query_one("#timeline-detail", Static)
        detail.display = bool(changes)
        detail.update("\n".join([f"{row.key} will, at its time:" if row else "",
                                 *(f"  • {c.describe()}" for c in changes)]) if changes else "")

    def selected(self) -> Row | None:
        row = self.query_one(DataTable).cursor_row
        return self.rows[row] if self.rows and 0 <= row < len(self.rows) else None

    def _act(self, kind: str, states: tuple[str, ...], verb: str, work: Any) -> None:
        row = self.selected()
        if row is None or row.kind != kind or row.state not in states:
            self.notify(f"Highlight a {' or '.join(states)} {kind} to {verb} it", severity="warning", markup=False)
            return
        if not self.check_write():
            return

        def done(result: Any) -> None:
            record, commit = result
            self.notify_commit(f"{record.id} {record.state.value}: committed {commit.commit[:8]}", commit, self.env)
            self.reload()

        self.run_git(work, row.record.id, then=done, what=f"Could not {verb} {row.key}")

    def action_cancel_schedule(self) -> None:
        from gitstore.automation import schedules

        store: Any = self.session.store
        env, author = self.env, self.session.author_obj()

        def cancel(schedule_id: str) -> tuple[Any, Any]:
            _, record, result = schedules.cancel(store, schedule_id, env, author, self.session.clock())
            return record, result

        self._act("schedule", ("pending",), "cancel", cancel)

    def action_pause_resume(self) -> None:
        from gitstore.automation import ramps

        row = self.selected()
        action = ramps.resume if row is not None and row.state == "paused" else ramps.pause
        store: Any = self.session.store
        env, author = self.env, self.session.author_obj()
        self._act("ramp", ("running", "paused"), "pause or resume",
                  lambda ramp_id: action(store, env, ramp_id, author, self.session.clock()))

    def action_abort_ramp(self) -> None:
        from gitstore.automation import ramps

        store: Any = self.session.store
        env, author = self.env, self.session.author_obj()
        self._act("ramp", ("running", "paused"), "abort",
                  lambda ramp_id: ramps.abort(store, env, ramp_id, author, self.session.clock()))
