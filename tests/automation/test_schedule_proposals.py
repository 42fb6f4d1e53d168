"""Schedules and ramps in a protected environment go in through a proposal (real repository, `flagdeck` run as a
real process): `flagdeck schedule` / `ramp start` open proposal N (a branch holding the record as proposed), the
proposal's rules apply (the author cannot approve, approvals by the policy's role), and merging the approved
proposal adds the record in one commit with `Proposal:` and `Approved-by:` trailers; then the scheduler carries it
out at its time. A schedule added meanwhile is not overwritten (the proposed one is renumbered), and a ramp starts
from the flag as it is at the merge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitstore.automation import schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.ramps import RAMPS, RampState
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.model.changes import Change, Kind

from .conftest import ALICE, flagdeck, messages, open_store, protect, trailer
from .test_schedules import Clock, runner

AT = "2027-06-01T09:00:00Z"
WHEN = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
EDITOR = '{"*": "editor"}'
BOB = "Bob Admin <bob@example.com>"


def test_a_schedule_in_a_protected_environment_opens_a_proposal_whose_merge_adds_it(config: Path) -> None:
    protect(config)
    code, out, err = flagdeck(config, "schedule", "new-checkout", "--env", "production", "--enabled", "false",
                              "--at", AT, roles=EDITOR)
    assert code == 0, err
    assert out.strip() == ("production is protected: opened proposal P-1 (branch schedule-default-new-checkout); "
                           "once approved and merged it adds schedule S-1: default/new-checkout: enabled=false at "
                           "2027-06-01T09:00:00+00:00")
    with open_store(config) as store:
        assert SCHEDULES.read(store, "production").items == ()  # nothing scheduled before the merge
        (on_branch,) = SCHEDULES.read(store, "production/schedule-default-new-checkout").items
        assert on_branch.state is ScheduleState.PROPOSED
    # no scheduler carries out a proposed record, whatever the time
    automation = runner(config, Clock(WHEN + timedelta(days=1)))
    try:
        assert automation.tick().schedules == []
    finally:
        automation.store.close()
    code, out, _ = flagdeck(config, "proposal", "show", "P-1")
    assert "adds schedule S-1: default/new-checkout: enabled=false at 2027-06-01T09:00:00+00:00" in out
    code, _, err = flagdeck(config, "approve", "P-1", roles=EDITOR)
    assert code == 1 and "the author cannot approve their own proposal" in err
    code, _, err = flagdeck(config, "merge", "P-1", roles=EDITOR)
    assert code == 1 and "is not approved" in err
    code, _, err = flagdeck(config, "approve", "P-1", user="Carl Editor <carl@example.com>", roles=EDITOR)
    assert code == 1 and "approving needs admin" in err  # the policy's approvers
    code, _, err = flagdeck(config, "approve", "P-1", user=BOB)
    assert code == 0, err
    code, out, err = flagdeck(config, "merge", "P-1", roles=EDITOR)
    assert code == 0, err
    merged = messages(config, 3)
    merge = next(m for m in merged if m.startswith("schedule S-1"))
    assert trailer(merge, "Proposal") == "P-1" and trailer(merge, "Approved-by") == BOB
    with open_store(config) as store:
        (record,) = SCHEDULES.read(store, "production").items
        assert (record.id, record.state, record.by, record.note) == (
            "S-1", ScheduleState.PENDING, "Alice Example <alice@example.com>", "via proposal P-1")
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is True
    automation = runner(config, Clock(WHEN))
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.DONE
    with open_store(config) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False


def test_a_schedule_added_meanwhile_is_kept_and_the_proposed_one_renumbered(config: Path) -> None:
    protect(config)
    code, out, err = flagdeck(config, "schedule", "new-checkout", "--env", "production", "--threshold", "30",
                              "--at", AT, "--json", roles=EDITOR)
    assert code == 0, err
    assert json.loads(out)["proposal"] == "P-1" and json.loads(out)["schedule"]["state"] == "proposed"
    with open_store(config) as store, store.break_glass("production", "incident 7"):
        schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True),
                           WHEN, author=ALICE, now=WHEN - timedelta(days=1))
    assert flagdeck(config, "approve", "P-1", user=BOB)[0] == 0
    code, _, err = flagdeck(config, "merge", "P-1")
    assert code == 0, err
    with open_store(config) as store:
        found = [(s.id, s.flag, s.state.value) for s in SCHEDULES.read(store, "production").items]
    assert found == [("S-1", "maintenance-mode", "pending"), ("S-2", "new-checkout", "pending")]


def test_a_ramp_in_a_protected_environment_starts_when_its_proposal_is_merged(config: Path) -> None:
    protect(config)
    code, out, err = flagdeck(config, "ramp", "start", "new-checkout", "--env", "production", "--steps", "20,60",
                              "--every", "1h", roles=EDITOR)
    assert code == 0, err
    assert "opened proposal P-1 (branch ramp-default-new-checkout)" in out
    with open_store(config) as store:
        assert RAMPS.read(store, "production").items == ()
        # meanwhile the flag changes (break glass): the ramp starts from the flag as it is at the merge
        flag = store.snapshot("production").document("default").flag("new-checkout")
        with store.break_glass("production", "incident 8"):
            store.commit("production", [Change("default", Kind.FLAG, "new-checkout", flag.model_copy(
                update={"description": "owned by payments"}))], ALICE)
    assert flagdeck(config, "approve", "P-1", user=BOB)[0] == 0
    assert flagdeck(config, "merge", "P-1")[0] == 0
    with open_store(config) as store:
        (ramp,) = RAMPS.read(store, "production").items
        assert ramp.state is RampState.RUNNING and ramp.before.description == "owned by payments"
        assert ramp.events[-1].text == "started: proposal P-1 merged"
    assert trailer(messages(config, 1)[0], "Proposal") == "P-1"
    automation = runner(config, Clock(datetime.now(UTC) + timedelta(minutes=1)))
    try:
        (moved,) = automation.tick().ramps
    finally:
        automation.store.close()
    assert moved.step == 1
    with open_store(config) as store:
        rollouts = store.snapshot("production").document("default").flag("new-checkout").rollouts
        assert [r.threshold.percentage for r in rollouts if r.threshold is not None] == [20]


def test_a_viewer_cannot_propose_a_schedule_and_break_glass_still_writes_directly(config: Path) -> None:
    protect(config)
    code, _, err = flagdeck(config, "schedule", "new-checkout", "--env", "production", "--enabled", "false",
                            "--at", AT, roles='{"*": "viewer"}')
    assert code == 1 and err.startswith("refused:")
    code, out, err = flagdeck(config, "schedule", "new-checkout", "--env", "production", "--enabled", "false",
                              "--at", AT, "--break-glass", "freeze")
    assert code == 0 and "scheduled S-1" in out, err
    with open_store(config) as store:
        assert [e.name for e in store.environments() if e.base == "production"] == []  # no branch, no proposal
