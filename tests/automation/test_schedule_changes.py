"""Schedules of a change set (any edit the console can stage: flags and segments created, updated, deleted, in
several namespaces of one environment), carried out by the real runner with a clock the test controls, and checked
again when they run: a resource changed meanwhile in a field the schedule sets makes it fail visibly (nothing
overwritten), a change to other fields is rebased over. Old schedule records (one flag's patch) stay readable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gitstore.automation import changeset, schedules
from gitstore.automation.changeset import ChangedMeanwhile, ScheduledChange
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType, MatchType, NamespaceInfo, Segment
from gitstore.store import Store

from .conftest import ALICE, messages, open_store, trailer
from .test_schedules import T0, Clock, runner


def staged(store: Store, env: str, changes: list[Change]) -> tuple[ScheduledChange, ...]:
    """The changes as the console stages them: each with the resource as it is now."""
    from gitstore.model.changes import resource_value

    snap = store.snapshot(env)
    return tuple(changeset.of(c, resource_value(snap.document(c.namespace), c.kind, c.key))  # type: ignore[arg-type]
                 for c in changes)


def add_mobile_namespace(store: Store) -> None:
    store.commit("production", [Change("mobile", Kind.NAMESPACE, "mobile", NamespaceInfo(key="mobile", name="Mobile")),
                                Change("mobile", Kind.FLAG, "dark-mode", Flag(key="dark-mode", name="Dark mode",
                                                                              type=FlagType.BOOLEAN))], ALICE)


def run_at(config: Path, when: T0.__class__) -> schedules.Outcome:
    automation = runner(config, Clock(when))
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    return outcome


def test_a_change_set_over_namespaces_lands_at_its_time_as_one_commit(config: Path) -> None:
    at = T0 + timedelta(hours=2)
    with open_store(config) as store:
        add_mobile_namespace(store)
        doc = store.snapshot("production").document("default")
        checkout = doc.flag("new-checkout")
        mobile = store.snapshot("production").document("mobile").flag("dark-mode")
        changes = staged(store, "production", [
            Change("default", Kind.FLAG, "new-checkout", checkout.model_copy(update={"enabled": False})),
            Change("default", Kind.SEGMENT, "vip", Segment(key="vip", name="VIP", match_type=MatchType.ANY)),
            Change("default", Kind.FLAG, "maintenance-mode", None),
            Change("mobile", Kind.FLAG, "dark-mode", mobile.model_copy(update={"enabled": True})),
        ])
        made, _ = schedules.schedule_changes(store, "production", changes, at, "Holiday switch-over", author=ALICE,
                                             now=T0)
        assert made.id == "S-1" and made.target() == "default/new-checkout +3"
        assert made.what() == ("update flag default/new-checkout (enabled); create segment default/vip; "
                               "delete flag default/maintenance-mode; update flag mobile/dark-mode (enabled)")
        scheduled_at = store.head("production")
    # the record reads back from the repository as written (flags as flags, segments as segments)
    with open_store(config) as store:
        (record,) = SCHEDULES.read(store, "production").items
        assert record == made and isinstance(record.changes[1].after, Segment)
    automation = runner(config, Clock(at - timedelta(minutes=1)))
    try:
        assert automation.tick().schedules == [] and automation.store.head("production") == scheduled_at
    finally:
        automation.store.close()
    outcome = run_at(config, at + timedelta(seconds=5))
    assert outcome.schedule.state is ScheduleState.DONE and outcome.schedule.note == "ran on time"
    with open_store(config) as store:
        snap = store.snapshot("production")
        assert snap.commit == outcome.commit
        assert snap.document("default").flag("new-checkout").enabled is False
        assert snap.document("default").segment("vip") is not None
        assert snap.document("default").flag("maintenance-mode") is None
        assert snap.document("mobile").flag("dark-mode").enabled is True
    message = messages(config, 1)[0]
    assert message.startswith("Holiday switch-over\n\nSchedule S-1 by Alice Example <alice@example.com>")
    assert trailer(message, "Schedule") == "S-1" and trailer(message, "On-behalf-of") == "Alice Example <alice@example.com>"


def test_a_conflicting_change_meanwhile_makes_it_fail_visibly(config: Path) -> None:
    at = T0 + timedelta(hours=1)
    with open_store(config) as store:
        flag = store.snapshot("production").document("default").flag("new-checkout")
        changes = staged(store, "production", [
            Change("default", Kind.FLAG, "new-checkout", flag.model_copy(update={"enabled": False,
                                                                                 "description": "frozen"})),
            Change("default", Kind.FLAG, "maintenance-mode", None)])
        schedules.schedule_changes(store, "production", changes, at, author=ALICE, now=T0)
        # meanwhile someone else writes another description (and, in agreement with the schedule, turns it off)
        store.commit("production", [Change("default", Kind.FLAG, "new-checkout", flag.model_copy(
            update={"enabled": False, "description": "on again"}))], ALICE)
    outcome = run_at(config, at)
    assert outcome.schedule.state is ScheduleState.FAILED
    assert outcome.schedule.note == ("failed: flag default/new-checkout in 'production' was changed meanwhile in "
                                     "description, which the schedule changes too: not applied, so nothing is overwritten")
    with open_store(config) as store:
        doc = store.snapshot("production").document("default")
        assert doc.flag("new-checkout").description == "on again"
        assert doc.flag("maintenance-mode") is not None  # nothing of the set applied
    assert messages(config, 1)[0].startswith("schedule S-1 failed")


def test_a_change_to_other_fields_meanwhile_is_rebased_over(config: Path) -> None:
    at = T0 + timedelta(hours=1)
    with open_store(config) as store:
        flag = store.snapshot("production").document("default").flag("new-checkout")
        schedules.schedule_changes(store, "production", staged(store, "production", [
            Change("default", Kind.FLAG, "new-checkout", flag.model_copy(update={"enabled": False}))]), at,
            author=ALICE, now=T0)
        store.commit("production", [Change("default", Kind.FLAG, "new-checkout", flag.model_copy(
            update={"description": "owned by payments"}))], ALICE)
    assert run_at(config, at).schedule.state is ScheduleState.DONE
    with open_store(config) as store:
        found = store.snapshot("production").document("default").flag("new-checkout")
        assert (found.enabled, found.description) == (False, "owned by payments")


@pytest.mark.parametrize("meanwhile", ["deleted", "created"])
def test_a_resource_deleted_or_created_meanwhile_fails_it(config: Path, meanwhile: str) -> None:
    at = T0 + timedelta(hours=1)
    segment = Segment(key="vip", name="VIP", match_type=MatchType.ANY)
    with open_store(config) as store:
        flag = store.snapshot("production").document("default").flag("new-checkout")
        changes = [Change("default", Kind.FLAG, "new-checkout", flag.model_copy(update={"enabled": False})),
                   Change("default", Kind.SEGMENT, "vip", segment)]
        schedules.schedule_changes(store, "production", staged(store, "production", changes), at, author=ALICE,
                                   now=T0)
        if meanwhile == "deleted":
            store.commit("production", [Change("default", Kind.FLAG, "new-checkout", None)], ALICE)
        else:
            store.commit("production", [Change("default", Kind.SEGMENT, "vip", segment.model_copy(
                update={"name": "Very important"}))], ALICE)
    note = run_at(config, at).schedule.note
    assert note == {"deleted": "failed: flag default/new-checkout in 'production' was deleted meanwhile: the "
                               "scheduled update no longer applies",
                    "created": "failed: segment default/vip in 'production' was created meanwhile by someone "
                               "else: the scheduled create would overwrite it"}[meanwhile]


def test_a_change_set_that_would_not_validate_then_fails_naming_why(config: Path) -> None:
    """The flag's new rule uses a segment someone deleted meanwhile: the commit is refused by validation, and the
    schedule is marked failed with the reason (not retried every round)."""
    from gitstore.model.documents import Distribution, Rule, SegmentRef

    at = T0 + timedelta(hours=1)
    with open_store(config) as store:
        store.commit("production", [Change("default", Kind.SEGMENT, "vip", Segment(
            key="vip", name="VIP", match_type=MatchType.ANY))], ALICE)
        flag = store.snapshot("production").document("default").flag("color-theme")
        rule = Rule(segment=SegmentRef(keys=("vip",)),
                    distributions=(Distribution(variant=flag.variants[0].key, rollout=100),))
        schedules.schedule_changes(store, "production", staged(store, "production", [
            Change("default", Kind.FLAG, "color-theme", flag.model_copy(update={"rules": (*flag.rules, rule)}))]),
            at, author=ALICE, now=T0)
        store.commit("production", [Change("default", Kind.SEGMENT, "vip", None)], ALICE)
    outcome = run_at(config, at)
    assert outcome.schedule.state is ScheduleState.FAILED
    assert "rule references unknown segment 'vip'" in outcome.schedule.note
    automation = runner(config, Clock(at + timedelta(minutes=1)))
    try:
        assert automation.tick().schedules == []  # failed once, said once
    finally:
        automation.store.close()


def test_scheduling_a_change_staged_on_an_older_state_is_refused(config: Path) -> None:
    with open_store(config) as store:
        flag = store.snapshot("production").document("default").flag("new-checkout")
        changes = staged(store, "production", [
            Change("default", Kind.FLAG, "new-checkout", flag.model_copy(update={"enabled": False}))])
        store.commit("production", [Change("default", Kind.FLAG, "new-checkout", flag.model_copy(
            update={"description": "x"}))], ALICE)
        with pytest.raises(ChangedMeanwhile, match="changed in 'production' since the edit was staged"):
            schedules.schedule_changes(store, "production", changes, T0 + timedelta(hours=1), author=ALICE, now=T0)
        with pytest.raises(Exception, match="cannot be scheduled"):
            changeset.of(Change("x", Kind.NAMESPACE, "x", NamespaceInfo(key="x")), None)
        assert SCHEDULES.read(store, "production").items == ()


OLD_RECORDS = b"""\
# Written by Flagdeck (schedules); Flipt does not read this directory.
schedules:
- id: S-1
  namespace: default
  flag: new-checkout
  set:
    enabled: false
    threshold: null
    distribution: null
    rule: null
  at: '2026-12-24T18:00:00Z'
  missed: null
  by: Alice Example <alice@example.com>
  created: '2026-12-24T17:00:00Z'
  state: pending
  ran_at: null
  note: ''
"""


def test_records_written_before_change_sets_stay_readable_and_run(config: Path) -> None:
    with open_store(config) as store:
        store.commit("production", [], ALICE, store.head("production"), "old schedules",
                     files={".flagdeck/schedules.yaml": OLD_RECORDS})
        loaded = SCHEDULES.read(store, "production")
        assert loaded.problems == () and loaded.items[0].what() == "default/new-checkout: enabled=false"
    outcome = run_at(config, T0 + timedelta(hours=1))
    assert outcome.schedule.state is ScheduleState.DONE
    with open_store(config) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False
