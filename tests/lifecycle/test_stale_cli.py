"""`flagdeck stale`: a real process on a real repository (commit dates fixed) with counts written through the
evaluator's AnalyticsWriter, judged as of a fixed time (`--now`). Exit 1 any stale, 0 none, 2 usage."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from .helpers import NOW, busy_counts, make_env, write_counts

FLAGDECK = str(Path(sys.executable).parent / "flagdeck")


def stale(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLAGDECK, "stale", "--config", str(config), "--now", NOW.isoformat(), *args],
                          capture_output=True, text=True, timeout=60)


def test_stale_flags_with_reasons_and_last_evaluation(tmp_path: Path) -> None:
    config = make_env(tmp_path)
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30)})
    done = stale(config, "--env", "production")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "FLAG                WHY STALE                                            LAST EVALUATION       OWNER",
        "default/expired     expired on 2026-02-01                                2026-03-01 11:00 UTC  team-checkout",
        "default/old-unused  no evaluation in 14 days                             2026-02-09 12:00 UTC  team-growth",
        "default/one-value   served 'true' to 100% of 350 evaluations in 14 days  2026-03-01 11:00 UTC  team-checkout",
    ]
    assert "production: 3 stale of 5 temporary flag(s) (rules over 14 days; counts from sqlite; client-side SDK " \
           "evaluations are not counted)" in done.stderr
    report = json.loads(stale(config, "--env", "production", "--json").stdout)
    assert report["source"] == "sqlite" and report["days"] == 14 and report["unknown"] == []
    assert report["coverageSince"] == "2026-01-30T12:00:00Z"
    assert report["stale"][2] == {"namespace": "default", "flag": "one-value", "owner": "team-checkout",
                                  "expires": None, "codes": ["single-value"], "value": "true",
                                  "reasons": ["served 'true' to 100% of 350 evaluations in 14 days"],
                                  "lastEvaluation": "2026-03-01T11:00:00Z"}
    # over 25 days old-unused was evaluated (20 days ago), always true: stale for serving one value instead
    longer = json.loads(stale(config, "--env", "production", "--json", "--days", "25").stdout)
    assert [(s["flag"], s["reasons"]) for s in longer["stale"]] == [
        ("expired", ["expired on 2026-02-01"]), ("old-unused", ["served 'true' to 100% of 4 evaluations in 25 days"]),
        ("one-value", ["served 'true' to 100% of 650 evaluations in 25 days"])]


def test_counts_too_short_say_unknown_and_only_expiry_is_stale(tmp_path: Path) -> None:
    config = make_env(tmp_path)
    recent = [row for row in busy_counts() if row[0] >= NOW - timedelta(days=5)]  # an older bucket would cover more
    write_counts(config, recent, {"production": NOW - timedelta(days=5)})
    done = stale(config, "--env", "production", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert [s["flag"] for s in report["stale"]] == ["expired"]
    assert [u["flag"] for u in report["unknown"]] == ["busy", "old-unused", "one-value"]  # young: not judged
    assert report["unknown"][0]["codes"] == ["no-coverage"]
    text = stale(config, "--env", "production")
    assert "unknown: 3 temporary flag(s) (default/busy, default/old-unused, default/one-value): counts only since " \
           "2026-02-24 12:00 UTC, not the 14 days needed" in text.stderr


def test_none_stale_exits_0_and_usage_errors_exit_2(tmp_path: Path) -> None:
    config = make_env(tmp_path)
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30)})
    early = subprocess.run([FLAGDECK, "stale", "--config", str(config), "--env", "production", "--now",
                            (NOW - timedelta(days=31)).isoformat()], capture_output=True, text=True, timeout=60)
    assert early.returncode == 0, early.stdout + early.stderr  # before expiry, and nothing counted yet: unknown
    assert early.stdout == ""
    for args, message in [(("--env", "nope"), "nope"), (("--namespace", "nope"), "no namespace 'nope'"),
                          (("--days", "0"), "--days")]:
        bad = stale(config, *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr


def test_refs_of_the_stale_flags_only(tmp_path: Path) -> None:
    config = make_env(tmp_path / "flags")
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30)})
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text('if on("one-value"):\n    pass\nif on("busy"):\n    pass\n')
    done = subprocess.run([FLAGDECK, "refs", str(code), "--config", str(config), "--env", "production", "--stale",
                           "--now", NOW.isoformat()], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'app.py:1: one-value: if on("one-value"):\n'
    assert "1 reference(s) to 1 of 3 stale flag(s) in 1 file(s)" in done.stderr
    assert "not referenced: expired, old-unused" in done.stderr


def test_days_from_flagdeck_yaml_and_a_bad_value(tmp_path: Path) -> None:
    config = make_env(tmp_path)
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30)})
    config.write_text(config.read_text() + "lifecycle:\n  stale_days: 25\n")
    report = json.loads(stale(config, "--env", "production", "--json").stdout)
    assert report["days"] == 25 and [s["flag"] for s in report["stale"]] == ["expired", "old-unused", "one-value"]
    assert json.loads(stale(config, "--env", "production", "--json", "--days", "14").stdout)["days"] == 14
    config.write_text(config.read_text().replace("stale_days: 25", "stale_days: 0"))
    bad = stale(config, "--env", "production")
    assert bad.returncode == 2 and "flagdeck.yaml:" in bad.stderr and "lifecycle.stale_days" in bad.stderr, bad.stderr
