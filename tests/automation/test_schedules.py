"""Scheduled changes on a real repository, with a clock the test controls: the change becomes one commit at its
time (author the scheduler, `Schedule:` and `On-behalf-of:` trailers, the schedule marked done in the same commit),
a missed schedule runs late or is skipped as configured and says which, a change that no longer applies fails
visibly, a protected environment is scheduled only through its protection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.errors import ConflictError, NotFoundError, ProtectedEnvironment
from gitstore.model.changes import Change, Kind

from .conftest import ALICE, messages, open_store, protect, trailer

T0 = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def runner(config: Path, clock: Clock) -> AutomationRunner:
    return AutomationRunner(load_evaluator_config(config), now=clock)


def test_a_schedule_becomes_one_commit_at_its_time(config: Path) -> None:
    clock = Clock(T0)
    with open_store(config) as store:
        made, result = schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False),
                                          T0 + timedelta(hours=1), author=ALICE, now=T0)
        assert made.id == "S-1" and result.created
        # the record is in the environment's repository, and Flipt's view of the environment is unchanged by it
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is True
        scheduled_at = store.head("production")
    automation = runner(config, clock)
    try:
        assert automation.tick().schedules == [] and automation.store.head("production") == scheduled_at  # not due yet
        clock.now = T0 + timedelta(hours=1, seconds=3)
        (outcome,) = automation.tick().schedules
        assert outcome.schedule.state is ScheduleState.DONE and outcome.schedule.note == "ran on time"
        assert automation.tick().schedules == []  # done: never again
    finally:
        automation.store.close()
    with open_store(config) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False
        (entry,) = store.history("production", "default", limit=1)
        assert entry.commit == outcome.commit and entry.author_name == "Flagdeck scheduler"
        lines = entry.message.splitlines()
        assert lines[0] == "update flag default/new-checkout"
        assert lines[-2:] == ["Schedule: S-1", "On-behalf-of: Alice Example <alice@example.com>"]
        # marked done in that same commit
        (done,) = SCHEDULES.read(store, "production").items
        assert done.state is ScheduleState.DONE and SCHEDULES.read(store, "production").commit == outcome.commit


def test_missed_schedules_run_late_or_are_skipped_and_say_which(config: Path) -> None:
    at = T0 + timedelta(minutes=10)
    with open_store(config) as store:
        late, _ = schedules.schedule(store, "staging", "default", "maintenance-mode", FlagPatch(enabled=True), at,
                                     "run", ALICE, now=T0)
        skipped, _ = schedules.schedule(store, "staging", "default", "new-checkout", FlagPatch(threshold=50), at,
                                        "skip", ALICE, now=T0)
        default, _ = schedules.schedule(store, "staging", "default", "color-theme", FlagPatch(enabled=False), at,
                                        None, ALICE, now=T0)
    clock = Clock(at + timedelta(hours=3, minutes=2))  # the scheduler was down for 3 hours
    automation = runner(config, clock)
    try:
        outcomes = {o.schedule.id: o for o in automation.tick().schedules}
    finally:
        automation.store.close()
    assert outcomes[late.id].schedule.note == "ran late: missed by 3h2m (missed: run)"
    assert outcomes[skipped.id].schedule.state is ScheduleState.SKIPPED
    assert outcomes[skipped.id].schedule.note == "skipped: missed by 3h2m (missed: skip)"
    assert outcomes[default.id].schedule.state is ScheduleState.DONE  # automation.missed defaults to run
    with open_store(config) as store:
        doc = store.snapshot("staging").document("default")
        assert doc.flag("maintenance-mode").enabled is True
        assert doc.flag("new-checkout").rollouts[1].threshold.percentage == 100  # skipped: unchanged
        assert doc.flag("color-theme").enabled is False
    by_schedule = {trailer(m, "Schedule"): m for m in messages(config)}
    assert "ran late: missed by 3h2m (missed: run)" in by_schedule["S-1"]
    assert by_schedule["S-2"].startswith("schedule S-2 skipped\n")  # no change: the commit only records it
    assert "skipped: missed by 3h2m (missed: skip)" in by_schedule["S-2"]


def test_a_change_that_no_longer_applies_fails_visibly(config: Path) -> None:
    with open_store(config) as store:
        made, _ = schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True),
                                     T0 + timedelta(minutes=5), author=ALICE, now=T0)
        store.commit("production", [Change("default", Kind.FLAG, "maintenance-mode", None)], ALICE)
    automation = runner(config, Clock(T0 + timedelta(minutes=5)))
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.FAILED
    assert outcome.schedule.note == "failed: flag default/maintenance-mode does not exist in 'production'"
    failed = messages(config, 1)[0]
    assert failed.startswith("schedule S-1 failed\n") and trailer(failed, "Schedule") == "S-1"
    with open_store(config) as store:
        assert store.head("production") == outcome.commit
        assert SCHEDULES.read(store, "production").items[0].state is ScheduleState.FAILED


def test_refused_when_the_change_does_not_apply_now(config: Path) -> None:
    with open_store(config) as store:
        with pytest.raises(NotFoundError, match="flag default/nope does not exist"):
            schedules.schedule(store, "production", "default", "nope", FlagPatch(enabled=True),
                               T0 + timedelta(hours=1), author=ALICE, now=T0)
        assert SCHEDULES.read(store, "production").items == ()


def test_a_protected_environment_is_scheduled_only_through_its_protection(config: Path) -> None:
    protect(config)
    with open_store(config) as store:
        with pytest.raises(ProtectedEnvironment):
            schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False),
                               T0 + timedelta(hours=1), author=ALICE, now=T0)
        with store.break_glass("production", "freeze for the holidays"):
            schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False),
                               T0 + timedelta(hours=1), author=ALICE, now=T0)
    assert trailer(messages(config, 1)[0], "Break-glass") == "freeze for the holidays"
    automation = runner(config, Clock(T0 + timedelta(hours=1)))
    try:
        (outcome,) = automation.tick().schedules  # admitted: the schedule came in through the protection
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.DONE
    with open_store(config) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False


def test_two_schedulers_that_read_the_same_tip_commit_once(config: Path) -> None:
    """Deterministic form of the replicas' race: both read the schedule pending at one tip, both carry it out; the
    second is refused by the compare-and-swap (the file changed), so the change lands once."""
    with open_store(config) as store:
        schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True),
                           T0 + timedelta(minutes=1), author=ALICE, now=T0)
    first, second = open_store(config, None), open_store(config, None)
    try:
        seen = [SCHEDULES.read(s, "production") for s in (first, second)]
        assert seen[0].commit == seen[1].commit
        now = T0 + timedelta(minutes=1)
        done = schedules.carry_out(first, seen[0], seen[0].items[0], now, 300, "run")
        with pytest.raises(ConflictError, match="production/.flagdeck/schedules.yaml was changed meanwhile"):
            schedules.carry_out(second, seen[1], seen[1].items[0], now, 300, "run")
        assert first.head("production") == done.commit
    finally:
        first.close()
        second.close()
    assert sum(trailer(m, "Schedule") == "S-1" for m in messages(config)) == 1
