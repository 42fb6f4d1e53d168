"""The store's size (issue 16): minute buckets are kept `analytics.minute_retention` (48 h), the hourly roll-up the
whole retention, so a store shrinks about 15-fold (`bench/analytics_store.py`) and windows reaching further back than
the minutes are exact to the hour. A store written by the schema before (no `uptime`, no `kept`, minutes for 30
days) reads after the upgrade with the same totals."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.sqlite_reader import SqliteReader
from evaluator.analytics.store import AnalyticsWriter

from .test_coverage import OLD_SCHEMA

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
ENV, NS = "production", "ns"


def old_store(path: Path) -> None:
    """Counts as the schema before wrote them: per minute and per hour, every 7 minutes over 20 days, of two flags."""
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    first = int((NOW - timedelta(days=20)).timestamp())
    minutes = [(ENV, m, NS, flag, value, "MATCH_EVALUATION_REASON", 3)
               for m in range(first, int(NOW.timestamp()), 7 * 60)
               for flag, value in (("a", "true"), ("b", "blue" if m % 2 else "green"))]
    db.executemany("INSERT INTO counts VALUES (?, ?, ?, ?, ?, ?, ?)", minutes)
    db.execute("INSERT INTO hours SELECT environment, minute - minute % 3600, namespace, flag, value, reason, "
               "sum(count) FROM counts GROUP BY 1, 2, 3, 4, 5, 6")
    db.execute("INSERT INTO latest SELECT environment, namespace, flag, max(minute) FROM counts GROUP BY 1, 2, 3")
    db.execute("INSERT INTO coverage VALUES (?, ?)", (ENV, first))
    db.commit()
    db.close()


def read(reader: SqliteReader) -> dict[str, object]:
    windows = {name: NOW - width for name, width in (("1h", timedelta(hours=1)), ("24h", timedelta(days=1)),
                                                     ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))}
    return {
        "usage": {name: {k: (u.total, u.by_value, u.last_seen) for k, u in reader.usage(ENV, since, NOW).items()}
                  for name, since in windows.items()},
        "series": reader.series(ENV, NS, "b", NOW - timedelta(days=7), timedelta(hours=6), NOW),
        "last_seen": reader.last_seen(ENV),
    }


def test_an_older_store_reads_the_same_after_the_upgrade_with_fewer_rows(tmp_path: Path) -> None:
    path = tmp_path / "analytics.sqlite3"
    old_store(path)
    reader = SqliteReader(path)
    before = read(reader)
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM counts").fetchone()[0]
    writer = AnalyticsWriter(path, retention=30 * 86400, minute_retention=48 * 3600)  # an upgraded evaluator
    writer.started([ENV], NOW.timestamp())
    writer.prune(NOW.timestamp())
    writer.close()
    after = sqlite3.connect(path).execute("SELECT count(*) FROM counts").fetchone()[0]
    assert after < rows / 9, (rows, after)  # 48 h of 20 days' minutes
    assert read(reader) == before
    assert before["usage"]["30d"][(NS, "a")][0] == 3 * len(range(0, 20 * 86400, 420))  # type: ignore[index]


def test_windows_before_the_minutes_kept_are_exact_to_the_hour(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    writer = AnalyticsWriter(path, retention=30 * 86400, minute_retention=3600)
    t = NOW - timedelta(days=3)
    writer.add([(t + timedelta(minutes=10), ENV, NS, "f", "true", "MATCH_EVALUATION_REASON", 2),
                (t + timedelta(minutes=50), ENV, NS, "f", "true", "MATCH_EVALUATION_REASON", 5),
                (NOW - timedelta(minutes=5), ENV, NS, "f", "false", "DEFAULT_EVALUATION_REASON", 1)])
    reader = SqliteReader(path)
    assert reader.usage(ENV, t + timedelta(minutes=30), NOW)[(NS, "f")].total == 6  # minutes still there
    writer.prune(NOW.timestamp())
    usage = reader.usage(ENV, t + timedelta(minutes=30), NOW)[(NS, "f")]
    assert usage.total == 8 and usage.last_seen == NOW - timedelta(minutes=5)  # the whole hour of t
    assert reader.usage(ENV, t, t + timedelta(minutes=30))[(NS, "f")].last_seen == t  # the hour, not the minute
    assert [n for _, n in reader.series(ENV, NS, "f", t, timedelta(hours=12), NOW)][:2] == [7, 0]
    assert sum(n for _, n in reader.series(ENV, NS, "f", NOW - timedelta(minutes=30), timedelta(minutes=10),
                                           NOW)) == 1
    writer.close()
