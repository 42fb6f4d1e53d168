"""Counting evaluations into the SQLite store, off the request path.

The hot paths already count every evaluation once, in `Metrics.results` (a plain dict of totals by Flipt's result
labels, metrics.py); counting for analytics adds nothing to them. Every `flush_period` (aligned to the clock, and
at each minute's end) the event loop diffs those totals against the last ones seen (`Collector`): the deltas are
this minute's counts by (environment, namespace, flag, value, reason). A single thread writes them in one SQLite
transaction (`AnalyticsWriter`, additive upserts), so `--workers N` (each its own Metrics, its own deltas) and
several evaluator processes on one file add up. A write that fails (a locked or corrupt file, a full disk) is
logged once, keeps its counts for the next flush (up to `MAX_UNWRITTEN` buckets, the oldest dropped first and
counted), and never affects an evaluation. Buckets older than `retention` are deleted at start and hourly.
Each minute in which it was counting is marked in the store's `uptime` (with the counts, or alone once a minute
when nothing was evaluated), so the readers can tell the minutes nobody was counting (`gaps`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Gauge

from evaluator.analytics.config import AnalyticsConfig
from evaluator.analytics.reader import ERROR_VALUE
from evaluator.analytics.store import BUSY_TIMEOUT, AnalyticsError, AnalyticsWriter, Key, epoch_minute

log = logging.getLogger("flagdeck.analytics")
MAX_UNWRITTEN = 200_000  # buckets kept in memory while the store cannot be written
PRUNE_EVERY = 3600.0
STOP_WAIT = 2 * BUSY_TIMEOUT + 1  # two writes, each waiting at most for a busy store


class Collector:
    """Per-minute deltas of growing dicts of totals: `totals` keyed by Flipt's result labels
    (metrics.RESULT_LABELS: environment, namespace, flag, type, match, reason, segments, value), and `failed` by
    metrics.FAILED_LABELS (environment, namespace, flag, error reason), whose rows carry the value `ERROR_VALUE`."""

    def __init__(self, totals: dict[tuple[str, ...], int], failed: dict[tuple[str, ...], int] | None = None):
        self.totals = totals
        self.failed = failed if failed is not None else {}
        self.seen: dict[tuple[str, ...], int] = {}
        self.seen_failed: dict[tuple[str, ...], int] = {}
        self.pending: dict[Key, int] = {}

    def collect(self, minute: int) -> None:
        """Move what was counted since the last call into `pending`, in the bucket of `minute` (epoch seconds)."""
        self._diff(self.totals, self.seen, minute, lambda labels: (labels[7], labels[5]))
        self._diff(self.failed, self.seen_failed, minute, lambda labels: (ERROR_VALUE, labels[3]))

    def _diff(self, totals: dict[tuple[str, ...], int], seen: dict[tuple[str, ...], int], minute: int,
              value_reason: Callable[[tuple[str, ...]], tuple[str, str]]) -> None:
        pending = self.pending
        for labels, total in list(totals.items()):
            before = seen.get(labels, 0)
            if total != before:
                seen[labels] = total
                key = (minute, labels[0], labels[1], labels[2], *value_reason(labels))
                pending[key] = pending.get(key, 0) + (total - before if total > before else total)
        if len(seen) > len(totals):
            self._forget(totals, seen)

    def forget_pruned(self) -> None:
        """Forget the totals of series that were dropped (metrics_labels.prune): one served again starts at 0."""
        self._forget(self.totals, self.seen)
        self._forget(self.failed, self.seen_failed)

    @staticmethod
    def _forget(totals: dict[tuple[str, ...], int], seen: dict[tuple[str, ...], int]) -> None:
        for labels in [labels for labels in seen if labels not in totals]:
            del seen[labels]

    def take(self) -> dict[Key, int]:
        pending, self.pending = self.pending, {}
        return pending


class AnalyticsCounter:
    """The evaluator's counting: `start()` on the event loop, `stop()` flushes what is left."""

    def __init__(self, metrics: Any, config: AnalyticsConfig, path: Path, environments: Callable[[], Iterable[str]],
                 clock: Callable[[], float] = time.time):
        self.collector = Collector(metrics.results.counts, metrics.failed.counts)
        self.writer = AnalyticsWriter(path, config.retention, config.minute_retention)
        self.period = config.buffer.flush_period
        self.environments = environments
        self.clock = clock
        self.unwritten: dict[Key, int] = {}
        self.on: set[int] = set()  # minutes counted whose `uptime` mark is not written yet
        self.marked = -1  # the last minute added to `on`
        self._error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._pruned_at = 0.0
        registry = metrics.registry
        self.write_errors = Counter("flagdeck_analytics_write_errors", "Failed writes of the analytics store",
                                    registry=registry)
        self.dropped = Counter("flagdeck_analytics_dropped", "Counts dropped while the analytics store failed",
                               registry=registry)
        self.backlog = Gauge("flagdeck_analytics_unwritten_buckets", "Buckets waiting for the analytics store",
                             registry=registry)
        metrics.analytics = self  # metrics.git_updated collects before dropping a series (forget_pruned after)

    def collect_now(self) -> None:
        minute = epoch_minute(self.clock() - 0.001)
        self.collector.collect(minute)
        if minute != self.marked:
            self.on.add(minute)
            self.marked = minute

    def forget_pruned(self) -> None:
        self.collector.forget_pruned()

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="flagdeck-analytics")
        self._stopping = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Let the round under way finish (cancelling it would cancel a write still queued for the writer thread,
        and its counts with it), flush what is left, close the store."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(self._task, STOP_WAIT)
            self.collect_now()
            await asyncio.wait_for(self.flush(), STOP_WAIT)
        except TimeoutError:
            log.warning("analytics store %s: not written within %.0f s at stop; the last counts are lost",
                        self.writer.path, STOP_WAIT)
        assert self._executor is not None
        await asyncio.get_running_loop().run_in_executor(self._executor, self.writer.close)
        self._executor.shutdown(wait=True)
        self._task = None

    async def _run(self) -> None:
        await self._write(self._open)
        while not self._stopping.is_set():
            now = self.clock()
            tick = min((now // self.period + 1) * self.period, (now // 60 + 1) * 60)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(0.0, tick - now))
            self.collect_now()
            await self.flush()
            if self.clock() - self._pruned_at >= PRUNE_EVERY and not self._stopping.is_set():
                await self._write(self._prune)

    async def flush(self) -> None:
        """Write what was collected (and whatever an earlier write failed to), in the writer's thread."""
        taken = self.collector.take()
        if self.unwritten:
            for key, count in taken.items():
                self.unwritten[key] = self.unwritten.get(key, 0) + count
            taken, self.unwritten = self.unwritten, {}
        on, self.on = self.on, set()
        if not taken and not on:
            return
        envs = list(self.environments())
        if not await self._write(lambda: self.writer.add_keyed(taken, {env: on for env in envs})):
            self._keep(taken)
            self.on |= on
        self.backlog.set(len(self.unwritten))

    def _open(self) -> None:
        self.writer.started(self.environments(), self.clock())
        self._prune()

    def _prune(self) -> None:
        self._pruned_at = self.clock()
        self.writer.prune(self._pruned_at)

    async def _write(self, work: Callable[[], None]) -> bool:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, work)
        except AnalyticsError as exc:
            self.write_errors.inc()
            if str(exc) != self._error:
                log.error("%s; evaluations are served, their counts kept in memory until it can be written", exc)
                self._error = str(exc)
            return False
        if self._error is not None:
            log.warning("analytics store %s: writing again", self.writer.path)
            self._error = None
        return True

    def _keep(self, counts: dict[Key, int]) -> None:
        self.unwritten = counts
        excess = len(counts) - MAX_UNWRITTEN
        if excess > 0:
            for key in sorted(counts)[:excess]:  # the oldest minutes first
                self.dropped.inc(counts.pop(key))
