"""Stopping the counter never drops counts already taken for writing: SIGTERM can arrive while a periodic flush
waits for the writer thread (busy with an earlier write, a prune, a slow disk). Cancelling that flush used to cancel
its queued write too, and its counts were lost (seen about once in 30 runs of test_processes.py)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.config import AnalyticsConfig
from evaluator.analytics.counting import AnalyticsCounter
from evaluator.analytics.sqlite_reader import SqliteReader
from evaluator.server.metrics import Metrics

LABELS = ("production", "ns", "f", "BOOLEAN_FLAG_TYPE", "true", "MATCH_EVALUATION_REASON", "", "true")


async def test_a_stop_while_a_flush_waits_for_the_writer_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "analytics.sqlite3"
    metrics = Metrics()
    counter = AnalyticsCounter(metrics, AnalyticsConfig.model_validate({"buffer": {"flush_period": "20ms"}}), path,
                               lambda: ["production"])
    await counter.start()
    await asyncio.sleep(0.1)  # opened, and flushing every 20 ms
    gate = threading.Event()
    assert counter._executor is not None
    counter._executor.submit(gate.wait)  # the writer thread is busy
    try:
        await stop_while_queued(counter, metrics, gate)
    finally:
        gate.set()
    usage = SqliteReader(path).usage("production", datetime.now(UTC) - timedelta(hours=1))
    assert usage[("ns", "f")].total == 5


async def stop_while_queued(counter: AnalyticsCounter, metrics: Metrics, gate: threading.Event) -> None:
    for _ in range(5):
        metrics.results.inc(LABELS)
    for _ in range(200):  # until a periodic flush has taken the five and queued their write behind the busy one
        if counter.collector.seen.get(LABELS) == 5:
            break
        await asyncio.sleep(0.01)
    assert counter.collector.seen.get(LABELS) == 5 and not counter.collector.pending
    threading.Timer(0.2, gate.set).start()  # not on the loop: stop() may block it while the writer finishes
    await counter.stop()  # what SIGTERM does
