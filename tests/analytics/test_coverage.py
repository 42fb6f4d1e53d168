"""When counting was on (issue 16): every evaluator marks, per environment, each minute it counted (`uptime`), so
the readers tell "not evaluated" from "nobody was counting" (`gaps`); a store from before the marks reads as
counted from its coverage start, as it was read then. On a controlled clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.config import AnalyticsConfig
from evaluator.analytics.counting import AnalyticsCounter
from evaluator.analytics.reader import SETTLING
from evaluator.analytics.sqlite_reader import SqliteReader
from evaluator.analytics.store import AnalyticsWriter
from evaluator.server.metrics import Metrics

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OLD_SCHEMA = """  -- the store's tables before `uptime` and `kept`
        CREATE TABLE counts (environment TEXT NOT NULL, minute INTEGER NOT NULL, namespace TEXT NOT NULL,
            flag TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (environment, minute, namespace, flag, value, reason)) WITHOUT ROWID;
        CREATE TABLE hours (environment TEXT NOT NULL, hour INTEGER NOT NULL, namespace TEXT NOT NULL,
            flag TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (environment, hour, namespace, flag, value, reason)) WITHOUT ROWID;
        CREATE TABLE latest (environment TEXT NOT NULL, namespace TEXT NOT NULL, flag TEXT NOT NULL,
            minute INTEGER NOT NULL, PRIMARY KEY (environment, namespace, flag)) WITHOUT ROWID;
        CREATE TABLE coverage (environment TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;"""
LATER = timedelta(seconds=SETTLING)  # `gaps` leaves the last SETTLING seconds before `until` unjudged


async def test_the_counter_marks_each_minute_it_counts_and_a_restart_leaves_the_gap(tmp_path: Path) -> None:
    now = [T0.timestamp() + 5]
    path = tmp_path / "analytics.sqlite3"

    def counter() -> AnalyticsCounter:
        made = AnalyticsCounter(Metrics(), AnalyticsConfig(), path, lambda: ["production", "staging"],
                                clock=lambda: now[0])
        made.writer.started(["production", "staging"], now[0])  # what start() does first
        return made

    first = counter()
    for _ in range(8):  # a flush every 20 s from 12:00:25 to 12:02:45, nothing evaluated
        now[0] += 20
        first.collect_now()
        await first.flush()
    first.writer.close()
    now[0] = (T0 + timedelta(hours=3, seconds=5)).timestamp()  # down from 12:03 to 15:00, up again
    second = counter()
    labels = ("production", "ns", "f", "BOOLEAN_FLAG_TYPE", "true", "MATCH_EVALUATION_REASON", "", "true")
    second.collector.totals[labels] = 4
    now[0] += 50
    second.collect_now()
    await second.flush()
    second.writer.close()
    reader = SqliteReader(path)
    for env in ("production", "staging"):
        assert reader.gaps(env, T0, T0 + timedelta(hours=3, minutes=1) + LATER) == [
            (T0 + timedelta(minutes=3), T0 + timedelta(hours=3))]
    assert reader.gaps("production", T0, T0 + timedelta(minutes=3) + LATER) == []
    assert reader.gaps("production", T0 - timedelta(days=1), T0 + timedelta(minutes=3) + LATER) == [], \
        "before counting began is coverage_since's to say, not a gap"
    assert reader.usage("production", T0)[("ns", "f")].total == 4
    assert reader.gaps("qa", T0, T0 + timedelta(days=1)) == []  # never counted: coverage_since says None


def test_gaps_to_the_minute_and_pruned_with_the_counts(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    writer = AnalyticsWriter(path, retention=86400)
    writer.started(["production"], T0.timestamp())
    writer.counting_on("production", T0.timestamp(), (T0 + timedelta(minutes=90)).timestamp())
    writer.counting_on("production", (T0 + timedelta(minutes=97)).timestamp(),
                       (T0 + timedelta(hours=30)).timestamp())
    reader = SqliteReader(path)
    assert reader.gaps("production", T0, T0 + timedelta(hours=30)) == [
        (T0 + timedelta(minutes=90), T0 + timedelta(minutes=97))]
    assert reader.gaps("production", T0 + timedelta(minutes=95), T0 + timedelta(hours=2)) == [
        (T0 + timedelta(minutes=95), T0 + timedelta(minutes=97))]
    writer.prune((T0 + timedelta(hours=30)).timestamp())  # keeps a day: the gap is gone with its hour
    assert reader.coverage_since("production") == T0 + timedelta(hours=6)
    assert reader.gaps("production", T0, T0 + timedelta(hours=30)) == []
    assert sqlite3.connect(path).execute("SELECT min(hour) FROM uptime").fetchone()[0] == \
        (T0 + timedelta(hours=6)).timestamp()
    writer.close()


def test_a_store_from_before_the_marks_reads_as_counted_since_its_start(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # the schema as it was: no uptime table
    old.executescript(OLD_SCHEMA)
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    old.execute("INSERT INTO coverage VALUES ('production', ?)", (int(since.timestamp()),))
    old.commit()
    old.close()
    AnalyticsWriter(path).started(["production"], datetime.now(UTC).timestamp())  # an upgraded evaluator starts
    reader = SqliteReader(path)
    assert reader.coverage_since("production") == since
    assert reader.gaps("production", since - timedelta(days=1)) == []
