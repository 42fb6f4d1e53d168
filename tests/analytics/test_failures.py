"""A corrupt or locked analytics store never breaks evaluation: the evaluator logs one clear error naming the file,
keeps the counts in memory and writes them once the file can be written again; readers get the same error."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evaluator.analytics.reader import AnalyticsReader
from evaluator.analytics.store import AnalyticsError
from tests.server.harness import wait_until


def store_file(config_path: Path) -> Path:
    path = config_path.parent / ".flagdeck-state" / "analytics.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def evaluate(server, times: int) -> None:  # noqa: ANN001
    for _ in range(times):
        response = server.post("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "env-marker",
                                                        "entityId": "x"})
        assert response.status_code == 200 and response.json()["variantKey"] == "production"


def test_corrupt_store_is_reported_and_evaluation_goes_on(make_server, config_path: Path,  # noqa: ANN001
                                                          reader: AnalyticsReader,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = store_file(config_path)
    path.write_bytes(b"this is not a database, " * 100)
    caplog.set_level(logging.ERROR, logger="flagdeck.analytics")
    server = make_server()
    evaluate(server, 5)
    wait_until(lambda: any("file is not a database" in r.getMessage() for r in caplog.records), timeout=10,
               what="the analytics error in the log")
    (record,) = {r.getMessage() for r in caplog.records}  # said once, not at every flush
    assert str(path) in record and "evaluations are served" in record
    with pytest.raises(AnalyticsError, match=f"{path}: analytics store: file is not a database; move the file"):
        reader.usage("production", datetime.now(UTC) - timedelta(hours=1))
    evaluate(server, 2)
    assert "flagdeck_analytics_write_errors_total" in server.get("/metrics").text
    path.unlink()  # moved aside: counting starts afresh, with what was kept in memory
    wait_until(lambda: path.exists() and sum(u.total for u in reader.usage(
        "production", datetime.now(UTC) - timedelta(hours=1)).values()) == 7, timeout=10,
        what="the kept counts written to a new store")


def test_locked_store_keeps_counts_until_released(make_server, config_path: Path,  # noqa: ANN001
                                                  reader: AnalyticsReader,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    server = make_server()
    evaluate(server, 3)
    wait_until(lambda: sum(u.total for u in reader.usage(
        "production", datetime.now(UTC) - timedelta(hours=1)).values()) == 3, timeout=10, what="the first counts")
    caplog.set_level(logging.ERROR, logger="flagdeck.analytics")
    holder = sqlite3.connect(store_file(config_path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        evaluate(server, 4)
        wait_until(lambda: any("locked by another process" in r.getMessage() for r in caplog.records),
                   timeout=15, what="the lock reported")
        evaluate(server, 1)  # served while the store is locked
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(lambda: sum(u.total for u in reader.usage(
        "production", datetime.now(UTC) - timedelta(hours=1)).values()) == 8, timeout=15,
        what="the kept counts written once the lock is gone")
