"""Timing helpers the benches share: medians of several runs, and several functions measured in alternation.

Imported as `bench._common` (the project root is on sys.path in every bench, and `bench/run_all.py` loads the
benches by file with bench/ itself off sys.path)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

RUNS = 7


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_time(fn: Callable[[], object], runs: int = RUNS) -> float:
    return statistics.median(timed(fn) for _ in range(runs))


def side_by_side(*fns: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Median times of several functions measured in alternation, so a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, bucket in zip(fns, times, strict=True):
            bucket.append(timed(fn))
    return [statistics.median(t) for t in times]
