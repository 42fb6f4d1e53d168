"""Metrics across `--workers N`: every worker counts in its own process (plain counters, no locks or shared
memory on the hot path) and writes what it has counted to `<directory>/<pid>.json` every `interval` seconds and
when it stops. A scrape, whichever worker answers it, merges its own live figures with the other workers' latest
files, so it counts the requests of every worker (those of the last `interval` seconds of the others may follow at
the next scrape). The runner makes one directory per server run and removes it afterwards.

Merging: counters, histograms and summaries add up; `_created` samples take the earliest; gauges take the largest
value (they describe state every worker shares, e.g. branches followed), except those in `SUMMED_GAUGES`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

SUMMED_GAUGES = frozenset({"flipt_evaluations_streams_in_progress"})

# one family on disk: [name, type, documentation, [[sample name, labels, value], ...]]
Family = list[Any]


def dump_families(registry: CollectorRegistry) -> list[Family]:
    return [[m.name, m.type, m.documentation, [[s.name, s.labels, s.value] for s in m.samples]]
            for m in registry.collect()]


def merge_families(parts: list[list[Family]]) -> list[Metric]:
    """One list of families from several workers' dumps (see the module's note on how values combine)."""
    families: dict[str, tuple[str, str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
    for part in parts:
        for name, kind, documentation, samples in part:
            _, _, values = families.setdefault(name, (kind, documentation, {}))
            for sample_name, labels, value in samples:
                key = (sample_name, tuple(sorted(labels.items())))
                old = values.get(key)
                if old is None:
                    values[key] = value
                elif sample_name.endswith("_created"):
                    values[key] = min(old, value)
                elif kind == "gauge" and name not in SUMMED_GAUGES:
                    values[key] = max(old, value)
                else:
                    values[key] = old + value
    merged = []
    for name, (kind, documentation, values) in families.items():
        metric = Metric(name, documentation, kind)
        for (sample_name, labels), value in values.items():
            metric.add_sample(sample_name, dict(labels), value)
        merged.append(metric)
    return merged


class _Merged:
    def __init__(self, metrics: list[Metric]):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


class SharedMetrics:
    """One worker's side of the exchange directory."""

    def __init__(self, directory: str | Path, pid: int | None = None):
        self.directory = Path(directory)
        self.pid = pid if pid is not None else os.getpid()
        self.path = self.directory / f"{self.pid}.json"

    def dump(self, registry: CollectorRegistry) -> None:
        """Write this worker's figures (atomically: a reader sees the old file or the new one)."""
        temporary = self.directory / f".{self.pid}.tmp"
        temporary.write_bytes(orjson.dumps(dump_families(registry)))
        os.replace(temporary, self.path)

    def others(self) -> list[list[Family]]:
        parts = []
        for path in self.directory.glob("*.json"):
            if path == self.path:
                continue
            with contextlib.suppress(OSError, orjson.JSONDecodeError):  # a worker gone or mid-replace
                parts.append(orjson.loads(path.read_bytes()))
        return parts

    def render(self, registry: CollectorRegistry) -> bytes:
        """The Prometheus text of this worker's live figures merged with every other worker's last dump."""
        merged = CollectorRegistry(auto_describe=False)
        merged.register(_Merged(merge_families([dump_families(registry), *self.others()])))
        return generate_latest(merged)
