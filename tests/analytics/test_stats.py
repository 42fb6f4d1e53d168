"""`flagdeck stats` (a real process) and Flipt v2's analytics API on counts made by real evaluations."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from evaluator.analytics.reader import AnalyticsReader
from evaluator.analytics.store import AnalyticsWriter
from tests.server.harness import wait_until

FLAGDECK = str(Path(sys.executable).parent / "flagdeck")


def stats(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(config.parent)}
    return subprocess.run([FLAGDECK, "stats", *args, "--config", str(config)], capture_output=True, text=True,
                          env=env, timeout=60)


def evaluate(server, flag: str, times: int, env: str = "production") -> None:  # noqa: ANN001
    path = "/evaluate/v1/boolean" if flag.startswith("bool") else "/evaluate/v1/variant"
    for i in range(times):
        response = server.post(path, {"namespaceKey": "ns1", "flagKey": flag, "entityId": f"user-{i}",
                                      "context": {"plan": "pro"}, "environmentKey": env})
        assert response.status_code == 200


def test_stats_totals_values_and_reasons(make_server, config_path: Path,  # noqa: ANN001
                                         reader: AnalyticsReader) -> None:
    server = make_server()
    evaluate(server, "variant-seg", 8)
    evaluate(server, "bool-rollout-on", 4)
    evaluate(server, "env-marker", 2, env="staging")
    wait_until(lambda: sum(u.total for u in reader.usage("production", datetime.now(UTC) - timedelta(hours=1))
                           .values()) == 12, timeout=10, what="the counts")

    out = stats(config_path, "--env", "production")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("production: evaluations in the last 24h (")
    assert "from sqlite (" in lines[0] and "client-side SDK evaluations are not counted" in lines[0]
    assert lines[1].startswith("note: counts kept since ")  # counting started a moment ago
    assert lines[2].split() == ["NAMESPACE", "FLAG", "TOTAL", "LAST", "SEEN", "VALUES"]
    assert lines[3].split()[:3] == ["ns1", "variant-seg", "8"] and "blue" in lines[3]
    assert lines[4].split()[:3] == ["ns1", "bool-rollout-on", "4"]
    assert lines[-1] == "total: 12 evaluations of 2 flags"

    one = stats(config_path, "--env", "production", "-n", "ns1", "variant-seg", "--since", "7d")
    assert one.returncode == 0, one.stderr
    assert "ns1/variant-seg: 8 evaluations, last " in one.stdout
    assert "  reason MATCH_EVALUATION_REASON" in one.stdout and "100.0%" in one.stdout

    report = json.loads(stats(config_path, "--env", "production", "--json").stdout)
    assert report["source"] == "sqlite" and report["total"] == 12
    assert report["note"] == "client-side SDK evaluations are not counted"
    (variant,) = [f for f in report["flags"] if f["flag"] == "variant-seg"]
    assert sum(variant["by_value"].values()) == 8 and variant["by_reason"] == {"MATCH_EVALUATION_REASON": 8}
    staging = json.loads(stats(config_path, "--env", "staging", "--json").stdout)
    assert [(f["flag"], f["total"]) for f in staging["flags"]] == [("env-marker", 2)]

    none = stats(config_path, "--env", "production", "nope")
    assert none.returncode == 0 and "no evaluation of flag 'nope' in the window" in none.stdout
    unknown = stats(config_path, "--env", "qa")
    assert unknown.returncode == 2 and "unknown environment 'qa' (configured: production, staging)" in unknown.stderr
    bad = stats(config_path, "--env", "production", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_stats_says_how_far_back_counts_go_and_reports_a_corrupt_store(config_path: Path) -> None:
    from evaluator.config import load_evaluator_config

    config = load_evaluator_config(config_path)
    now = datetime.now(UTC)
    AnalyticsWriter.for_config(config).add([(now - timedelta(hours=2), "production", "ns1", "bool-rollout", "false",
                                             "DEFAULT_EVALUATION_REASON", 3)])
    out = stats(config_path, "--env", "production", "--since", "7d")
    assert out.returncode == 0, out.stderr
    assert "note: counts kept since " in out.stdout and "ns1/bool-rollout: 3 evaluations" in out.stdout
    assert "nothing counted yet" in stats(config_path, "--env", "staging").stdout
    path = config.analytics.database(config.path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 1000)
    broken = stats(config_path, "--env", "production")
    assert broken.returncode == 1
    assert broken.stderr.strip() == (f"Error: {path}: analytics store: file is not a database; move the file aside "
                                     "and counting starts afresh")


def test_flipt_analytics_api(make_server, config_path: Path, reader: AnalyticsReader) -> None:  # noqa: ANN001
    server = make_server()
    evaluate(server, "variant-seg", 5)
    evaluate(server, "bool-rollout-on", 2)
    wait_until(lambda: sum(u.total for u in reader.usage("production", datetime.now(UTC) - timedelta(hours=1))
                           .values()) == 7, timeout=10, what="the counts")
    base = "/internal/v2/analytics/environments/production/namespaces/ns1"
    day = server.get(base + "/flags/variant-seg").json()
    assert set(day) == {"timestamps", "values"} and len(day["timestamps"]) == len(day["values"]) == 50
    assert sum(day["values"]) == 5  # 30-minute steps over the last 24 hours and one, as Flipt
    now = datetime.now(UTC).replace(microsecond=0)
    start = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    hour = server.get(base + "/flags/variant-seg", params={"from": start, "to": now.strftime("%Y-%m-%d %H:%M:%S")})
    assert hour.status_code == 200
    body = hour.json()
    assert body["timestamps"][0] == start and len(body["timestamps"]) == 62  # 1-minute steps, to `to` + 1 step
    assert sum(body["values"]) == 5 and body["values"][-1] == 0
    batch = server.post(base + "/batch", {"flagKeys": ["variant-seg", "bool-rollout-on", "never"], "from": start,
                                          "limit": 2}).json()
    flags = batch["flagEvaluations"]
    assert set(flags) == {"variant-seg", "bool-rollout-on", "never"}
    assert len(flags["never"]["values"]) == 2 and sum(flags["never"]["values"]) == 0
    full = server.post(base + "/batch", {"flagKeys": ["bool-rollout-on"], "from": start}).json()
    assert sum(full["flagEvaluations"]["bool-rollout-on"]["values"]) == 2
    bad = server.get(base + "/flags/variant-seg", params={"from": "yesterday"})
    assert bad.status_code == 400 and "yesterday" in bad.json()["message"]
    assert server.get("/internal/v2/analytics/environments/qa/namespaces/ns1/flags/x").status_code == 404
