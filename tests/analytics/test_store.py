"""The store's hourly roll-up: a window reads whole hours from `hours` and its partial hours from minutes, and
must say exactly what the minutes say (checked against a brute-force sum over random rows and windows); last_seen
is the last minute inside the window; a store written before the roll-up existed is backfilled when opened."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.reader import ERROR_VALUE
from evaluator.analytics.sqlite_reader import SqliteReader
from evaluator.analytics.store import AnalyticsWriter

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
MATCH = "MATCH_EVALUATION_REASON"


def at(hours: int, minutes: int) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def test_windows_across_hours_and_last_seen_inside_the_window(tmp_path: Path) -> None:
    writer = AnalyticsWriter(tmp_path / "a.sqlite3")
    moments = [at(-1, 50), at(0, 0), at(0, 30), at(1, 59), at(2, 5), at(2, 40), at(3, 10)]
    writer.add([(m, "prod", "ns", "f", "on", MATCH, i + 1) for i, m in enumerate(moments)])
    reader = SqliteReader(tmp_path / "a.sqlite3")
    window = reader.usage("prod", at(-1, 45), at(2, 30))[("ns", "f")]
    assert (window.total, window.last_seen) == (1 + 2 + 3 + 4 + 5, at(2, 5))
    open_ended = reader.usage("prod", at(-1, 55))[("ns", "f")]
    assert (open_ended.total, open_ended.last_seen) == (2 + 3 + 4 + 5 + 6 + 7, at(3, 10))
    whole_hours = reader.usage("prod", at(0, 0), at(2, 0))[("ns", "f")]
    assert (whole_hours.total, whole_hours.last_seen) == (2 + 3 + 4, at(1, 59))
    assert reader.usage("prod", at(2, 41), at(3, 5)) == {}
    assert reader.last_seen("prod") == {("ns", "f"): at(3, 10)}


def test_a_failed_evaluation_is_not_a_last_evaluation_in_a_window(tmp_path: Path) -> None:
    """`latest` leaves failed evaluations out; a window ending before the latest evaluation, which looks further
    down the flag's minutes and hours, must leave them out too."""
    writer = AnalyticsWriter(tmp_path / "a.sqlite3")
    writer.add([(at(0, 10), "prod", "ns", "f", "on", MATCH, 1), (at(0, 20), "prod", "ns", "f", ERROR_VALUE,
                "FLAG_NOT_FOUND_ERROR_EVALUATION_REASON", 2), (at(3, 0), "prod", "ns", "f", "on", MATCH, 1),
                (at(0, 25), "prod", "ns", "g", ERROR_VALUE, "FLAG_NOT_FOUND_ERROR_EVALUATION_REASON", 1)])
    reader = SqliteReader(tmp_path / "a.sqlite3")
    window = reader.usage("prod", at(0, 0), at(1, 0))
    assert window[("ns", "f")].last_seen == at(0, 10)  # not the failure at 0:20
    assert window[("ns", "g")].last_seen is None  # only failed: never evaluated
    assert reader.last_seen("prod") == {("ns", "f"): at(3, 0)}


def test_windows_equal_a_brute_force_sum(tmp_path: Path) -> None:
    rng = random.Random(16)
    rows = [(at(0, rng.randrange(0, 48 * 60)), "prod", rng.choice(["a", "b"]), rng.choice(["f", "g", "h"]),
             rng.choice(["true", "false"]), rng.choice([MATCH, "DEFAULT_EVALUATION_REASON"]), rng.randrange(1, 9))
            for _ in range(3000)]
    writer = AnalyticsWriter(tmp_path / "a.sqlite3")
    for chunk in range(0, len(rows), 500):  # several flushes, as an evaluator writes them
        writer.add(rows[chunk:chunk + 500])
    reader = SqliteReader(tmp_path / "a.sqlite3")
    for _ in range(40):
        since = at(0, rng.randrange(-60, 48 * 60))
        until = since + timedelta(minutes=rng.randrange(1, 30 * 60)) if rng.random() < 0.8 else None
        namespace = rng.choice([None, "a"])
        expected: dict[tuple[str, str], dict[str, int]] = {}
        last: dict[tuple[str, str], datetime] = {}
        for minute, _, ns, flag, value, _, count in rows:
            if minute >= since and (until is None or minute < until) and namespace in (None, ns):
                values = expected.setdefault((ns, flag), {})
                values[value] = values.get(value, 0) + count
                last[(ns, flag)] = max(last.get((ns, flag), minute), minute)
        found = reader.usage("prod", since, until, namespace)
        assert {key: usage.by_value for key, usage in found.items()} == expected, (since, until, namespace)
        assert {key: usage.last_seen for key, usage in found.items()} == last, (since, until, namespace)


def test_a_store_from_before_the_roll_up_is_backfilled(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript("""
            CREATE TABLE counts (environment TEXT NOT NULL, minute INTEGER NOT NULL, namespace TEXT NOT NULL,
                flag TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
                PRIMARY KEY (environment, minute, namespace, flag, value, reason)) WITHOUT ROWID;
            CREATE TABLE coverage (environment TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;""")
        old.execute("INSERT INTO counts VALUES ('prod', ?, 'ns', 'f', 'on', ?, 5)", (int(at(0, 10).timestamp()), MATCH))
        old.execute("INSERT INTO coverage VALUES ('prod', ?)", (int(at(0, 10).timestamp()),))
    AnalyticsWriter(path).add([(at(5, 0), "prod", "ns", "g", "on", MATCH, 1)])
    usage = SqliteReader(path).usage("prod", at(-5, 0))
    assert {key: u.total for key, u in usage.items()} == {("ns", "f"): 5, ("ns", "g"): 1}
    assert usage[("ns", "f")].last_seen == at(0, 10)
