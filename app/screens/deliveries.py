"""Webhook deliveries (issue 17): each webhook of flagdeck.yaml with where its delivery stands per environment, and
the delivery log `flagdeck serve` keeps, newest first — sent, retrying (the error, the next attempt) and failed.
`W` on the environment list opens it; `r` reads it again; `s` sends the selected given-up event again
(evaluator/events/resend.py: same body and idempotency key, logged). The same as `flagdeck webhooks` (app/insight/webhooks.py)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from app.insight.webhooks import WebhookReport, delivery_detail, webhook_report
from app.screens.base import BACK, BaseScreen
from app.session import relative_time
from app.widgets.key_footer import KeyFooter
from evaluator.events.resend import resend_events
from evaluator.events.state import Delivery
from gitstore.automation.records import user_text

LIMIT = 200


class DeliveriesScreen(BaseScreen):
    SCREEN_TITLE = "Webhook deliveries"
    BINDINGS = [
        Binding("r", "reload", "Reload", tooltip="Read the webhooks' cursors and the delivery log again"),
        Binding("s", "resend", "Resend", tooltip="Send the selected given-up event again (same body and key)"),
        BACK,
    ]

    _shown: list[Delivery] = []  # the deliveries in the table, row by row
    _note = ""  # said on the status line at the next fill (what a resend did)

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static("", id="webhooks", classes="section-title", markup=False)
        yield DataTable(id="deliveries", cursor_type="row")
        yield Static("", id="deliveries-status", classes="status-line", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "Webhook", "Environment", "Status", "Attempt", "Commit", "Subject", "Detail")
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.run_git(webhook_report, self.session.store, None, None, LIMIT, then=self.fill,
                     what="Could not read the webhook deliveries", exclusive=True, group="load")

    def action_reload(self) -> None:
        self.reload()

    def action_resend(self) -> None:
        """`s`: send the selected event again if it was given up (`failed`), as `flagdeck webhooks resend` does."""
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row >= len(self._shown):
            return
        chosen = self._shown[table.cursor_row]
        status = self.query_one("#deliveries-status", Static)
        if chosen.status != "failed":
            status.update(f"Only a given-up (failed) event is re-sent; this delivery is {chosen.status}.")
            return
        status.update(f"Re-sending {chosen.event[:12]} to {chosen.webhook}…")
        self.run_git(resend_events, self.session.store, chosen.webhook, chosen.environment, [chosen.event],
                     user_text(self.session.author_obj()), then=self.resent, what="Could not resend the event")

    def resent(self, done: list[Delivery]) -> None:
        self._note = "Resent: " + "; ".join(f"{d.status} {d.event[:12]} ({d.commit[:8]}) {delivery_detail(d)}"
                                            for d in done)
        self.reload()

    def fill(self, report: WebhookReport) -> None:
        lines = [f"{h.name} ({h.format}) → {h.url}: " + ", ".join(f"{e} {h.standing(e)}" for e in h.environments)
                 for h in report.webhooks]
        self.query_one("#webhooks", Static).update("\n".join(lines) or "No webhooks (webhooks: in flagdeck.yaml)")
        table = self.query_one(DataTable)
        table.clear()
        self._shown = list(report.deliveries)
        now = self.session.clock()
        for d in report.deliveries:
            table.add_row(relative_time(d.time, now), d.webhook, d.environment, d.status, str(d.attempt),
                          d.commit[:8], d.subject[:50], delivery_detail(d))
        failing = sum(1 for d in report.deliveries if d.status != "sent")
        self.query_one("#deliveries-status", Static).update(
            self._note or (f"{len(report.deliveries)} deliveries shown, {failing} not sent" if report.deliveries
                           else "No deliveries yet: flagdeck serve sends each new commit to the webhooks."))
        self._note = ""
        self.update_context()
