"""Evaluation counts as the console shows them: the flag list's 24-hour totals and stale statuses (one query each
for the whole namespace), sparklines for the rows in view only, and a flag's analytics panel (1 h / 24 h / 7 d /
30 d per value and reason, every environment). Every function here blocks (the analytics reader: SQLite or HTTP;
Git for the flags' ages): the screens call them in workers, never on the event loop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.insight.ages import GitReader, young_flags
from app.insight.stale import DEFAULT_DAYS, DEFAULT_TOLERANCE, Status, Usage, Window
from app.insight.stale_scan import CountsReader, Judged, judge, window_for
from gitstore.model.documents import Document
from gitstore.model.lifecycle import Kind, Lifecycle

DAY = timedelta(days=1)
TREND_BUCKETS = 12  # the list's sparkline: the last 24 hours in 2-hour steps
BARS = "▁▂▃▄▅▆▇█"
NOT_COUNTED = "client-side SDK evaluations are not counted"
WINDOWS: tuple[tuple[str, timedelta], ...] = (("1h", timedelta(hours=1)), ("24h", DAY), ("7d", 7 * DAY),
                                             ("30d", 30 * DAY))
CHART_STEPS = 24  # points of a window's chart in the panel


class SeriesReader(CountsReader, Protocol):
    def series(self, environment: str, namespace: str, flag: str, since: datetime, step: timedelta,
               until: datetime | None = None) -> list[tuple[datetime, int]]: ...


class ValueUsage(Usage, Protocol):
    @property
    def by_reason(self) -> Any: ...


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; a space for zero (nothing at all reads as blank)."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    return "".join(" " if v <= 0 else BARS[min(len(BARS) - 1, (v * len(BARS) - 1) // top)] for v in values)


def compact(count: int) -> str:
    """1234 -> 1.2k, 35000 -> 35k, 1200000 -> 1.2M."""
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if count >= size:
            scaled = count / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{scaled:.0f}{unit}"
    return str(count)


@dataclass(frozen=True)
class ListCounts:
    """What the flag list shows of one namespace: 24-hour totals (flags never evaluated are absent: 0) and, for
    temporary flags, the stale verdicts."""

    environment: str
    namespace: str
    source: str
    totals: dict[str, int]
    judged: dict[str, Judged] = field(default_factory=dict)
    window: Window | None = None  # what the counts cover over the stale rules' N days (None: not asked)

    def status(self, key: str) -> str:
        found = self.judged.get(key)
        return found.verdict.status.value if found is not None else ""

    def stale(self) -> list[Judged]:
        return [j for j in self.judged.values() if j.verdict.status is Status.STALE]


def list_counts(reader: CountsReader, store: GitReader, env: str, namespace: str, doc: Document | None,
                now: datetime, days: int = DEFAULT_DAYS, tolerance: timedelta = DEFAULT_TOLERANCE) -> ListCounts:
    totals = {key: usage.total for (_, key), usage in reader.usage(env, now - DAY, now, namespace).items()}
    judged: dict[str, Judged] = {}
    temporary = doc is not None and any(Lifecycle.of(f).kind is Kind.TEMPORARY for f in doc.flags)
    window: Window | None = None
    if doc is not None and temporary:  # only then the ages from Git (at 100,000 flags: the old version parsed)
        window = window_for(reader, env, now, days, tolerance)
        existing = young_flags(store, env, now, days)
        judged = {j.flag.key: j for j in judge([(namespace, doc)], reader, env, window, existing, namespace)
                  if j.lifecycle.kind is Kind.TEMPORARY}
    return ListCounts(env, namespace, reader.source, totals, judged, window)


def trends(reader: SeriesReader, env: str, namespace: str, keys: Iterable[str], now: datetime) -> dict[str, str]:
    """The 24-hour sparkline of each flag in `keys` (the rows in view): one series query each."""
    step = DAY / TREND_BUCKETS
    return {key: sparkline([n for _, n in reader.series(env, namespace, key, now - DAY, step, now)])
            for key in keys}


@dataclass(frozen=True)
class EnvUsage:
    """One environment's counts of one flag: per window its usage (None: no evaluation) and its chart points."""

    environment: str
    usage: dict[str, ValueUsage | None]
    series: dict[str, list[int]]
    coverage_since: datetime | None
    gaps: tuple[tuple[datetime, datetime], ...] = ()  # spans of the longest window in which nobody was counting


def flag_usage(reader: SeriesReader, envs: Sequence[str], namespace: str, key: str, now: datetime
               ) -> list[EnvUsage]:
    out = []
    for env in envs:
        usage: dict[str, ValueUsage | None] = {}
        series: dict[str, list[int]] = {}
        for name, width in WINDOWS:
            found = reader.usage(env, now - width, now, namespace, key)
            usage[name] = found.get((namespace, key))  # type: ignore[assignment]
            points = reader.series(env, namespace, key, now - width, width / CHART_STEPS, now)
            series[name] = [n for _, n in points]
        gaps = tuple(reader.gaps(env, now - WINDOWS[-1][1], now))
        out.append(EnvUsage(env, usage, series, reader.coverage_since(env), gaps))
    return out
