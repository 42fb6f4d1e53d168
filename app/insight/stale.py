"""Stale flags: the rules, as a pure function of a flag's lifecycle, its evaluation counts, what the counts cover,
when the flag appeared and the time now (no clock, no I/O: `app/commands/stale.py` and the console feed it).

A flag is **stale** when it is `temporary` (its metadata, `gitstore.model.lifecycle`) and any of:
- it is past its `expires` date;
- no evaluation in the last N days;
- one value served to 100% of its evaluations in the last N days.
A `permanent` flag, or one that says neither, is never stale. The two count rules need counts covering the whole
N days: when they do not (counting began less than N days ago, or nobody was counting for longer than the
tolerance in all — an evaluator down, counting off), the answer is **unknown**, not stale. A flag that appeared less than N days ago (Git
history) is not stale for its counts: it has not had N days yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from gitstore.model.lifecycle import Kind, Lifecycle

DEFAULT_DAYS = 14
DEFAULT_TOLERANCE = timedelta(hours=1)  # uncovered time in the N days that still lets the counts judge


def span_text(span: timedelta) -> str:
    """A duration for people: 2d 3h, 5h 10min, 45min (to the minute)."""
    minutes = int(span.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}min" if mins and not days else ""]
    return " ".join(p for p in parts if p) or "0min"


class Usage(Protocol):
    """What the rules read of `evaluator.analytics.reader.FlagUsage` (the counts of one flag in the window)."""

    @property
    def total(self) -> int: ...

    @property
    def by_value(self) -> Mapping[str, int]: ...


class Status(StrEnum):
    STALE = "stale"
    UNKNOWN = "unknown"  # temporary, not expired, and the counts do not cover the N days
    ACTIVE = "active"  # temporary and in use (or too young to judge by its counts)
    PERMANENT = "permanent"
    UNTRACKED = "untracked"  # no lifecycle said


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[str, ...] = ()  # why stale, or why unknown
    codes: tuple[str, ...] = ()  # machine-readable: expired, unused, single-value; unknown: no-coverage, coverage-gaps
    value: str | None = None  # single-value: the one value served
    last_seen: datetime | None = None

    @property
    def stale(self) -> bool:
        return self.status is Status.STALE


@dataclass(frozen=True)
class Window:
    """What the counts cover: `now`, the N days, the earliest data kept (None: nothing counted at all), the spans in
    the N days in which nobody was counting (`AnalyticsReader.gaps`) and how much of that is tolerated."""

    now: datetime
    days: int = DEFAULT_DAYS
    coverage_since: datetime | None = None
    gaps: tuple[tuple[datetime, datetime], ...] = ()
    tolerance: timedelta = DEFAULT_TOLERANCE

    @property
    def since(self) -> datetime:
        return self.now - timedelta(days=self.days)

    @property
    def uncovered(self) -> timedelta:
        return sum((b - a for a, b in self.gaps), timedelta(0))

    @property
    def begun(self) -> bool:
        """Counting began at least N days ago."""
        return self.coverage_since is not None and self.coverage_since <= self.since

    @property
    def covered(self) -> bool:
        return self.begun and self.uncovered <= self.tolerance

    def gaps_text(self) -> str:
        """'counting was off for 2d 3h in the last 14 days (3 spans, the longest from … to …)'; '' without gaps."""
        if not self.gaps:
            return ""
        a, b = max(self.gaps, key=lambda g: g[1] - g[0])
        spans = f"{len(self.gaps)} spans, the longest from" if len(self.gaps) > 1 else "from"
        return (f"counting was off for {span_text(self.uncovered)} in the last {self.days} days ({spans} "
                f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC)")


def value_text(value: str) -> str:
    return repr(value) if value else "no variant"


def verdict(lifecycle: Lifecycle, usage: Usage | None, window: Window, young: bool = False,
            last_seen: datetime | None = None) -> Verdict:
    """Whether a flag is stale. `usage`: its counts from `window.since` to `window.now` (None: no evaluation
    counted); `young`: the flag appeared in the last N days; `last_seen`: its last evaluation ever counted."""
    if lifecycle.kind is Kind.PERMANENT:
        return Verdict(Status.PERMANENT, last_seen=last_seen)
    if lifecycle.kind is not Kind.TEMPORARY:
        return Verdict(Status.UNTRACKED, last_seen=last_seen)
    reasons: list[str] = []
    codes: list[str] = []
    value = None
    today: date = window.now.date()
    if lifecycle.expires is not None and today > lifecycle.expires:
        reasons.append(f"expired on {lifecycle.expires.isoformat()}")
        codes.append("expired")
    total = usage.total if usage is not None else 0
    if young:
        pass  # not N days old yet: the counts cannot say it is unused
    elif not window.begun:
        if not reasons:
            since = window.coverage_since
            covered = f"counts only since {since:%Y-%m-%d %H:%M} UTC" if since else "nothing counted yet"
            return Verdict(Status.UNKNOWN, (f"{covered}, not the {window.days} days needed",), ("no-coverage",),
                           last_seen=last_seen)
    elif not window.covered:
        if not reasons:
            why = f"{window.gaps_text()}, more than the {span_text(window.tolerance)} tolerated"
            return Verdict(Status.UNKNOWN, (why,), ("coverage-gaps",), last_seen=last_seen)
    elif total == 0:
        reasons.append(f"no evaluation in {window.days} days")
        codes.append("unused")
    elif usage is not None and len([v for v, n in usage.by_value.items() if n]) == 1:
        value = next(v for v, n in usage.by_value.items() if n)
        reasons.append(f"served {value_text(value)} to 100% of {total:,} evaluations in {window.days} days")
        codes.append("single-value")
    if reasons:
        return Verdict(Status.STALE, tuple(reasons), tuple(codes), value, last_seen)
    return Verdict(Status.ACTIVE, last_seen=last_seen)
