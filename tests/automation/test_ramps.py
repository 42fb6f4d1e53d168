"""Ramps against a real Prometheus whose guard metric the test drives: steps advance one commit each while the
guard holds; when it breaches the ramp stops and the flag goes back to its state before the ramp, as a commit. A
guard that cannot be evaluated pauses the ramp. The scheduler's clock is the test's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config
from gitstore.automation import ramps
from gitstore.automation.ramps import RAMPS, Guard, RampState

from .conftest import ALICE, messages, open_store, trailer
from .prometheus import Exporter, Prometheus
from .test_schedules import Clock

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
QUERY = "flagdeck_test_error_ratio"


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[Prometheus, Exporter]]:
    exporter = Exporter()
    server = Prometheus(tmp_path / "prometheus", exporter.port)
    try:
        server.wait(lambda: server.query(QUERY) == [0.0], "the first scrape")
        yield server, exporter
    finally:
        server.close()
        exporter.close()


def threshold(config: Path, env: str = "production") -> float:
    with open_store(config) as store:
        return store.snapshot(env).document("default").flag("new-checkout").rollouts[1].threshold.percentage


def test_steps_advance_while_the_guard_holds_then_revert_when_it_breaches(
        config: Path, prometheus: tuple[Prometheus, Exporter]) -> None:
    server, exporter = prometheus
    guard = Guard(kind="prometheus", url=server.url, query=QUERY, op="<", threshold=0.01)
    with open_store(config) as store:
        made, _ = ramps.start(store, "production", "default", "new-checkout", [5, 25, 50, 100], 7200, (guard,),
                              author=ALICE, now=T0)
    assert made.id == "R-1" and threshold(config) == 10
    clock = Clock(T0)
    automation = AutomationRunner(load_evaluator_config(config), now=clock)
    try:
        (moved,) = automation.tick().ramps
        assert (moved.step, moved.state, threshold(config)) == (1, RampState.RUNNING, 5)
        assert moved.next_at == T0 + timedelta(hours=2)
        clock.now = T0 + timedelta(hours=1)
        assert automation.tick().ramps == [] and threshold(config) == 5  # not due yet
        clock.now = T0 + timedelta(hours=2)
        (moved,) = automation.tick().ramps
        assert (moved.step, threshold(config)) == (2, 25)
        assert moved.note == f"step 2/4 taken; guards: {QUERY} = 0 < 0.01"
        exporter.value = 0.2  # errors rise
        server.wait(lambda: server.query(QUERY) == [0.2], "the breach to be scraped")
        clock.now = T0 + timedelta(hours=4)
        (moved,) = automation.tick().ramps
    finally:
        automation.store.close()
    assert moved.state is RampState.REVERTED and moved.next_at is None
    assert moved.note == (f"guard breached before step 3: {QUERY} = 0.2, not < 0.01; flag put back as before the "
                          "ramp")
    assert threshold(config) == 10  # as before the ramp
    reverted, second, first = messages(config, 3)
    assert [trailer(m, "Ramp") for m in (reverted, second, first)] == ["R-1"] * 3
    assert trailer(reverted, "On-behalf-of") == "Alice Example <alice@example.com>"
    assert reverted.startswith("update flag default/new-checkout\n") and "guard breached" in reverted
    with open_store(config) as store:
        (recorded,) = RAMPS.read(store, "production").items
        assert recorded.state is RampState.REVERTED
        assert [e.text.split(";")[0] for e in recorded.events] == [
            "started", "step 1/4 taken", "step 2/4 taken", "guard breached before step 3: "
            f"{QUERY} = 0.2, not < 0.01"]


def test_a_guard_that_cannot_be_evaluated_pauses_the_ramp(config: Path, tmp_path: Path) -> None:
    from .prometheus import free_port

    down = Guard(kind="prometheus", url=f"http://127.0.0.1:{free_port()}", query=QUERY, op="<", threshold=0.01)
    with open_store(config) as store:
        ramps.start(store, "staging", "default", "search-ranking", [50, 100], 3600, (down,), variant="semantic",
                    author=ALICE, now=T0)
    automation = AutomationRunner(load_evaluator_config(config), now=Clock(T0))
    try:
        (moved,) = automation.tick().ramps
    finally:
        automation.store.close()
    assert moved.state is RampState.PAUSED and moved.step == 0
    assert moved.note.startswith("paused before step 1: a guard could not be evaluated: flagdeck_test_error_ratio: "
                                 "Prometheus at http://127.0.0.1:")
    with open_store(config) as store:
        dist = store.snapshot("staging").document("default").flag("search-ranking").rules[0].distributions
        assert {(d.variant, d.rollout) for d in dist} == {("semantic", 25), ("classic", 75)}  # untouched
