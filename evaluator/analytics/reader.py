"""Reading evaluation counts (docs/contracts.md, "Analytics"): `open_reader(config)` gives the SQLite store's reader,
or Prometheus' when `analytics.prometheus.url` is set. Every method blocks (SQLite or HTTP): call it from a worker
thread, never on an event loop. Times are timezone-aware UTC. Only server-side evaluations are counted (the
evaluator's `/evaluate/v1/*` and OFREP); client-side SDKs evaluate without telling the server, as with Flipt."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from evaluator.config import EvaluatorConfig

NOT_COUNTED = "client-side SDK evaluations are not counted"
ERROR_VALUE = "(error)"  # the value of a failed evaluation's row (its reason: Flipt's error reason)
SETTLING = 120.0  # seconds before `until` not judged by `gaps`: their counts and marks may not be flushed yet
Gap = tuple[datetime, datetime]  # [from, to): nobody was counting the environment


class FlagUsage(BaseModel, frozen=True):
    namespace: str
    flag: str
    total: int  # evaluations in the window
    by_value: dict[str, int]  # value served ("true"/"false", a variant key, "" when no variant matched) -> count
    by_reason: dict[str, int]  # Flipt's reason name (MATCH_EVALUATION_REASON, DEFAULT_..., ...) -> count
    last_seen: datetime | None  # start (UTC) of the last minute bucket with an evaluation, in the window
    errors: dict[str, int] = {}  # failed evaluations (not in `total`) by Flipt's error reason (NOT_FOUND_..., ...)


class AnalyticsReader(Protocol):
    source: str  # "sqlite" or "prometheus": said wherever counts are shown

    def coverage_since(self, environment: str) -> datetime | None: ...

    def usage(self, environment: str, since: datetime, until: datetime | None = None,
              namespace: str | None = None, flag: str | None = None) -> dict[tuple[str, str], FlagUsage]: ...

    def series(self, environment: str, namespace: str, flag: str, since: datetime, step: timedelta,
               until: datetime | None = None) -> list[tuple[datetime, int]]: ...

    def last_seen(self, environment: str, namespace: str | None = None) -> dict[tuple[str, str], datetime]: ...

    def gaps(self, environment: str, since: datetime, until: datetime | None = None) -> list[Gap]: ...


def open_reader(config: EvaluatorConfig) -> AnalyticsReader:
    """The reader `config` names: Prometheus' HTTP API when `analytics.prometheus` is set, else the SQLite store
    under the state directory (a store not created yet reads as empty)."""
    prometheus = config.analytics.prometheus
    if prometheus is not None:
        from evaluator.analytics.prometheus import PrometheusReader

        reader: AnalyticsReader = PrometheusReader(prometheus, config.analytics.retention)
        return reader
    from evaluator.analytics.sqlite_reader import SqliteReader
    from evaluator.analytics.store import database_path

    return SqliteReader(database_path(config))


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r}: analytics times are timezone-aware (UTC)")
    return moment.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def steps(since: datetime, step: timedelta, until: datetime) -> int:
    """How many `step`s cover [since, until) (at least one)."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    return max(1, -(-(until - since) // step))


class Tally:
    """Adds up (namespace, flag, value, reason, count, bucket start) rows into FlagUsage; a row whose value is
    `ERROR_VALUE` counts failed evaluations by error reason."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[dict[str, int], dict[str, int], list[float], dict[str, int]]] = {}

    def add(self, namespace: str, flag: str, value: str, reason: str, count: int, last: float | None) -> None:
        by_value, by_reason, seen, errors = self.rows.setdefault((namespace, flag), ({}, {}, [], {}))
        if count <= 0:
            return
        if value == ERROR_VALUE:
            errors[reason] = errors.get(reason, 0) + count
            return
        by_value[value] = by_value.get(value, 0) + count
        by_reason[reason] = by_reason.get(reason, 0) + count
        if last is not None:
            seen.append(last)

    def result(self) -> dict[tuple[str, str], FlagUsage]:
        usage = {}
        for (namespace, flag), (by_value, by_reason, seen, errors) in self.rows.items():
            total = sum(by_value.values())
            if total or errors:
                usage[(namespace, flag)] = FlagUsage(namespace=namespace, flag=flag, total=total, by_value=by_value,
                                                     by_reason=by_reason,
                                                     last_seen=from_epoch(max(seen)) if seen else None, errors=errors)
        return usage


def runs(missing: Iterable[float], width: float) -> list[Gap]:
    """Spans of `width`-second steps (their starts, ascending) merged where they touch: [(from, to), ...]."""
    out: list[list[float]] = []
    for start in missing:
        if out and start <= out[-1][1]:
            out[-1][1] = start + width
        else:
            out.append([start, start + width])
    return [(from_epoch(a), from_epoch(b)) for a, b in out]
