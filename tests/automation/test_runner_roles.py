"""A schedule or a ramp step runs on behalf of the user who made it, and that user's role is checked when it runs,
as flagdeck.yaml's `automation.roles` says then: a user demoted or removed since makes it fail visibly (marked
failed, with the reason, in a commit of its own that is a change event) instead of committing. Real repository,
the real runner, a clock the test controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import ramps, schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.ramps import RampState
from gitstore.automation.schedules import ScheduleState
from gitstore.errors import ConfigError
from gitstore.store import Author

from .conftest import ALICE, messages, open_store, trailer
from .test_schedules import Clock

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
BOB = Author("Bob Builder", "bob@example.com")
CAROL = Author("Carol Chen", "Carol@Example.com")
ROLES = ('automation:\n  roles:\n    alice@example.com: {"*": editor}\n    bob@example.com: {"*": editor}\n'
         '    carol@example.com: {production: admin, staging: viewer}\n')


def with_roles(config: Path, roles: str) -> None:
    base = config.read_text().split("automation:\n")[0]
    config.write_text(base + roles)


def enabled(config: Path, env: str, flag: str) -> bool:
    with open_store(config) as store:
        return store.snapshot(env).document("default").flag(flag).enabled


def test_a_demoted_or_removed_user_s_schedule_fails_when_it_runs(config: Path) -> None:
    with_roles(config, ROLES)
    at = T0 + timedelta(hours=1)
    with open_store(config) as store:
        alice, _ = schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False), at,
                                      author=ALICE, now=T0)
        bob, _ = schedules.schedule(store, "production", "default", "maintenance-mode", FlagPatch(enabled=True),
                                    at, author=BOB, now=T0)
        carol, _ = schedules.schedule(store, "production", "default", "color-theme", FlagPatch(enabled=False), at,
                                      author=CAROL, now=T0)
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(at))
    # after the runner started: Alice demoted to viewer in production, Bob removed; Carol keeps admin there
    with_roles(config, ROLES.replace('alice@example.com: {"*": editor}',
                                     'alice@example.com: {production: viewer, "*": editor}')
               .replace('    bob@example.com: {"*": editor}\n', ""))
    try:
        outcomes = {o.schedule.id: o.schedule for o in automation.tick().schedules}
    finally:
        automation.store.close()
    assert outcomes[alice.id].state is ScheduleState.FAILED
    assert outcomes[alice.id].note == (
        "failed: refused when it ran: Alice Example <alice@example.com> is viewer in 'production'; schedule S-1 "
        "(default/new-checkout: enabled=false) needs editor (automation.roles, as of now)")
    assert outcomes[bob.id].state is ScheduleState.FAILED
    assert outcomes[bob.id].note.startswith(
        f"failed: refused when it ran: Bob Builder <bob@example.com> is no longer in automation.roles ({config})")
    assert outcomes[carol.id].state is ScheduleState.DONE  # her email matched whatever its case
    assert enabled(config, "production", "new-checkout") is True  # nothing committed on their behalf
    assert enabled(config, "production", "maintenance-mode") is False
    assert enabled(config, "production", "color-theme") is False
    by_schedule = {trailer(m, "Schedule"): m for m in messages(config, 5)}
    assert by_schedule["S-1"].startswith("schedule S-1 failed\n") and "viewer in 'production'" in by_schedule["S-1"]
    assert trailer(by_schedule["S-1"], "On-behalf-of") == "Alice Example <alice@example.com>"
    with open_store(config) as store:  # each failure is a change event, though it changed no flag
        found = {c.trailer("Schedule"): c for c in store.changes("production", limit=5)}
        assert not found["S-1"].changes and found["S-1"].is_event and found["S-2"].is_event


def test_a_ramp_whose_user_was_demoted_fails_at_its_next_step_and_leaves_the_flag(config: Path) -> None:
    with_roles(config, ROLES)
    with open_store(config) as store:
        made, _ = ramps.start(store, "staging", "default", "new-checkout", [5, 25, 50], 3600, author=ALICE, now=T0)
    clock = Clock(T0)
    automation = AutomationRunner(load_evaluator_config(config), now=clock)
    try:
        (moved,) = automation.tick().ramps
        assert (moved.step, moved.state) == (1, RampState.RUNNING)
        with_roles(config, ROLES.replace('alice@example.com: {"*": editor}', 'alice@example.com: {"*": viewer}'))
        clock.now = T0 + timedelta(hours=1)
        (moved,) = automation.tick().ramps
    finally:
        automation.store.close()
    assert moved.state is RampState.FAILED and moved.step == 1 and moved.next_at is None
    assert moved.note == ("step 2 refused when due: Alice Example <alice@example.com> is viewer in 'staging'; step 2 "
                          "of ramp R-1 needs editor (automation.roles, as of now); flag left as it is (step 1/3)")
    with open_store(config) as store:
        rollouts = store.snapshot("staging").document("default").flag("new-checkout").rollouts
        assert rollouts[1].threshold.percentage == 5
    last = messages(config, 1)[0]
    assert last.startswith("ramp R-1 failed\n") and trailer(last, "Ramp") == made.id


def test_a_broken_flagdeck_yaml_keeps_the_roles_it_had(config: Path, caplog: pytest.LogCaptureFixture) -> None:
    with_roles(config, ROLES)
    with open_store(config) as store:
        schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False),
                           T0 + timedelta(minutes=5), author=ALICE, now=T0)
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(T0 + timedelta(minutes=5)))
    config.write_text(config.read_text() + "    dave@example.com: {nowhere: admin}\n")
    with pytest.raises(ConfigError, match="automation.roles.dave@example.com: unknown environment 'nowhere'"):
        load_evaluator_config(config)
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.DONE  # Alice is still editor as of the last good file
    assert "does not load" in caplog.text and "roles it had before stay in force" in caplog.text


def test_without_automation_roles_nothing_is_checked(config: Path) -> None:
    with open_store(config) as store:
        schedules.schedule(store, "production", "default", "new-checkout", FlagPatch(enabled=False),
                           T0 + timedelta(minutes=5), author=BOB, now=T0)
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(T0 + timedelta(minutes=5)))
    try:
        (outcome,) = automation.tick().schedules
    finally:
        automation.store.close()
    assert outcome.schedule.state is ScheduleState.DONE
