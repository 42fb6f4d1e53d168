"""Stopping `flagdeck serve`'s scheduler while a round is running: the round finishes before the scheduler's store
is closed. Before, the loop was cancelled while its thread went on: the store was closed under it (serve logged a
traceback, "cannot schedule new futures after shutdown", seen in tests/server/test_server_limits.py), or the round
opened a new store after the stop, which nobody closed."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evaluator.automation.runner import AutomationRunner
from evaluator.config import load_evaluator_config

T0 = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


async def test_stop_waits_for_the_round_in_flight(config: Path, caplog: pytest.LogCaptureFixture) -> None:
    in_round = threading.Event()

    def slow_clock() -> datetime:  # read at the start of each round: holds the round open for a moment
        in_round.set()
        time.sleep(0.3)
        return T0

    automation = AutomationRunner(load_evaluator_config(config), now=slow_clock)
    automation.tick()  # opens the scheduler's store
    in_round.clear()
    await automation.start()
    assert await asyncio.to_thread(in_round.wait, 5)
    with caplog.at_level(logging.WARNING, logger="evaluator.automation.runner"):
        await automation.stop()
    await asyncio.sleep(0.5)  # a round left running would be done by now
    assert not [r for r in caplog.records if r.name == "evaluator.automation.runner"], caplog.text
    assert automation._store is None, "a round ran on after stop() and opened a store nobody closes"
