"""Days nobody was counting inside the N days (issue 16): the count rules say "unknown" for a flag whose window has
uncovered gaps beyond `lifecycle.max_uncovered` (1h by default), and `flagdeck stale` says the uncovered span; a
gap within the tolerance is said and the rules judge as before. A real process, judged as of a fixed time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from .helpers import NOW, busy_counts, make_env, write_counts
from .test_stale_cli import stale

DAY = timedelta(days=1)


def with_gap(tmp_path: Path, start: timedelta, end: timedelta) -> Path:
    """The counts of `busy_counts`, counted for 30 days except from NOW - `start` to NOW - `end`."""
    config = make_env(tmp_path)
    write_counts(config, [r for r in busy_counts() if not NOW - start <= r[0] < NOW - end],
                 {"production": NOW - 30 * DAY}, until=NOW - start)
    write_counts(config, [], {"production": NOW - end})
    return config


def test_a_two_day_gap_makes_the_count_rules_unknown(tmp_path: Path) -> None:
    config = with_gap(tmp_path, 5 * DAY, 3 * DAY)
    done = stale(config, "--env", "production")
    assert done.returncode == 1, done.stderr  # expired stays stale: no count needed
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == ["default/expired"]
    span = "counting was off for 2d in the last 14 days (from 2026-02-24 12:00 to 2026-02-26 12:00 UTC)"
    assert f"coverage: {span}; too much to judge by counts (lifecycle.max_uncovered: 1h)" in done.stderr
    assert ("unknown: 3 temporary flag(s) (default/busy, default/old-unused, default/one-value): "
            f"{span}, more than the 1h tolerated") in done.stderr
    report = json.loads(stale(config, "--env", "production", "--json").stdout)
    assert report["uncovered"] == [{"from": "2026-02-24T12:00:00Z", "to": "2026-02-26T12:00:00Z"}]
    assert report["uncoveredSeconds"] == 2 * 86400 and report["maxUncoveredSeconds"] == 3600
    assert {u["flag"]: u["codes"] for u in report["unknown"]} == {
        "busy": ["coverage-gaps"], "old-unused": ["coverage-gaps"], "one-value": ["coverage-gaps"]}

    config.write_text(config.read_text() + "lifecycle:\n  max_uncovered: 72h\n")
    tolerated = stale(config, "--env", "production", "--json")
    assert [s["flag"] for s in json.loads(tolerated.stdout)["stale"]] == ["expired", "old-unused", "one-value"]


def test_a_restart_within_the_tolerance_is_said_and_judged_as_before(tmp_path: Path) -> None:
    config = with_gap(tmp_path, timedelta(days=2, minutes=40), 2 * DAY)
    done = stale(config, "--env", "production")
    assert [line.split()[0] for line in done.stdout.splitlines()[1:]] == [
        "default/expired", "default/old-unused", "default/one-value"]
    assert ("coverage: counting was off for 40min in the last 14 days (from 2026-02-27 11:20 to 2026-02-27 12:00 "
            "UTC); tolerated (lifecycle.max_uncovered: 1h)") in done.stderr
    config.write_text(config.read_text() + "lifecycle:\n  max_uncovered: 0\n")  # any gap: unknown
    strict = json.loads(stale(config, "--env", "production", "--json").stdout)
    assert [s["flag"] for s in strict["stale"]] == ["expired"]
