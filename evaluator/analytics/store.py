"""The embedded analytics store: one SQLite file (WAL) of per-minute evaluation counts, shared by every worker and
evaluator process that names it.

Three tables of counts, written together in one transaction: `counts` (minute buckets), `hours` (the same summed
by hour, so a window of days reads hours and only its two partial hours from minutes) and `latest` (each flag's last
minute with an evaluation, so `last_seen` reads one row per flag).

Rows are additive: `AnalyticsWriter.add` upserts `count = count + new`, so several processes flushing their own
deltas into one file sum up, whatever the order. `coverage` keeps, per environment, since when counts are kept (the
first start of counting or the oldest bucket written, moved forward by retention). `uptime` records when counting
was on: per environment and hour, a mask of the minutes (bit m: minute m of the hour) in which some evaluator was
counting, OR-ed in by every process at each flush, so the readers can tell "not evaluated" from "nobody was
counting" (`gaps`). Times are stored as UTC epoch seconds of the minute's start.

Minute buckets are kept for `minute_retention` (48 h by default), the hourly roll-up, `latest` and `uptime` for
`retention` (30 days): about 265 bytes a minute row, so keeping minutes for the whole retention would be ~1.1 GB at
100 flags evaluated every minute for 30 days (`bench/analytics_store.py`). `kept` says since when minutes are kept
(set by `prune`), so the readers read hours before it.

A file that cannot be opened, is not a database, or stays locked for `BUSY_TIMEOUT` seconds raises AnalyticsError
naming the file and what to do; the evaluator logs it and goes on serving (counting.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from evaluator.analytics.reader import ERROR_VALUE
from gitstore.errors import FlagdeckError

if TYPE_CHECKING:
    from evaluator.config import EvaluatorConfig

T = TypeVar("T")
BUSY_TIMEOUT = 5.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS counts (
    environment TEXT NOT NULL, minute INTEGER NOT NULL, namespace TEXT NOT NULL, flag TEXT NOT NULL,
    value TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (environment, minute, namespace, flag, value, reason)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counts_by_flag ON counts (environment, namespace, flag, minute);
CREATE TABLE IF NOT EXISTS hours (
    environment TEXT NOT NULL, hour INTEGER NOT NULL, namespace TEXT NOT NULL, flag TEXT NOT NULL,
    value TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (environment, hour, namespace, flag, value, reason)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
    environment TEXT NOT NULL, namespace TEXT NOT NULL, flag TEXT NOT NULL, minute INTEGER NOT NULL,
    PRIMARY KEY (environment, namespace, flag)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coverage (environment TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kept (what TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uptime (
    environment TEXT NOT NULL, hour INTEGER NOT NULL, mask INTEGER NOT NULL,
    PRIMARY KEY (environment, hour)) WITHOUT ROWID;
"""
BACKFILL = """
BEGIN;
INSERT INTO hours SELECT environment, minute - minute % 3600, namespace, flag, value, reason, sum(count) FROM counts
    GROUP BY environment, minute - minute % 3600, namespace, flag, value, reason;
INSERT INTO latest SELECT environment, namespace, flag, max(minute) FROM counts GROUP BY environment, namespace, flag;
COMMIT;
"""
UPSERT = "INSERT INTO {} VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count"
LATEST = "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET minute = max(minute, excluded.minute)"
COVER = "INSERT INTO coverage VALUES (?, ?) ON CONFLICT DO UPDATE SET since = min(since, excluded.since)"
MARK = "INSERT INTO uptime VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET mask = mask | excluded.mask"

# (minute start as UTC epoch seconds, environment, namespace, flag, value, reason)
Key = tuple[int, str, str, str, str, str]


class AnalyticsError(FlagdeckError):
    """The analytics store cannot be used (the message names the file)."""


def database_path(config: EvaluatorConfig) -> Path:
    return config.analytics.database(config.path)


def epoch_minute(moment: datetime | float) -> int:
    """The start of the minute holding `moment` (an aware datetime or epoch seconds), as epoch seconds."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError(f"{moment!r}: analytics times are timezone-aware (UTC)")
        moment = moment.timestamp()
    return int(moment // 60) * 60


def hour_masks(minutes: Iterable[int]) -> dict[int, int]:
    """Minutes (epoch seconds of their start) as {hour start: mask of its minutes} (bit m: minute m)."""
    masks: dict[int, int] = {}
    for minute in minutes:
        hour = minute - minute % 3600
        masks[hour] = masks.get(hour, 0) | (1 << ((minute - hour) // 60))
    return masks


def span_minutes(start: float, end: float) -> range:
    """The minutes (epoch seconds) from the one holding `start` up to, not including, the one holding `end`."""
    return range(epoch_minute(start), epoch_minute(end), 60)


def problem(path: Path, exc: BaseException) -> AnalyticsError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        hint = f"locked by another process for more than {BUSY_TIMEOUT:g} s"
    elif isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        hint = f"{text}; move the file aside and counting starts afresh"
    else:
        hint = text
    return AnalyticsError(f"{path}: analytics store: {hint}")


def connect(path: Path, create: bool) -> sqlite3.Connection:
    """A connection to the store at `path` (created with its schema when `create`); AnalyticsError otherwise."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise problem(path, exc) from None
    try:
        if create:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            connection.executescript(SCHEMA)
            if "counts" in tables and "hours" not in tables:  # a store from before the hourly roll-up
                connection.executescript(BACKFILL)
            if "coverage" in tables and "uptime" not in tables:  # from before uptime: covered since, as it said
                mark_covered_until(connection, time.time())
        else:
            connection.execute("PRAGMA query_only=1")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()  # is it a database at all
    except sqlite3.Error as exc:
        connection.close()
        raise problem(path, exc) from None
    return connection


