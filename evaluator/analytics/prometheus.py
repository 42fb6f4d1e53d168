"""The Prometheus reader: evaluation counts of every replica a Prometheus server scrapes, from its HTTP API.

Each evaluator exports Flipt's `flipt_evaluations_results_total` (labels `flipt_environment`, `flipt_namespace`,
`flipt_flag`, `flipt_value`, `flipt_reason`, ...) on `/metrics`. Rather than PromQL's `increase()` (which
extrapolates, and misses a series' first scrape: a flag first evaluated 5 times between two scrapes would count
0), the reader asks `query_range` for each scraped series' last raw counter value in every step (at most
`MAX_POINTS` steps, `last_over_time(...[step])` at each step's end) and adds up their rises itself: a series absent
at the window's start starts from 0, a drop is a restarted evaluator (its new value counts). Each step's last
sample, not the value at an instant: a stopped or replaced evaluator's series ends with a staleness marker, and an
instant read after it would miss everything it counted since the previous point (a replica that lived less than one
step would vanish). Counts are exact to the step; evaluations after the last scrape are not in Prometheus yet (one
scrape interval behind)."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from evaluator.analytics.config import PrometheusConfig
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
from evaluator.analytics.store import AnalyticsError

METRIC = "flipt_evaluations_results_total"
FAILED = "flagdeck_evaluations_failed_total"  # failed evaluations by flag and Flipt's error reason
PRESENCE = "flipt_git_updates_total"  # an evaluator serving the environment is scraped (counting is on)
MAX_POINTS = 1000
MIN_STEP = 1.0


def _matcher(environment: str, namespace: str | None = None, flag: str | None = None) -> str:
    pairs = [("flipt_environment", environment), ("flipt_namespace", namespace), ("flipt_flag", flag)]
    return ",".join(f'{name}="{_escape(value)}"' for name, value in pairs if value is not None)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def last_in_step(selector: str, step: float) -> str:
    """Each series' last sample in the step ending at each point (whole milliseconds, as PromQL durations are)."""
    return f"last_over_time({selector}[{math.ceil(step * 1000)}ms])"


def rises(points: list[tuple[float, float]], start: float, step: float) -> Iterator[tuple[float, float]]:
    """(start of the step in which it rose, by how much) along one series' points, taken every `step` from
    `start`: a series first seen after `start` rose from 0; a drop is a restart, counting the new value."""
    last: float | None = None
    for moment, value in points:
        if last is None:
            rise = value if moment > start else 0.0
        else:
            rise = value - last if value >= last else value
        if rise > 0:
            yield max(start, moment - step), rise
        last = value


class PrometheusReader:
    source = "prometheus"

    def __init__(self, config: PrometheusConfig, retention: float = 30 * 86400.0):
        self.config = config
        self.retention = retention

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.config.url.rstrip('/')}{path}"
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, headers={
            "Content-Type": "application/x-www-form-urlencoded", **self.config.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise AnalyticsError(f"prometheus {url}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AnalyticsError(f"prometheus {url}: {reason}") from None
        if body.get("status") != "success":
            raise AnalyticsError(f"prometheus {url}: {body.get('error', body)}")
        return body["data"]

    def _range(self, query: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = self._get("/api/v1/query_range", {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:.3f}"})
        result: list[dict[str, Any]] = data["result"]
        return result

    def _points(self, selector: str, start: float, end: float, step: float, metric: str = METRIC
                ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        series = self._range(last_in_step(f"{metric}{{{selector}}}", step), start, end, step)
        return [(s["metric"], [(float(t), float(v)) for t, v in s["values"]]) for s in series]

    def _present(self, environment: str, start: float, end: float, step: float) -> list[float]:
        """The points (every `step` from `start`) at which some scraped evaluator served `environment`."""
        selector = _matcher(environment)
        found = self._range(f"count({last_in_step(f'{PRESENCE}{{{selector}}}', step)} or "
                            f"{last_in_step(f'{METRIC}{{{selector}}}', step)})", start, end, step)
        return sorted(float(t) for s in found for t, _ in s["values"])

    def coverage_since(self, environment: str) -> datetime | None:
        now = datetime.now(UTC).timestamp()
        start = now - self.retention
        moments = self._present(environment, start, now, max(MIN_STEP, self.retention / MAX_POINTS))
        return from_epoch(math.floor(min(moments) / 60) * 60) if moments else None

    def gaps(self, environment: str, since: datetime, until: datetime | None = None) -> list[Gap]:
        """The steps of [since, until) after the first one present in which Prometheus scraped no evaluator serving
        the environment (`up` alone would not say which environments a target serves), to the step (at least a
        minute); the last `SETTLING` seconds are not judged."""
        start = utc(since).timestamp()
        end = (utc(until) if until is not None else datetime.now(UTC)).timestamp() - SETTLING
        if end <= start:
            return []
        start, step = round(start, 3), round(max(60.0, (end - start) / MAX_POINTS), 3)  # as sent
        present = {round((t - start) / step) for t in self._present(environment, start, end, step)}
        if not present:
            return []
        last = int((end - start) // step)
        return runs((start + (i - 1) * step for i in range(min(present) + 1, last + 1) if i not in present), step)

    def usage(self, environment: str, since: datetime, until: datetime | None = None,
              namespace: str | None = None, flag: str | None = None) -> dict[tuple[str, str], FlagUsage]:
        start = utc(since).timestamp()
        end = (utc(until) if until is not None else datetime.now(UTC)).timestamp()
        step = max(MIN_STEP, (end - start) / MAX_POINTS)
        tally = Tally()
        selector = _matcher(environment, namespace, flag)
        for metric, failed in ((METRIC, False), (FAILED, True)):
            for labels, points in self._points(selector, start, end, step, metric):
                value = ERROR_VALUE if failed else labels.get("flipt_value", "")
                for moment, rise in rises(points, start, step):
                    tally.add(labels.get("flipt_namespace", ""), labels.get("flipt_flag", ""), value,
                              labels.get("flipt_reason", ""), round(rise), math.floor(moment / 60) * 60)
        return tally.result()

    def series(self, environment: str, namespace: str, flag: str, since: datetime, step: timedelta,
               until: datetime | None = None) -> list[tuple[datetime, int]]:
        since = utc(since)
        end = utc(until) if until is not None else datetime.now(UTC)
        count = steps(since, step, end)
        width = step.total_seconds()
        start = since.timestamp()
        fine = max(MIN_STEP, min(width, (end.timestamp() - start) / MAX_POINTS))
        values = [0.0] * count
        for _, points in self._points(_matcher(environment, namespace, flag), start, end.timestamp(), fine):
            for moment, rise in rises(points, start, fine):
                values[min(count - 1, max(0, int((moment - start) // width)))] += rise
        return [(since + step * i, round(values[i])) for i in range(count)]

    def last_seen(self, environment: str, namespace: str | None = None) -> dict[tuple[str, str], datetime]:
        """Exact to the minute over the last day, to the retention's thousandth before."""
        now = datetime.now(UTC)
        seen: dict[tuple[str, str], datetime] = {}
        for window in (timedelta(seconds=self.retention), timedelta(days=1)):
            since = now - window
            for key, usage in self.usage(environment, since, now, namespace).items():
                if usage.last_seen is not None:
                    seen[key] = usage.last_seen
        return seen
