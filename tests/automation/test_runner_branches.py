"""Schedules and ramps in a branch environment (`flipt/ENV/NAME`, issue 17 gap 3) are carried out by the runner like
any environment's, on the branch only; a schedule the branch inherited from its base (there where the branch left
it) is the base's, never carried out on the branch (else a change cancelled in the base would come back with the
branch's merge). Real repository, the real runner, a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import ramps, schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.ramps import RAMPS, RampState
from gitstore.automation.schedules import SCHEDULES, ScheduleState

from .conftest import ALICE, flagdeck, open_store, trailer
from .test_schedules import Clock

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)


def flag(store: object, env: str, key: str) -> object:
    return store.snapshot(env).document("default").flag(key)  # type: ignore[attr-defined]


def test_a_branch_environment_runs_its_own_schedules_and_ramps_not_its_base_s(config: Path) -> None:
    with open_store(config) as store:
        base, _ = schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True), AT,
                                     author=ALICE, now=T0)
        store.branch("production", "fix", ALICE)
        own, _ = schedules.schedule(store, "production/fix", "default", "new-checkout", FlagPatch(enabled=False),
                                    AT, author=ALICE, now=T0)
        ramp, _ = ramps.start(store, "fix", "default", "new-checkout", [5, 50], 3600, author=ALICE, now=T0)
        assert (base.id, own.id, ramp.id) == ("S-1", "S-2", "R-1")
        before = flag(store, "production", "new-checkout")
    clock = Clock(AT)
    automation = AutomationRunner(load_evaluator_config(config), now=clock)
    try:
        done = automation.tick()
        assert sorted((o.env, o.schedule.id, o.schedule.state) for o in done.schedules) == [
            ("fix", "S-2", ScheduleState.DONE), ("production", "S-1", ScheduleState.DONE)]
        (moved,) = done.ramps
        assert (moved.id, moved.step, moved.state) == ("R-1", 1, RampState.RUNNING)
        clock.now = AT + timedelta(minutes=5)
        assert automation.tick().schedules == []  # S-1 on the branch is production's: left alone, again
    finally:
        automation.store.close()
    with open_store(config) as store:
        assert flag(store, "production", "maintenance-mode").enabled is True  # S-1, in production
        assert flag(store, "fix", "maintenance-mode").enabled is False  # ... not on the branch
        assert flag(store, "fix", "new-checkout").enabled is False  # S-2, on the branch
        assert flag(store, "fix", "new-checkout").rollouts[1].threshold.percentage == 5  # R-1's first step
        assert flag(store, "production", "new-checkout") == before  # production untouched by the branch's
        on_branch = {s.id: s.state for s in SCHEDULES.read(store, "fix").items}
        assert on_branch == {"S-1": ScheduleState.PENDING, "S-2": ScheduleState.DONE}
        assert [s.id for s in SCHEDULES.read(store, "production").items] == ["S-1"]
        assert RAMPS.read(store, "production").items == ()
        (entry, *_) = store.changes("fix", limit=2)
        assert entry.author_name == "Flagdeck scheduler" and entry.trailer("Ramp") == "R-1"
        assert trailer(entry.message, "On-behalf-of") == "Alice Example <alice@example.com>"


def test_listings_show_a_branch_environment_s_own_records_not_its_base_s(config: Path) -> None:
    """`flagdeck schedules` and `flagdeck ramps` without --env list branch environments too; what a branch inherited
    from its base is listed once, under the base (the runner carries it out there, never on the branch)."""
    with open_store(config) as store:
        schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True), AT,
                           author=ALICE, now=T0)
        ramps.start(store, "production", "default", "new-checkout", [10, 50], 3600, author=ALICE, now=T0)
        store.branch("production", "fix", ALICE)
        schedules.schedule(store, "fix", "default", "new-checkout", FlagPatch(enabled=False), AT, author=ALICE, now=T0)
        ramps.start(store, "fix", "default", "maintenance-mode", [5, 50], 3600, author=ALICE, now=T0)
        listed = [(e, s.id) for e, s in schedules.listing(store)]
        assert listed == [("fix", "S-2"), ("production", "S-1")]
        assert [(e, s.id) for e, s in schedules.listing(store, "production/fix")] == [("fix", "S-2")]
        assert [(e, r.id) for e, r in RAMPS.every(store)] == [("production", "R-1"), ("fix", "R-2")]
        assert SCHEDULES.find(store, "S-2") == ("fix", SCHEDULES.read(store, "fix").items[1])
    code, out, err = flagdeck(config, "schedules")
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["S-2", "fix"], ["S-1", "production"]]
