"""Exactly once with a remote (issue 17, gap 7): two replicas, each with its own clone of one bare remote (the
environment has a `remote:`), both running the scheduler on the same due schedule: exactly one scheduled commit
reaches the remote, and the other replica, once it has fetched, sees the schedule done and does not try again.
Both when the second replica reads a stale clone and when both committed locally (one offline) before either
pushed. The runners are the real ones, with clocks the test controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import schedules
from gitstore.automation.patch import FlagPatch
from gitstore.automation.schedules import SCHEDULES, ScheduleState
from gitstore.config import load_config
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Store

from .conftest import ALICE, trailer
from .test_schedules import Clock

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=1)


def replica(root: Path, origin: Path) -> Path:
    root.mkdir(parents=True)
    config = root / "flagdeck.yaml"
    config.write_text(f"storage:\n  local:\n    path: repo\n    branch: main\n    remote: {origin.as_uri()}\n"
                      "    poll_interval: 1s\nenvironments:\n  production: {storage: local, default: true}\n"
                      "automation:\n  poll_interval: 50ms\n")
    return config


def remote_commits(origin: Path) -> list[pygit2.Commit]:
    repo = pygit2.Repository(str(origin))
    return list(repo.walk(repo.references["refs/heads/main"].target))


def scheduled(origin: Path, schedule_id: str = "S-1") -> list[str]:
    """The commits on the remote that carried out the schedule."""
    return [str(c.id) for c in remote_commits(origin) if trailer(c.message, "Schedule") == schedule_id]


@pytest.fixture
def replicas(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(origin, replica a's flagdeck.yaml, replica b's): a flag and a schedule on it due at AT, on the remote."""
    origin = tmp_path / "origin.git"
    pygit2.init_repository(str(origin), bare=True, initial_head="main")
    a, b = replica(tmp_path / "a", origin), replica(tmp_path / "b", origin)
    with Store(load_config(a), identity=ALICE) as store:
        flag = Flag(key="kill-switch", name="Kill switch", type=FlagType.BOOLEAN, enabled=False)
        assert store.commit("production", [Change("default", Kind.FLAG, "kill-switch", flag)]).pushed
        _, result = schedules.schedule(store, "production", "default", "kill-switch", FlagPatch(enabled=True), AT,
                                       author=ALICE, now=T0)
        assert result.pushed
    return origin, a, b


def test_a_replica_reading_a_stale_clone_does_not_commit_twice(replicas: tuple[Path, Path, Path]) -> None:
    origin, a, b = replicas
    first = AutomationRunner(load_evaluator_config(a), now=Clock(AT))
    second = AutomationRunner(load_evaluator_config(b), now=Clock(AT + timedelta(seconds=2)))
    try:
        stale = second.store.head("production")  # b's clone, up to date now: the schedule pending
        (done,) = first.tick().schedules
        assert done.schedule.state is ScheduleState.DONE and scheduled(origin) == [done.commit]
        assert second.store.head("production") == stale  # b has not fetched yet
        assert second.tick().schedules == []  # it finds the schedule done (by a): no second commit
        assert second.tick().schedules == []
        assert scheduled(origin) == [done.commit]
        assert second.store.head("production") == done.commit
        assert SCHEDULES.read(second.store, "production").items[0].state is ScheduleState.DONE
    finally:
        first.store.close()
        second.store.close()


@pytest.mark.parametrize("apart", [0, 3], ids=["same-second", "seconds-apart"])
def test_both_replicas_committed_locally_one_lands(replicas: tuple[Path, Path, Path], tmp_path: Path,
                                                   apart: int) -> None:
    origin, a, b = replicas
    first = AutomationRunner(load_evaluator_config(a), now=Clock(AT + timedelta(seconds=apart)))
    second = AutomationRunner(load_evaluator_config(b), now=Clock(AT))
    try:
        first.store.head("production"), second.store.head("production")  # both clones opened, in step
        away = tmp_path / "away.git"
        origin.rename(away)  # b cannot reach the remote: it carries the schedule out locally
        (offline,) = second.tick().schedules
        assert offline.schedule.state is ScheduleState.DONE and second.store.sync_state("production").ahead == 1
        away.rename(origin)
        (online,) = first.tick().schedules  # a, online, does the same and pushes first
        assert scheduled(origin) == [online.commit]
        for _ in range(3):  # b's rounds: its local commit is not pushed on top, and it does not try again
            assert second.tick().schedules == []
        assert scheduled(origin) == [online.commit]
        state = second.store.sync_state("production")
        assert (state.ahead, state.behind) == (0, 0) and second.store.head("production") == online.commit
        assert SCHEDULES.read(second.store, "production").items[0].state is ScheduleState.DONE
        assert second.store.snapshot("production").document("default").flag("kill-switch").enabled is True
    finally:
        first.store.close()
        second.store.close()
