"""Schedule instead of commit (from the review): what will be scheduled, resource by resource; the impact preview of
the same edits; a time in UTC (`2026-12-24 18:00`, an ISO time with an offset, or `+2h`), checked as it is typed
(shown back in UTC with how far ahead it is, or what is wrong); and what to do if the scheduler was down at that
time. OK returns {"at": datetime, "missed": "run" | "skip" | None}."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from app.screens.modals.form import Checks, FormModal
from app.widgets.fields import field as field_row
from app.widgets.impact_panel import ImpactPanel

MISSED = (("the scheduler's default (automation.missed)", ""), ("run it late", "run"), ("skip it", "skip"))


class ScheduleModal(FormModal[dict[str, Any] | None]):
    DEFAULT_CSS = """
    ScheduleModal #schedule-what { margin: 1 0; }
    ScheduleModal #schedule-when { color: $text-muted; }
    """

    def __init__(self, env: str, what: list[str], now: Callable[[], datetime],
                 impact: tuple[Sequence[tuple[str, Any, Any]], Sequence[Any], int] | None = None,
                 protected: bool = False) -> None:
        super().__init__(f"Schedule instead of commit: {len(what)} edit(s) in {env}")
        self.env, self.what, self.now, self.impact, self.protected = env, what, now, impact, protected

    def fields(self) -> ComposeResult:
        yield field_row("When (UTC)", Input("", id="field-at", placeholder="2026-12-24 18:00, or +2h"))
        yield Static("", id="schedule-when", markup=False)
        yield field_row("If missed", Select(list(MISSED), value="", allow_blank=False, id="field-missed"))
        lead = (f"{self.env} is protected: this opens a proposal; approved and merged, it adds the schedule. "
                if self.protected else "")
        yield Static(lead + "Then one commit makes these changes, each resource checked again (changed meanwhile "
                     "in the same fields: the schedule fails and says why):\n"
                     + "\n".join(f"  • {line}" for line in self.what), id="schedule-what", markup=False)
        yield ImpactPanel(id="schedule-impact")

    def on_mount(self) -> None:
        super().on_mount()
        if self.impact is not None:
            self.query_one(ImpactPanel).compute(*self.impact)
        else:
            self.query_one(ImpactPanel).display = False
        self.show_when()

    @on(Input.Changed, "#field-at")
    def show_when(self) -> None:
        text = self.query_one("#field-at", Input).value
        hint = self.query_one("#schedule-when", Static)
        if not text.strip():
            hint.update("a time in UTC: 2026-12-24 18:00 (or with an offset, +01:00), or +30m, +2h, +1d from now")
            return
        try:
            at = self.parse(text)
        except ValueError as exc:
            hint.update(f"✗ {exc}")
            return
        from gitstore.automation.records import age

        hint.update(f"→ {at.strftime('%Y-%m-%d %H:%M:%S')} UTC, in {age((at - self.now()).total_seconds())}")

    def parse(self, text: str) -> datetime:
        from app.when import parse_when

        now = self.now()
        at = parse_when(text, now, naive_is_utc=True)
        if (now - at).total_seconds() > 60:
            raise ValueError(f"{at.strftime('%Y-%m-%d %H:%M')} UTC is in the past (now {now.strftime('%H:%M')} UTC)")
        return at

    def build(self) -> dict[str, Any]:
        checks = Checks()
        text = self.query_one("#field-at", Input).value
        at = checks.run("field-at", lambda: self.parse(text)) if text.strip() else None
        if not text.strip():
            checks.fail("field-at", "a time is needed, e.g. 2026-12-24 18:00 or +2h")
        checks.done()
        missed = str(self.query_one("#field-missed", Select).value)
        return {"at": at, "missed": missed or None}
