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


def test_flagdeck_serve_counts_with_no_analytics_settings(tmp_path: Path, flag_repo) -> None:  # noqa: ANN001
    """What `make run` does: `flagdeck serve` on a flagdeck.yaml without an `analytics:` section counts into
    `.flagdeck-state/analytics.sqlite3` next to it (the last counts written when it stops)."""
    from evaluator.analytics.sqlite_reader import SqliteReader
    from tests.server.harness import write_config

    (tmp_path / "plain").mkdir()
    config = write_config(tmp_path / "plain", flag_repo.path)
    assert "\nanalytics:" not in config.read_text()
    server = ServerProcess(config, command=("-m", "app.cli", "serve"))
    try:
        evaluate(server.url, 3)
    finally:
        assert server.stop() == 0
    reader = SqliteReader(tmp_path / "plain" / ".flagdeck-state" / "analytics.sqlite3")
    assert total(reader, "bool-rollout-on") == 3
