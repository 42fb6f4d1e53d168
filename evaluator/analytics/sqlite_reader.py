"""The SQLite store's reader (store.py's file): AnalyticsReader over its buckets. A window reads whole hours from
`hours` and its partial hours at either end from `counts` (minutes); `last_seen` reads `latest`; a flag's series
reads its minutes (indexed by flag). Before the minutes kept (`kept`, `analytics.minute_retention`) it reads hours
only: a window's partial hour there counts whole, a series' points there are whole hours."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evaluator.analytics.reader import (
    ERROR_VALUE,
    SETTLING,
    FlagUsage,
    Gap,
    Tally,
    from_epoch,
    runs,
    steps,
    utc,
)
from evaluator.analytics.store import connect, epoch_minute, problem, span_minutes


class SqliteReader:
    source = "sqlite"

    def __init__(self, path: Path):
        self.path = Path(path)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []  # nothing counted yet
        connection = connect(self.path, create=False)
        try:
            return connection.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # being created by an evaluator this very moment
            raise problem(self.path, exc) from None
        except sqlite3.Error as exc:
            raise problem(self.path, exc) from None
        finally:
            connection.close()

    def coverage_since(self, environment: str) -> datetime | None:
        rows = self._query("SELECT since FROM coverage WHERE environment = ?", (environment,))
        return from_epoch(rows[0][0]) if rows else None

    def gaps(self, environment: str, since: datetime, until: datetime | None = None) -> list[Gap]:
        """The spans in [since, until) after counting began (`coverage_since`) in which no evaluator marked the
        environment as counted (`uptime`), to the minute; the last `SETTLING` seconds are not judged."""
        covered = self.coverage_since(environment)
        if covered is None:
            return []
        start = max(utc(since).timestamp(), covered.timestamp())
        end = (utc(until) if until is not None else datetime.now(UTC)).timestamp() - SETTLING
        if end <= start:
            return []
        first = epoch_minute(start)
        rows = self._query("SELECT hour, mask FROM uptime WHERE environment = ? AND hour >= ? AND hour < ?",
                           (environment, first - first % 3600, end))
        masks = dict(rows)
        missing = (m for m in span_minutes(start, end)
                   if not masks.get(m - m % 3600, 0) >> ((m % 3600) // 60) & 1)
        return runs(missing, 60)

    def _minutes_from(self) -> int | None:
        """The first whole hour still held in minutes (None: every minute written is kept)."""
        rows = self._query("SELECT since FROM kept WHERE what = 'minutes'", ())
        return -(-rows[0][0] // 3600) * 3600 if rows else None

    def usage(self, environment: str, since: datetime, until: datetime | None = None,
              namespace: str | None = None, flag: str | None = None) -> dict[tuple[str, str], FlagUsage]:
        start = epoch_minute(utc(since))
        end = utc(until).timestamp() if until is not None else None
        held = self._minutes_from()
        if held is not None:  # an edge before the minutes kept: its whole hour
            start = start if start >= held else start - start % 3600
            end = end if end is None or end >= held else -(-end // 3600) * 3600
        parts, params = [], []
        for table, column, low, high in _spans(start, end):
            where, values = _where(environment, column, low, high, namespace, flag)
            parts.append(f"SELECT namespace, flag, value, reason, count FROM {table} WHERE {where}")
            params += values
        rows = self._query("SELECT namespace, flag, value, reason, sum(count) FROM (" + " UNION ALL ".join(parts)
                           + ") GROUP BY namespace, flag, value, reason", tuple(params))
        tally = Tally()
        for ns, key, value, reason, count in rows:
            tally.add(ns, key, value, reason, count, None)
        found = tally.result()
        if not found:
            return found
        last = self._latest(environment, namespace)
        for key, usage in found.items():
            seen = last.get(key)
            if seen is None or (end is not None and seen >= end):
                seen = self._last_before(environment, key, start, end)
            found[key] = usage.model_copy(update={"last_seen": from_epoch(seen) if seen is not None else None})
        return found

    def _latest(self, environment: str, namespace: str | None) -> dict[tuple[str, str], int]:
        sql, params = "SELECT namespace, flag, minute FROM latest WHERE environment = ?", [environment]
        if namespace is not None:
            sql += " AND namespace = ?"
            params.append(namespace)
        return {(ns, key): minute for ns, key, minute in self._query(sql, tuple(params))}

    def _last_before(self, environment: str, key: tuple[str, str], start: int, end: float | None) -> int | None:
        """The last minute with an evaluation of `key` in [start, end) (one step down the flag's index); a failed
        evaluation is not one (as in `latest`)."""
        params = (environment, *key, start, end if end is not None else float("inf"), ERROR_VALUE)
        found = self._query("SELECT max(minute) FROM counts WHERE environment = ? AND namespace = ? AND flag = ? "
                            "AND minute >= ? AND minute < ? AND value != ?", params)
        if not found or found[0][0] is None:  # before the minutes kept: the hour
            found = self._query("SELECT max(hour) FROM hours WHERE environment = ? AND namespace = ? AND flag = ? "
                                "AND hour >= ? AND hour < ? AND value != ?", params)
        return found[0][0] if found and found[0][0] is not None else None

    def series(self, environment: str, namespace: str, flag: str, since: datetime, step: timedelta,
               until: datetime | None = None) -> list[tuple[datetime, int]]:
        since = utc(since)
        end = utc(until) if until is not None else datetime.now(UTC)
        count = steps(since, step, end)
        first, held = epoch_minute(since), self._minutes_from()
        sql, params = _where(environment, "minute", max(first, held or 0), end.timestamp(), namespace, flag)
        rows = self._query(f"SELECT minute, sum(count) FROM counts WHERE {sql} GROUP BY minute", tuple(params))
        if held is not None and first < held:  # before the minutes kept: hours
            sql, params = _where(environment, "hour", first - first % 3600, min(held, end.timestamp()), namespace,
                                 flag)
            rows += self._query(f"SELECT hour, sum(count) FROM hours WHERE {sql} GROUP BY hour", tuple(params))
        values = [0] * count
        start, width = since.timestamp(), step.total_seconds()
        for minute, total in rows:
            index = min(count - 1, max(0, int((minute - start) // width)))
            values[index] += total
        return [(since + step * i, values[i]) for i in range(count)]

    def last_seen(self, environment: str, namespace: str | None = None) -> dict[tuple[str, str], datetime]:
        return {key: from_epoch(minute) for key, minute in self._latest(environment, namespace).items()}


def _spans(start: int, end: float | None) -> list[tuple[str, str, float, float | None]]:
    """(table, time column, from, to) covering [start, end): whole hours from `hours`, the rest from minutes."""
    first_hour = -(-start // 3600) * 3600
    last_hour = None if end is None else end - end % 3600
    if last_hour is not None and last_hour <= first_hour:
        return [("counts", "minute", start, end)]
    spans: list[tuple[str, str, float, float | None]] = [("hours", "hour", first_hour, last_hour)]
    if start < first_hour:
        spans.append(("counts", "minute", start, first_hour))
    if end is not None and last_hour is not None and last_hour < end:
        spans.append(("counts", "minute", last_hour, end))
    return spans


def _where(environment: str, column: str, low: float, high: float | None, namespace: str | None,
           flag: str | None) -> tuple[str, list[Any]]:
    sql, params = f"environment = ? AND {column} >= ?", [environment, low]
    if high is not None:
        sql += f" AND {column} < ?"
        params.append(high)
    if namespace is not None:
        sql += " AND namespace = ?"
        params.append(namespace)
    if flag is not None:
        sql += " AND flag = ?"
        params.append(flag)
    return sql, params
