"""The SQLite store's reader (store.py's file): AnalyticsReader over the per-minute buckets."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evaluator.analytics.reader import FlagUsage, Tally, from_epoch, steps, utc
from evaluator.analytics.store import connect, epoch_minute, problem


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

    def usage(self, environment: str, since: datetime, until: datetime | None = None,
              namespace: str | None = None, flag: str | None = None) -> dict[tuple[str, str], FlagUsage]:
        sql, params = _window(environment, since, until, namespace, flag)
        rows = self._query("SELECT namespace, flag, value, reason, sum(count), max(minute) FROM counts WHERE "
                           f"{sql} GROUP BY namespace, flag, value, reason", params)
        tally = Tally()
        for ns, key, value, reason, count, last in rows:
            tally.add(ns, key, value, reason, count, last)
        return tally.result()

    def series(self, environment: str, namespace: str, flag: str, since: datetime, step: timedelta,
               until: datetime | None = None) -> list[tuple[datetime, int]]:
        since = utc(since)
        end = utc(until) if until is not None else datetime.now(UTC)
        count = steps(since, step, end)
        sql, params = _window(environment, since, end, namespace, flag)
        rows = self._query(f"SELECT minute, sum(count) FROM counts WHERE {sql} GROUP BY minute", params)
        values = [0] * count
        start, width = since.timestamp(), step.total_seconds()
        for minute, total in rows:
            index = min(count - 1, max(0, int((minute - start) // width)))
            values[index] += total
        return [(since + step * i, values[i]) for i in range(count)]

    def last_seen(self, environment: str, namespace: str | None = None) -> dict[tuple[str, str], datetime]:
        sql, params = "environment = ?", [environment]
        if namespace is not None:
            sql += " AND namespace = ?"
            params.append(namespace)
        rows = self._query(f"SELECT namespace, flag, max(minute) FROM counts WHERE {sql} AND count > 0 "
                           "GROUP BY namespace, flag", tuple(params))
        return {(ns, key): from_epoch(last) for ns, key, last in rows}


def _window(environment: str, since: datetime, until: datetime | None, namespace: str | None,
            flag: str | None) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause of buckets of `environment` overlapping [since, until)."""
    sql, params = "environment = ? AND minute >= ?", [environment, epoch_minute(utc(since))]
    if until is not None:
        sql += " AND minute < ?"
        params.append(utc(until).timestamp())
    if namespace is not None:
        sql += " AND namespace = ?"
        params.append(namespace)
    if flag is not None:
        sql += " AND flag = ?"
        params.append(flag)
    return sql, tuple(params)
