"""`s` on the console's delivery screen sends the selected given-up event again to a real receiver: the same key
and a valid signature, a `sent` record in the delivery log with who asked; a delivery that was not given up is
not re-sent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import DataTable, Static

from app.screens.deliveries import DeliveriesScreen
from app.session import Session
from app.settings import load_flagdeck_config
from evaluator.events.cloudevents import event_id
from evaluator.events.state import Delivery, DeliveryLog
from gitstore.store import Store
from tests.console.helpers import NOW, TESS, seed, settle
from tests.events.receiver import Receiver

SECRET = b"console-secret"


async def test_s_resends_the_selected_given_up_event(tmp_path: Path) -> None:
    from app.console import ConsoleApp

    receiver = Receiver(SECRET)
    config = seed(tmp_path / "flags")
    state = tmp_path / "events"
    config.write_text(config.read_text() + f"events:\n  state_dir: {state}\nwebhooks:\n"
                      f"  - {{name: audit, url: '{receiver.url}', secret: {SECRET.decode()}, "
                      "environments: [production]}\n")
    store = Store(load_flagdeck_config(config))
    try:
        head = store.head("production")
        assert head is not None
        key = event_id("production", head)
        log = DeliveryLog(state)
        log.add(Delivery(time=NOW - timedelta(minutes=30), webhook="audit", environment="production", event="k0",
                         commit=head, subject="an older one", status="sent", attempt=1, http_status=204))
        log.add(Delivery(time=NOW - timedelta(minutes=20), webhook="audit", environment="production", event=key,
                         commit=head, subject="update flag default/search-ranking", status="failed", attempt=5,
                         http_status=500, error="HTTP 500"))
        session = Session(store, env="production", namespace="default", author=TESS, clock=lambda: NOW)
        app = ConsoleApp(session, theme="textual-dark", cursor_blink=False)
        async with app.run_test(size=(140, 30)) as pilot:
            await settle(pilot)
            app.push_screen(DeliveriesScreen())
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, DeliveriesScreen)
            table = screen.query_one(DataTable)
            status = screen.query_one("#deliveries-status", Static)
            table.move_cursor(row=1)  # the older, sent one
            await pilot.press("s")
            await settle(pilot)
            assert "Only a given-up (failed) event is re-sent; this delivery is sent." in str(status.render())
            assert receiver.requests == 0
            table.move_cursor(row=0)  # the given-up one
            await pilot.press("s")
            await settle(pilot)
            (received,) = receiver.wait_for(1)
            assert received.key == key and received.signature_ok and received.body["subject"] == head
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert rows[0][3:5] == ["sent", "6"] and rows[0][7] == "HTTP 204 (resent by Tess Tester)"
            assert str(status.render()).startswith(f"Resent: sent {key[:12]} ({head[:8]}) HTTP 204")
        (latest, *_) = log.recent(1)
        assert latest.resent_by == "Tess Tester <tess@example.com>" and latest.event == key
    finally:
        store.close()
        receiver.close()
