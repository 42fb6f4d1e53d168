"""Retention: buckets older than `analytics.retention` are deleted (on a controlled clock through the writer, and
by the evaluator when it starts), and coverage moves forward with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.reader import AnalyticsReader
from evaluator.analytics.sqlite_reader import SqliteReader
from evaluator.analytics.store import AnalyticsWriter
from tests.server.harness import wait_until


def test_prune_on_a_controlled_clock(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    writer = AnalyticsWriter(path, retention=30 * 86400)
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    rows = [(now - timedelta(days=days), "prod", "ns", f"f{days}", "true", "MATCH_EVALUATION_REASON", 1)
            for days in (40, 31, 29, 1)]
    writer.add(rows)
    reader = SqliteReader(path)
    assert reader.coverage_since("prod") == now - timedelta(days=40)
    assert writer.prune(now.timestamp()) == 2
    assert set(reader.last_seen("prod")) == {("ns", "f29"), ("ns", "f1")}
    assert reader.coverage_since("prod") == now - timedelta(days=30)
    assert writer.prune((now + timedelta(days=2)).timestamp()) == 1
    assert set(reader.last_seen("prod")) == {("ns", "f1")}


def test_the_evaluator_prunes_with_the_configured_retention(tmp_path: Path, flag_repo) -> None:  # noqa: ANN001
    from evaluator.config import load_evaluator_config
    from tests.server.harness import ServerThread, write_config

    (tmp_path / "short").mkdir()
    config_path = write_config(tmp_path / "short", flag_repo.path, "analytics:\n  retention: 2h\n"
                               "  buffer: {flush_period: 200ms}\n")
    config = load_evaluator_config(config_path)
    assert config.analytics.retention == 7200
    now = datetime.now(UTC)
    AnalyticsWriter.for_config(config).add([
        (now - timedelta(hours=3), "production", "ns1", "old", "true", "DEFAULT_EVALUATION_REASON", 9),
        (now - timedelta(hours=1), "production", "ns1", "recent", "true", "DEFAULT_EVALUATION_REASON", 1)])
    server = ServerThread(config_path)
    try:
        reader: AnalyticsReader = SqliteReader(config.analytics.database(config.path))
        wait_until(lambda: set(reader.last_seen("production")) == {("ns1", "recent")}, timeout=10,
                   what="the 3-hour-old bucket pruned")
        covered = reader.coverage_since("production")
        assert covered is not None and now - timedelta(hours=2, minutes=1) <= covered <= now
    finally:
        server.stop()