def mark_covered_until(connection: sqlite3.Connection, now: float) -> None:
    """A store written before `uptime` existed: its environments read as counted from their `coverage.since` to
    `now` (what the readers assumed then), in one transaction."""
    rows = [(env, hour, mask) for env, since in connection.execute("SELECT environment, since FROM coverage")
            for hour, mask in hour_masks(span_minutes(since, now + 60)).items()]
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(MARK, rows)
    connection.execute("COMMIT")


class AnalyticsWriter:
    """Adds counts to the store at `path` (created on first use). Thread-safe; every call blocks (SQLite)."""

    def __init__(self, path: Path, retention: float | None = None, minute_retention: float | None = None):
        self.path = Path(path)
        self.retention = retention  # seconds of counts `prune` keeps (None: all)
        self.minute_retention = minute_retention  # seconds of minute buckets it keeps (None: as `retention`)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def for_config(cls, config: EvaluatorConfig) -> AnalyticsWriter:
        return cls(database_path(config), config.analytics.retention, config.analytics.minute_retention)

    def add(self, rows: Iterable[tuple[datetime, str, str, str, str, str, int]]) -> None:
        """Add (minute, environment, namespace, flag, value, reason, count) rows; counts of one key add up."""
        keyed: dict[Key, int] = {}
        for minute, env, namespace, flag, value, reason, count in rows:
            key = (epoch_minute(minute), env, namespace, flag, value, reason)
            keyed[key] = keyed.get(key, 0) + count
        self.add_keyed(keyed)

    def add_keyed(self, counts: Mapping[Key, int], on: Mapping[str, Iterable[int]] | None = None) -> None:
        """Add counts by `Key` (minutes as epoch seconds), and mark counting as on in the minutes `on` gives per
        environment, in one transaction."""
        marks = [(env, hour, mask) for env, minutes in (on or {}).items()
                 for hour, mask in hour_masks(minutes).items()]
        if not counts and not marks:
            return
        since: dict[str, int] = {}
        hours: dict[Key, int] = {}
        latest: dict[tuple[str, str, str], int] = {}
        for (minute, env, ns, flag, value, reason), count in counts.items():
            if not count:
                continue
            since[env] = min(since.get(env, minute), minute)
            hour = (minute - minute % 3600, env, ns, flag, value, reason)
            hours[hour] = hours.get(hour, 0) + count
            if value != ERROR_VALUE:  # a failed evaluation is not a last evaluation
                latest[(env, ns, flag)] = max(latest.get((env, ns, flag), minute), minute)
        minutes = [(env, minute, ns, flag, value, reason, count)
                   for (minute, env, ns, flag, value, reason), count in counts.items() if count]
        hourly = [(env, hour, ns, flag, value, reason, count)
                  for (hour, env, ns, flag, value, reason), count in hours.items()]

        def run(c: sqlite3.Connection) -> None:
            c.executemany(UPSERT.format("counts"), minutes)
            c.executemany(UPSERT.format("hours"), hourly)
            c.executemany(LATEST, [(env, ns, flag, minute) for (env, ns, flag), minute in latest.items()])
            c.executemany(COVER, since.items())
            c.executemany(MARK, marks)

        self._transaction(run)

    def started(self, environments: Iterable[str], now: float) -> None:
        """Counting of `environments` starts at `now` (epoch seconds): their coverage begins then, unless earlier,
        and counting is on in that minute."""
        minute = epoch_minute(now)
        envs = list(environments)
        rows = [(env, minute) for env in envs]
        marks = [(env, hour, mask) for env in envs for hour, mask in hour_masks([minute]).items()]

        def run(c: sqlite3.Connection) -> None:
            c.executemany(COVER, rows)
            c.executemany(MARK, marks)

        self._transaction(run)

    def counting_on(self, environment: str, start: float, end: float) -> None:
        """Mark counting as on for `environment` from `start` to `end` (epoch seconds; whole minutes)."""
        self.add_keyed({}, {environment: span_minutes(start, end)})

    def prune(self, now: float) -> int:
        """Delete the buckets older than the retentions before `now` (epoch seconds); returns how many minute
        buckets."""
        if self.retention is None:
            return 0
        cutoff = epoch_minute(now - self.retention)
        minutes = epoch_minute(now - min(self.minute_retention or self.retention, self.retention))

        def run(c: sqlite3.Connection) -> int:
            deleted = c.execute("DELETE FROM counts WHERE minute < ?", (minutes,)).rowcount
            c.execute("INSERT INTO kept VALUES ('minutes', ?) ON CONFLICT DO UPDATE SET since = "
                      "max(since, excluded.since)", (minutes,))
            c.execute("DELETE FROM hours WHERE hour + 3600 <= ?", (cutoff,))  # wholly before the cutoff
            c.execute("DELETE FROM latest WHERE minute < ?", (cutoff,))
            c.execute("DELETE FROM uptime WHERE hour + 3600 <= ?", (cutoff,))
            c.execute("UPDATE coverage SET since = ? WHERE since < ?", (cutoff, cutoff))
            return deleted

        return self._transaction(run)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = connect(self.path, create=True)
                connection = self._connection
                connection.execute("BEGIN IMMEDIATE")
                try:
                    result = work(connection)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if self._connection is not None:  # reopen next time: the file may have been replaced
                    self._connection.close()
                    self._connection = None
                raise problem(self.path, exc) from None
