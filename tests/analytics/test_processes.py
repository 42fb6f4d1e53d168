"""Counting across processes: `--workers 2` and two evaluator processes flush their own deltas into one SQLite
file, and the counts add up exactly (none lost, none counted twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx

from evaluator.analytics.reader import AnalyticsReader
from tests.server.harness import ServerProcess


def evaluate(url: str, times: int, flag: str = "bool-rollout-on") -> None:
    for i in range(times):  # a new connection each: the kernel spreads them over the workers
        with httpx.Client(timeout=10) as client:
            response = client.post(url + "/evaluate/v1/boolean",
                                   json={"namespaceKey": "ns1", "flagKey": flag, "entityId": f"e{i}"})
            assert response.status_code == 200


def total(reader: AnalyticsReader, flag: str) -> int:
    usage = reader.usage("production", datetime.now(UTC) - timedelta(hours=1), flag=flag)
    return sum(u.total for u in usage.values())


def test_two_workers_and_two_processes_add_up(config_path: Path, reader: AnalyticsReader) -> None:
    workers = ServerProcess(config_path, "--workers", "2")
    other = ServerProcess(config_path)
    try:
        evaluate(workers.url, 60)
        evaluate(other.url, 25)
        evaluate(other.url, 5, "bool-rollout")
    finally:
        assert workers.stop() == 0 and other.stop() == 0  # SIGTERM: each worker flushes what it has left
    assert total(reader, "bool-rollout-on") == 85
    assert total(reader, "bool-rollout") == 5
