"""Lifecycle and counts in the console at 100,000 flags (issue 16), medians of several runs, side by side:

1. the flag list's rows: built as before the lifecycle columns against with them (owner and lifecycle read from
   each flag's metadata, the 24-hour total and stale status looked up): what the event loop pays per list;
2. the counts the list reads in a worker (`list_counts`: 24-hour totals and stale verdicts, one query each, and
   the flags' ages from Git) on 100,000 flags, 20,000 of them counted over 30 days, against the namespace's first
   snapshot (what the list read first anyway);
3. a filter keystroke over 100,000 rows: text only against text with `is:stale` and `owner:` terms.

    .venv/bin/python bench/lifecycle.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.insight.usage import list_counts  # noqa: E402
from app.screens.flags_lifecycle import FlagCounts  # noqa: E402
from app.settings import load_flagdeck_config  # noqa: E402
from app.widgets.flag_table import FlagRow, match_terms, split_filter  # noqa: E402
from evaluator.analytics.reader import open_reader  # noqa: E402
from evaluator.analytics.store import AnalyticsWriter  # noqa: E402
from gitstore.store import Store  # noqa: E402
from tests.console.helpers import ADA, commit_files  # noqa: E402

FLAGS = 100_000
COUNTED = 20_000
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CONFIG = """\
storage:
  local: {path: repo, branch: main}
environments:
  production: {storage: local, directory: production, default: true}
"""


def namespace() -> bytes:
    lines = ['version: "1.4"', "namespace: {key: default, name: Default}", "flags:"]
    for i in range(FLAGS):
        lines += [f"  - key: flag-{i}", f"    name: Flag {i}", "    type: BOOLEAN_FLAG_TYPE", "    enabled: true"]
        if i % 10 == 0:  # one flag in ten has a lifecycle
            life = "temporary" if i % 20 == 0 else "permanent"
            lines += ["    metadata:", f"      owner: team-{i % 7}", f"      lifecycle: {life}"]
    return ("\n".join(lines) + "\n").encode()


def make(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "flagdeck.yaml").write_text(CONFIG)
    commit_files(root / "repo", {"production/default/features.yaml": namespace()}, ADA, "flags",
                 NOW - timedelta(days=40))
    config = root / "flagdeck.yaml"
    writer = AnalyticsWriter.for_config(load_flagdeck_config(config))
    writer.started(["production"], (NOW - timedelta(days=30)).timestamp())
    writer.counting_on("production", (NOW - timedelta(days=30)).timestamp(), NOW.timestamp())  # no gap
    for day in range(0, 30, 2):
        at = NOW - timedelta(days=day, hours=3)
        writer.add((at, "production", "default", f"flag-{i * 5}", "true" if i % 3 else "false",
                    "DEFAULT_EVALUATION_REASON", 3) for i in range(COUNTED))
        writer.add((at, "production", "default", f"flag-{i * 5}", "true", "DEFAULT_EVALUATION_REASON", 1)
                   for i in range(0, COUNTED, 3))  # a third of them serve both values
    writer.close()
    return config


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def alternating(*fns: Callable[[], Any]) -> Any:
    """Each function's median over RUNS rounds, the functions taking turns in every round (so a busy moment of
    the machine weighs on all of them alike), then the last function's result."""
    times: list[list[float]] = [[] for _ in fns]
    result = None
    for _ in range(RUNS):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            result = fn()
            times[i].append(time.perf_counter() - started)
    return (*(statistics.median(t) for t in times), result)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = make(Path(tmp) / "flags")
        store = Store(load_flagdeck_config(config))
        reader = open_reader(load_flagdeck_config(config))
        try:
            snap_time, snapshot = timed(lambda: store.snapshot("production", None), 1)
            doc = snapshot.document("default")
            assert doc is not None and len(doc.flags) == FLAGS
            counts_time, counts = timed(lambda: list_counts(reader, store, "production", "default", doc, NOW, 14))
            holder = SimpleNamespace(counts=counts, trend_cache={})
            no_counts = SimpleNamespace(counts=None, trend_cache={})

            def before() -> list[FlagRow]:
                return [FlagRow(f.key, f.name, "boolean", f.enabled, 0, "", False, "") for f in doc.flags]

            def after() -> list[FlagRow]:
                return [FlagRow(f.key, f.name, "boolean", f.enabled, 0, "", False, "",
                                *FlagCounts.counted(holder, f))  # type: ignore[arg-type]
                        for f in doc.flags]

            def first() -> list[FlagRow]:  # the first list: before the counts arrive
                return [FlagRow(f.key, f.name, "boolean", f.enabled, 0, "", False, "",
                                *FlagCounts.counted(no_counts, f))  # type: ignore[arg-type]
                        for f in doc.flags]

            old_rows, first_rows, new_rows, rows = alternating(before, first, after)
            search = [f"{r.key}\n{r.name}".lower() for r in rows]

            def text_only() -> int:
                return sum(1 for s in search if "flag-12" in s)

            def with_terms() -> int:
                text, terms = split_filter("flag-1 is:stale owner:team-3")
                return sum(1 for i, s in enumerate(search) if text in s and match_terms(rows[i], terms))

            plain, _ = timed(text_only)
            termed, found = timed(with_terms)
        finally:
            store.close()
    stale = len(counts.stale())
    print(f"flag list rows, {FLAGS:,} flags: before {ms(old_rows)}, first list (lifecycle) {ms(first_rows)} "
          f"({first_rows / old_rows:.2f}x), with counts {ms(new_rows)} ({new_rows / old_rows:.2f}x; median of {RUNS}, "
          "on the event loop once per list)")
    print(f"counts read for the list (worker) {ms(counts_time)}: totals of {len(counts.totals):,} flags, "
          f"{len(counts.judged):,} temporary flags judged ({stale:,} stale); the first snapshot {ms(snap_time)}")
    print(f"filter keystroke, {FLAGS:,} rows: text {ms(plain)}, text + is:stale owner: {ms(termed)} "
          f"({termed / plain:.2f}x; {found} shown)")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
