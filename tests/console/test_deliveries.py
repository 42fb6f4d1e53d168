"""The console's webhook delivery screen (issue 17): `W` on the environment list shows each webhook of flagdeck.yaml
with where it stands per environment and the delivery log, newest first (written by the same writer `flagdeck
serve` uses), on a real store opened on the whole configuration, as `flagdeck console` opens it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import DataTable, Static

from app.screens.deliveries import DeliveriesScreen
from app.screens.environments import EnvironmentsScreen
from app.session import Session
from app.settings import load_flagdeck_config
from evaluator.events.state import Cursor, Delivery, DeliveryLog
from gitstore.store import Store

from .helpers import NOW, TESS, seed, settle


async def test_the_delivery_screen_shows_webhooks_and_their_log(tmp_path: Path) -> None:
    from app.console import ConsoleApp

    config = seed(tmp_path / "flags")
    state = tmp_path / "events"
    config.write_text(config.read_text() + f"events:\n  state_dir: {state}\nwebhooks:\n"
                      "  - {name: audit, url: 'https://hooks.example.com/x', environments: [production]}\n")
    store = Store(load_flagdeck_config(config))
    try:
        head = store.head("production")
        assert head is not None
        Cursor(state, "audit", "production").write(head)
        log = DeliveryLog(state)
        for minutes, status, attempt, error in ((30, "retrying", 1, "HTTP 500"), (29, "sent", 2, None)):
            log.add(Delivery(time=NOW - timedelta(minutes=minutes), webhook="audit", environment="production",
                             event="k1", commit=head, subject="update flag default/search-ranking", status=status,
                             attempt=attempt, http_status=500 if error else 204, error=error,
                             next_attempt=NOW - timedelta(minutes=29) if error else None))
        session = Session(store, env="production", namespace="default", author=TESS, clock=lambda: NOW)
        app = ConsoleApp(session, theme="textual-dark", cursor_blink=False)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            await pilot.press("E")
            await settle(pilot)
            assert isinstance(app.screen, EnvironmentsScreen)
            await pilot.press("W")
            await settle(pilot)
            assert isinstance(app.screen, DeliveriesScreen)
            header = str(app.screen.query_one("#webhooks", Static).render())
            assert header == "audit (cloudevents) → https://hooks.example.com/x: production up to date"
            table = app.screen.query_one(DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert [r[:6] for r in rows] == [["29m ago", "audit", "production", "sent", "2", head[:8]],
                                             ["30m ago", "audit", "production", "retrying", "1", head[:8]]]
            assert rows[1][7].startswith("HTTP 500 (next ")
            assert "2 deliveries shown, 1 not sent" in str(app.screen.query_one("#deliveries-status").render())
    finally:
        store.close()
