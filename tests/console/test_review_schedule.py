"""Schedule instead of commit, from the review (`S`): the pending edits (flags and a segment) become one schedule
record, committed at once; the time is typed in UTC and checked as typed (nonsense and the past are refused in the
dialog, which stays open); the timeline shows what the schedule will change; the real runner, with a clock the
test controls, commits the edits at their time. Frozen clock (NOW), pinned theme, fixed size."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.widgets import Input

from app.screens.flags import FlagsScreen
from app.screens.modals.schedule import ScheduleModal
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable
from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.model.changes import Change, Kind

from .helpers import NOW, head_commit, open_store, settle


async def stage_and_review(app: Any, pilot: Any) -> None:
    """Turn maintenance-mode on and new-checkout off (space), rename a segment (staged as its editor does), then
    the review (ctrl+s)."""
    await settle(pilot)
    table = app.screen.query_one(FlagTable)
    assert table.move_to("maintenance-mode")
    await pilot.press("space")
    assert table.move_to("new-checkout")
    await pilot.press("space")
    segment = app.session.find(Kind.SEGMENT, "beta-testers")
    app.session.stage(Change("default", Kind.SEGMENT, "beta-testers", segment.model_copy(update={"name": "Beta"})))
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, ReviewScreen)

async def open_schedule(pilot: Any) -> None:
    await stage_and_review(pilot.app, pilot)
    await pilot.press("S")
    await settle(pilot)

async def type_time(pilot: Any, text: str) -> None:
    field = pilot.app.screen.query_one("#field-at", Input)
    field.value = ""
    field.focus()
    await pilot.press(*text)
    await settle(pilot)

async def test_schedule_instead_of_commit_then_the_runner_commits_at_its_time(config_path: Path,
                                                                             make_app: Any) -> None:
    before = head_commit(config_path).id
    app = make_app()
    async with app.run_test(size=(110, 36)) as pilot:
        await open_schedule(pilot)
        modal = app.screen
        assert isinstance(modal, ScheduleModal)
        shown = str(modal.query_one("#schedule-what").render())
        assert "update flag default/maintenance-mode (enabled)" in shown
        assert "update segment default/beta-testers (name)" in shown
        await type_time(pilot, "tomorrow")
        assert "expected e.g. 2026-12-24 18:00 (UTC)" in str(modal.query_one("#schedule-when").render())
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal and "When (UTC): 'tomorrow'" in str(modal.query_one("#form-error").render())
        await type_time(pilot, "2026-01-16 10:00")  # an hour before NOW
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal and "is in the past" in str(modal.query_one("#form-error").render())
        await type_time(pilot, "2026-01-16 15:30")
        assert str(modal.query_one("#schedule-when").render()) == "→ 2026-01-16 15:30:00 UTC, in 4h30m"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen) and app.session.pending == []
        await pilot.press("T")
        await settle(pilot)
        (row,) = app.screen.rows
        assert (row.key, row.state, row.flag) == ("S-1", "pending", "default/maintenance-mode +2")
        assert row.what == ("update flag default/maintenance-mode (enabled); update flag default/new-checkout "
                            "(enabled); update segment default/beta-testers (name)")
        assert str(app.screen.query_one("#timeline-detail").render()).splitlines() == [
            "S-1 will, at its time:", "  • update flag default/maintenance-mode (enabled)",
            "  • update flag default/new-checkout (enabled)", "  • update segment default/beta-testers (name)"]
    # one commit, of the record only: the flags are as they were
    scheduled = head_commit(config_path)
    assert [p.id for p in scheduled.parents] == [before]
    assert scheduled.message.startswith("schedule S-1: update flag default/maintenance-mode (enabled);")
    with open_store(config_path) as store:
        doc = store.snapshot("production").document("default")
        assert (doc.flag("maintenance-mode").enabled, doc.flag("new-checkout").enabled) == (False, True)
        (record,) = SCHEDULES.read(store, "production").items
        assert record.at == NOW.replace(hour=15, minute=30) and record.by == "Tess Tester <tess@example.com>"
    at = NOW.replace(hour=15, minute=30)
    automation = AutomationRunner(load_evaluator_config(config_path), now=lambda: at)
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.DONE
    with open_store(config_path) as store:
        doc = store.snapshot("production").document("default")
        assert (doc.flag("maintenance-mode").enabled, doc.flag("new-checkout").enabled) == (True, False)
        assert doc.segment("beta-testers").name == "Beta"
    assert head_commit(config_path).message.startswith("updated multiple resources")

async def test_escape_keeps_the_edits_pending_and_a_viewer_has_no_schedule_key(config_path: Path,
                                                                              make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(110, 36)) as pilot:
        await open_schedule(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and len(app.session.pending) == 3
        assert app.screen.check_action("schedule", ()) is True
    with open_store(config_path) as store:
        assert SCHEDULES.read(store, "production").items == ()

def test_snapshot_schedule_modal(snap_compare, make_app: Any) -> None:  # noqa: ANN001
    async def run_before(pilot: Any) -> None:
        await open_schedule(pilot)
        await type_time(pilot, "+2h")

    assert snap_compare(make_app(), run_before=run_before, terminal_size=(110, 44))

NOW_ = NOW + timedelta(0)  # the frozen clock the snapshot's "in 2h" is measured from


async def test_in_a_protected_environment_s_proposes_the_schedule(tmp_path: Path) -> None:
    """Alice (editor) schedules a toggle in protected production: a proposal opens (the branch holds the schedule
    as proposed, production nothing); Bob (admin) approves, merging adds the schedule, pending."""
    from app.console import ConsoleApp
    from app.screens.proposal import ProposalScreen
    from app.session import Session
    from gitstore.proposals.service import Proposals

    from .test_proposals import ALICE, BOB, ROLES, head_text, protected_seed, review_a_toggle
    from .test_proposals import open_store as open_as

    config = protected_seed(tmp_path / "flags")
    store = open_as(config, ALICE, ROLES)
    session = Session(store, env="production", namespace="default", author=(ALICE.name, ALICE.email), roles=ROLES,
                      clock=lambda: NOW)
    try:
        app = ConsoleApp(session, theme="textual-dark", cursor_blink=False)
        async with app.run_test(size=(110, 36)) as pilot:
            await review_a_toggle(pilot)
            await pilot.press("S")
            await settle(pilot)
            assert isinstance(app.screen, ScheduleModal)
            assert "production is protected: this opens a proposal" in str(app.screen.query_one("#schedule-what")
                                                                               .render())
            await type_time(pilot, "+2h")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ProposalScreen) and not app.session.pending
            assert "Merging adds schedule S-1: update flag default/new-checkout (enabled)" in head_text(app)
    finally:
        store.close()
    with open_as(config, BOB) as admin:
        assert SCHEDULES.read(admin, "production").items == ()
        (proposed,) = SCHEDULES.read(admin, "production/schedule-default-new-checkout").items
        assert proposed.state is ScheduleState.PROPOSED
        proposals = Proposals(admin)
        proposals.approve("P-1", BOB)
        proposals.merge("P-1", BOB)
        (record,) = SCHEDULES.read(admin, "production").items
        assert (record.state, record.at) == (ScheduleState.PENDING, NOW.replace(microsecond=0) + timedelta(hours=2))
