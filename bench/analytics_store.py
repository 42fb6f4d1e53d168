"""The analytics store's size (issue 16): bytes per minute row and per hour row, measured on a real store written
through `AnalyticsWriter` as an evaluator writes it (every flag evaluated every minute, one value each; names as
long as real ones), then pruned as of the last minute with minute buckets kept for the whole retention (as before
`analytics.minute_retention`) against kept 48 h. Prints both file sizes and their extrapolation to 100 flags over
30 days (43,200 minute rows and 720 hour rows a flag before; 2,880 and 720 after).

    .venv/bin/python bench/analytics_store.py [--flags 100] [--days 3]

`make bench` (bench/run_all.py) runs it at a quick size, 10 flags (7 s instead of 50): the bytes per row, and so
the extrapolation, come out the same within 1% for minute rows (hour rows are ~7% larger at 10 flags).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.analytics.store import AnalyticsWriter  # noqa: E402

DAY = 86400


def write(path: Path, flags: int, days: int, now: int, minute_retention: float) -> dict[str, float]:
    writer = AnalyticsWriter(path, 30 * DAY, minute_retention)
    start = now - days * DAY
    for minute in range(start, now, 60):
        writer.add_keyed({(minute, "production", "default", f"checkout-redesign-{i:04d}", "true",
                           "MATCH_EVALUATION_REASON"): 7 for i in range(flags)}, {"production": [minute]})
    writer.prune(now)
    writer.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    minutes = db.execute("SELECT count(*) FROM counts").fetchone()[0]
    hours = db.execute("SELECT count(*) FROM hours").fetchone()[0]
    pages = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()) \
        if _has_dbstat(db) else {}
    db.close()
    return {"size": path.stat().st_size, "minutes": minutes, "hours": hours,
            "minute_bytes": (pages.get("counts", 0) + pages.get("counts_by_flag", 0)) / max(1, minutes),
            "hour_bytes": pages.get("hours", 0) / max(1, hours)}


def _has_dbstat(db: sqlite3.Connection) -> bool:
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except sqlite3.Error:
        return False


def main(argv: list[str] | None = None) -> None:
    """From the command line (`argv` given) 100 flags; from `make bench` (bench/run_all.py, no argv) 10."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--flags", type=int, default=100 if argv is not None else 10)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args(argv if argv is not None else [])
    now = int(time.time()) // 3600 * 3600
    with tempfile.TemporaryDirectory() as tmp:
        for name, keep in (("minutes kept 30 d (before)", 30 * DAY), ("minutes kept 48 h (after)", 2 * DAY)):
            found = write(Path(tmp) / f"{keep}.sqlite3", args.flags, args.days, now, keep)
            per_flag_minutes = min(keep, 30 * DAY) // 60
            month = 100 * (per_flag_minutes * found["minute_bytes"] + 720 * found["hour_bytes"])
            print(f"{name}: {args.flags} flags x {args.days} d: file {found['size'] / 1e6:.1f} MB, "
                  f"{found['minutes']:,} minute rows ({found['minute_bytes']:.0f} B each with the flag index), "
                  f"{found['hours']:,} hour rows ({found['hour_bytes']:.0f} B each); "
                  f"100 flags x 30 d: {month / 1e6:,.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
