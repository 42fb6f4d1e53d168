"""The scheduler can take its roles from the SSH console's users file (`automation.users`) instead of
`automation.roles`, so one file says who may do what in both: read again at each round, a demoted or removed user's
schedule fails when it runs, a broken edit keeps the last good roles, a missing file refuses everything (fail closed,
as the SSH server lets nobody in). The same file is loaded by the SSH server's reader. Real repository, the real
runner, a clock the test controls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.ssh.users import load_users
from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.schedules import ScheduleState
from gitstore.errors import ConfigError
from gitstore.store import Author

from .conftest import ALICE, open_store
from .test_schedules import Clock

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)
BOB = Author("Bob Builder", "bob@example.com")
CAROL = Author("Carol Chen", "Carol@Example.com")


def new_keys(count: int) -> list[str]:
    import asyncssh  # after app.ssh, which silences asyncssh's DSA warnings before asyncssh is first imported

    return [asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip() for _ in range(count)]


KEYS = new_keys(4)


def users_text(alice: str = '{"*": editor}', bob: str | None = '{"*": editor}', extra: str = "") -> str:
    text = f"users:\n  alice:\n    email: alice@example.com\n    keys: [\"{KEYS[0]}\"]\n    roles: {alice}\n"
    if bob is not None:
        text += f"  bob:\n    email: bob@example.com\n    keys: [\"{KEYS[1]}\"]\n    roles: {bob}\n"
    return text + (f"  carol:\n    name: Carol Chen\n    email: carol@example.com\n    keys: [\"{KEYS[2]}\"]\n"
                   "    roles: {production: admin}\n") + extra


@pytest.fixture
def users(config: Path) -> Path:
    path = config.parent / "people.yaml"
    path.write_text(users_text())
    config.write_text(config.read_text().split("automation:\n")[0] + "automation:\n  users: people.yaml\n")
    return path


def schedule(config: Path, who: Author, key: str) -> str:
    with open_store(config) as store:
        made, _ = schedules.schedule(store, "production", "default", key, FlagPatch(enabled=False), AT,
                                     author=who, now=T0)
    return made.id


def run_round(config: Path, change: object = None) -> dict[str, schedules.Schedule]:
    """One scheduler round at AT; `change()` runs after the runner started (it read the roles then)."""
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(AT))
    try:
        if callable(change):
            change()
        return {o.schedule.id: o.schedule for o in automation.tick().schedules}
    finally:
        automation.store.close()


def test_roles_come_from_the_users_file_as_it_is_when_the_schedule_runs(config: Path, users: Path) -> None:
    assert len(load_users(users)) == 3  # the SSH server takes the very same file
    alice, bob, carol = (schedule(config, ALICE, "new-checkout"), schedule(config, BOB, "color-theme"),
                         schedule(config, CAROL, "search-ranking"))
    done = run_round(config, lambda: users.write_text(users_text(alice='{production: viewer, "*": editor}',
                                                                 bob=None)))
    assert done[alice].state is ScheduleState.FAILED
    assert done[alice].note == (
        "failed: refused when it ran: Alice Example <alice@example.com> is viewer in 'production'; schedule S-1 "
        "(default/new-checkout: enabled=false) needs editor (people.yaml, as of now)")
    assert done[bob].state is ScheduleState.FAILED
    assert done[bob].note.startswith(
        f"failed: refused when it ran: Bob Builder <bob@example.com> is no longer in the users file {users}")
    assert done[carol].state is ScheduleState.DONE  # her email matched whatever its case


def test_a_broken_edit_keeps_the_last_good_roles_and_a_missing_file_refuses_all(
        config: Path, users: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    first = schedule(config, ALICE, "new-checkout")
    done = run_round(config, lambda: users.write_text(users_text() + "  dave: [not, a, mapping\n"))
    assert done[first].state is ScheduleState.DONE  # Alice is editor as of the last good file
    assert f"{users}:" in caplog.text and "the roles it had before stay in force" in caplog.text
    second = schedule(config, ALICE, "color-theme")
    done = run_round(config, users.unlink)
    assert done[second].state is ScheduleState.FAILED
    assert done[second].note.startswith(f"failed: refused when it ran: {users}: cannot read users file")
    assert "until the users file can be used" in done[second].note


def test_an_email_given_different_roles_twice_is_refused(config: Path, users: Path) -> None:
    users.write_text(users_text(extra=f"  alice2:\n    email: Alice@example.com\n    keys: [\"{KEYS[3]}\"]\n"
                                      "    roles: {production: viewer}\n"))
    made = schedule(config, ALICE, "new-checkout")
    done = run_round(config)
    assert done[made].state is ScheduleState.FAILED
    assert "gives alice@example.com different roles (entries alice, alice2)" in done[made].note


def test_serve_refuses_a_users_file_it_cannot_use_and_both_sources_at_once(config: Path, users: Path) -> None:
    users.write_text("users:\n  alice:\n    email: alice@example.com\n    keys: []\n    roles: {'*': editor}\n")
    loaded = load_evaluator_config(config)  # a console or an export on another machine still loads it
    with pytest.raises(ConfigError, match=r"flagdeck.yaml:\d+: automation.users: .*people.yaml:4: users.alice.keys"):
        loaded.check_server_files()
    config.write_text(config.read_text() + "  roles: {alice@example.com: {'*': editor}}\n")
    with pytest.raises(ConfigError, match="automation.roles or a users file in automation.users, not both"):
        load_evaluator_config(config)
