"""The console's timeline (`T`, app/screens/timeline.py): an environment's schedules and ramps by time, and one key
each to cancel a schedule (`x`), pause or resume a ramp (`p`) and abort one (`a`); each a commit in the real
repository. Frozen clock, pinned theme, fixed size."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.widgets import DataTable

from app.screens.modals.error import ErrorModal
from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import ramps, schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.ramps import RAMPS, RampState
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.results import Author

from .helpers import NOW, TESS, open_store, settle

AUTHOR = Author(*TESS)


def plan(config: Path) -> None:
    """Production: S-1 ran an hour ago, S-2 is due in 3 hours, R-1 took its first step an hour ago."""
    earlier = NOW - timedelta(hours=2)
    with open_store(config) as store:
        schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True),
                           NOW - timedelta(hours=1), author=AUTHOR, now=earlier)
        schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(threshold=50),
                           NOW + timedelta(hours=3), "skip", AUTHOR, now=earlier)
        ramps.start(store, "production", "default", "search-ranking", [50, 100], 7200, variant="semantic",
                    author=AUTHOR, now=NOW - timedelta(hours=1))
    automation = AutomationRunner(load_evaluator_config(config), now=lambda: NOW - timedelta(hours=1))
    try:
        automation.tick()
    finally:
        automation.store.close()


async def open_timeline(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("T")
    await settle(pilot)


def select(app: Any, key: str) -> None:
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=[row.key for row in app.screen.rows].index(key))


async def test_cancel_pause_resume_and_abort_from_the_timeline(config_path: Path, make_app: Any) -> None:
    from app.screens.timeline import TimelineScreen

    plan(config_path)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_timeline(pilot)
        assert isinstance(app.screen, TimelineScreen)
        assert [(r.key, r.state) for r in app.screen.rows] == [("S-1", "done"), ("R-1", "running"),
                                                                ("S-2", "pending")]
        select(app, "S-1")
        await pilot.press("x")  # S-1 ran already: nothing to cancel
        await settle(pilot)
        select(app, "S-2")
        await pilot.press("x")
        await settle(pilot)
        select(app, "R-1")
        await pilot.press("p")
        await settle(pilot)
        with open_store(config_path) as store:
            assert [s.state for s in SCHEDULES.read(store, "production").items] == [ScheduleState.DONE,
                                                                                    ScheduleState.CANCELLED]
            assert RAMPS.read(store, "production").items[0].state is RampState.PAUSED
        select(app, "R-1")
        await pilot.press("p")
        await settle(pilot)
        assert dict((r.key, r.state) for r in app.screen.rows)["R-1"] == "running"
        select(app, "R-1")
        await pilot.press("a")
        await settle(pilot)
        assert dict((r.key, r.state) for r in app.screen.rows)["R-1"] == "aborted"
    with open_store(config_path) as store:
        rule = store.snapshot("production").document("default").flag("search-ranking").rules[0]
        assert {(d.variant, d.rollout) for d in rule.distributions} == {("semantic", 25), ("classic", 75)}
        assert RAMPS.read(store, "production").items[0].note == "aborted by Tess Tester; flag put back as before the ramp"


async def test_a_viewer_is_refused(config_path: Path, make_app: Any) -> None:
    plan(config_path)
    app = make_app(roles={"*": "viewer"})
    async with app.run_test(size=(120, 30)) as pilot:
        await open_timeline(pilot)
        select(app, "S-2")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal) and app.screen.title_text == "Read-only"
    with open_store(config_path) as store:
        assert SCHEDULES.read(store, "production").items[1].state is ScheduleState.PENDING


def test_snapshot_timeline(snap_compare, config_path: Path, make_app: Any) -> None:  # noqa: ANN001
    plan(config_path)
    assert snap_compare(make_app(), run_before=open_timeline, terminal_size=(120, 24))
