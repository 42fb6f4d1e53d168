"""Several replicas: two evaluator processes scraped by a real Prometheus server (Debian's 2.42, a temporary
configuration scraping every second, an ephemeral port, its TSDB in tmp_path); `open_reader` with
`analytics.prometheus.url` reads the aggregate through Prometheus' HTTP API, and so does `flagdeck stats`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from evaluator.analytics.prometheus import PrometheusReader
from evaluator.analytics.reader import open_reader
from evaluator.config import load_evaluator_config
from tests.automation.prometheus import PROMETHEUS, free_port
from tests.server.harness import FlagRepo, ServerProcess, wait_until, write_config

from .test_stats import stats

pytestmark = pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason="prometheus is installed by .ci/run")


def _up(url: str) -> int:
    result = httpx.get(url + "/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
    return sum(1 for r in result if r["value"][1] == "1")


def evaluate(url: str, flag: str, times: int, context: dict | None = None) -> None:
    path = "/evaluate/v1/boolean" if flag.startswith("bool") else "/evaluate/v1/variant"
    for i in range(times):
        response = httpx.post(url + path, json={"namespaceKey": "ns1", "flagKey": flag, "entityId": f"e{i}",
                                                "context": context or {}}, timeout=10)
        assert response.status_code == 200


def test_two_evaluators_aggregated_by_prometheus(tmp_path: Path, flag_repo: FlagRepo, config_path: Path,
                                                 prometheus_for) -> None:  # noqa: ANN001
    a, b = ServerProcess(config_path), ServerProcess(config_path)
    try:
        targets = [a.url.removeprefix("http://"), b.url.removeprefix("http://")]
        prometheus = prometheus_for(targets)
        (tmp_path / "reader").mkdir()
        reading = write_config(tmp_path / "reader", flag_repo.path,
                               f"analytics:\n  prometheus: {{url: {prometheus}}}\n")
        reader = open_reader(load_evaluator_config(reading))
        assert isinstance(reader, PrometheusReader) and reader.source == "prometheus"
        wait_until(lambda: _up(prometheus) == 2, timeout=30, what="both evaluators scraped")
        started = datetime.now(UTC) - timedelta(seconds=5)
        evaluate(a.url, "bool-rollout-on", 6)  # before their series' first scrape: counted from 0
        evaluate(b.url, "bool-rollout-on", 4)
        evaluate(b.url, "variant-seg", 3, {"plan": "pro"})

        def totals() -> dict[tuple[str, str], int]:
            return {k: u.total for k, u in reader.usage("production", started).items()}

        wait_until(lambda: totals() == {("ns1", "bool-rollout-on"): 10, ("ns1", "variant-seg"): 3}, timeout=30,
                   what="the aggregate of both evaluators in Prometheus")
        evaluate(a.url, "bool-rollout-on", 5)  # rises of series Prometheus already has
        wait_until(lambda: totals()[("ns1", "bool-rollout-on")] == 15, timeout=30, what="the later rises")
        usage = reader.usage("production", started, flag="variant-seg")[("ns1", "variant-seg")]
        assert sum(usage.by_value.values()) == 3 and set(usage.by_value) <= {"blue", "green"}
        assert usage.by_reason == {"MATCH_EVALUATION_REASON": 3}
        assert usage.last_seen is not None and usage.last_seen >= started - timedelta(minutes=1)
        now = datetime.now(UTC)
        series = reader.series("production", "ns1", "bool-rollout-on", now - timedelta(minutes=5),
                               timedelta(minutes=1), now)
        assert len(series) == 5 and sum(count for _, count in series) == 15
        assert set(reader.last_seen("production", "ns1")) == {("ns1", "bool-rollout-on"), ("ns1", "variant-seg")}
        covered = reader.coverage_since("production")
        assert covered is not None and covered <= now
        assert reader.usage("staging", started) == {}
        assert reader.gaps("production", now - timedelta(hours=1)) == []  # scraped since they started

        out = stats(reading, "--env", "production", "--since", "1h", "--json")
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["source"] == "prometheus" and report["total"] == 18
    finally:
        a.stop()
        b.stop()


def test_unreachable_prometheus_is_a_clear_error(tmp_path: Path, flag_repo: FlagRepo) -> None:
    port = free_port()
    (tmp_path / "reader").mkdir()
    reading = write_config(tmp_path / "reader", flag_repo.path,
                           f"analytics:\n  prometheus: {{url: 'http://127.0.0.1:{port}'}}\n")
    out = stats(reading, "--env", "production")
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: prometheus http://127.0.0.1:{port}/api/v1/query_range: ")
