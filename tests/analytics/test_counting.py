"""Real evaluations through the PyPI `flipt` REST SDK, plain HTTP and OFREP are counted per environment,
namespace, flag, value and reason in the SQLite store next to flagdeck.yaml, and read back through the reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
from flipt import FliptClient as RestClient
from flipt.evaluation import BatchEvaluationRequest
from flipt.evaluation import EvaluationRequest as RestRequest

from evaluator.analytics.reader import AnalyticsReader
from evaluator.analytics.store import AnalyticsWriter
from tests.server.harness import wait_until

PRO = {"plan": "pro"}


def totals(reader: AnalyticsReader, env: str = "production") -> dict[tuple[str, str], int]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return {key: usage.total for key, usage in reader.usage(env, since).items()}


def test_sdk_http_and_ofrep_evaluations_are_counted(make_server, reader: AnalyticsReader,  # noqa: ANN001
                                                    config_path: Path) -> None:
    server = make_server()
    client = RestClient(url=server.url, timeout=10)
    try:
        for i in range(10):
            client.evaluation.boolean(RestRequest(namespace_key="ns1", flag_key="bool-rollout-on",
                                                  entity_id=f"user-{i}", context={}))
        client.evaluation.variant(RestRequest(namespace_key="ns1", flag_key="variant-seg", entity_id="u",
                                              context=PRO))
        client.evaluation.batch(BatchEvaluationRequest(requests=[
            RestRequest(namespace_key="ns1", flag_key="variant-seg-dflt", entity_id=f"u{i}", context={})
            for i in range(4)]))
    finally:
        client.close()
    for _ in range(3):  # OFREP single and bulk (bulk: every flag of ns1 once)
        assert server.post("/ofrep/v1/evaluate/flags/env-marker", {"context": {"targetingKey": "a"}},
                           headers={"X-Flipt-Namespace": "ns1"}).status_code == 200
    assert server.post("/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "a"}},
                       headers={"X-Flipt-Namespace": "ns1"}).status_code == 200
    assert server.post("/evaluate/v1/variant", {"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "x",
                                                "environmentKey": "staging"}).status_code == 200
    expected = {("ns1", "bool-rollout-on"): 11, ("ns1", "variant-seg"): 2, ("ns1", "variant-seg-dflt"): 5,
                ("ns1", "env-marker"): 4, ("ns1", "bool-rollout"): 1}
    wait_until(lambda: totals(reader) == expected and totals(reader, "staging") == {("ns1", "env-marker"): 1},
               timeout=10, what="the counts in the store")
    assert (config_path.parent / ".flagdeck-state" / "analytics.sqlite3").is_file()

    usage = reader.usage("production", datetime.now(UTC) - timedelta(hours=1), flag="variant-seg-dflt")
    (only,) = usage.values()
    assert only.by_value == {"control": 5}
    assert only.by_reason == {"DEFAULT_EVALUATION_REASON": 5}
    booleans = reader.usage("production", datetime.now(UTC) - timedelta(hours=1))[("ns1", "bool-rollout-on")]
    assert sum(booleans.by_value.values()) == 11 and set(booleans.by_value) <= {"true", "false"}
    assert booleans.last_seen is not None
    assert booleans.last_seen <= datetime.now(UTC) and booleans.last_seen.second == 0
    seen = reader.last_seen("production", "ns1")
    assert set(seen) == set(expected)
    covered = reader.coverage_since("production")
    assert covered is not None and covered <= booleans.last_seen
    now = datetime.now(UTC)
    series = reader.series("production", "ns1", "bool-rollout-on", now - timedelta(minutes=10), timedelta(minutes=1),
                           now)
    assert len(series) == 10 and sum(count for _, count in series) == 11


def test_counts_written_at_stop_and_added_to_earlier_ones(make_server, reader: AnalyticsReader,  # noqa: ANN001
                                                          config_path: Path) -> None:
    """The last counts are flushed when the server stops; a second run adds to the first's buckets."""
    for run in range(2):
        server = make_server()
        for _ in range(7):
            assert httpx.post(server.url + "/evaluate/v1/boolean",
                              json={"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "e"},
                              timeout=10).status_code == 200
        server.stop()
        assert totals(reader) == {("ns1", "bool-rollout"): 7 * (run + 1)}
        assert reader.usage("production", datetime.now(UTC) - timedelta(hours=1))[
            ("ns1", "bool-rollout")].by_reason == {"DEFAULT_EVALUATION_REASON": 7 * (run + 1)}


def test_writer_rows_add_up_and_windows_select_buckets(tmp_path: Path) -> None:
    from evaluator.analytics.sqlite_reader import SqliteReader

    path = tmp_path / "a.sqlite3"
    writer = AnalyticsWriter(path)
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    writer.add([(t0, "prod", "ns", "f", "on", "MATCH_EVALUATION_REASON", 2),
                (t0 + timedelta(seconds=30), "prod", "ns", "f", "on", "MATCH_EVALUATION_REASON", 3),
                (t0 + timedelta(minutes=5), "prod", "ns", "f", "", "DEFAULT_EVALUATION_REASON", 1),
                (t0 + timedelta(hours=2), "prod", "ns", "g", "true", "MATCH_EVALUATION_REASON", 4)])
    writer.add([(t0, "prod", "ns", "f", "on", "MATCH_EVALUATION_REASON", 1)])
    reader = SqliteReader(path)
    usage = reader.usage("prod", t0, t0 + timedelta(hours=1))
    assert set(usage) == {("ns", "f")}
    assert usage[("ns", "f")].by_value == {"on": 6, "": 1}
    assert usage[("ns", "f")].last_seen == t0 + timedelta(minutes=5)
    assert reader.coverage_since("prod") == t0 and reader.coverage_since("staging") is None
    assert reader.series("prod", "ns", "f", t0, timedelta(minutes=5), t0 + timedelta(minutes=15)) == [
        (t0, 6), (t0 + timedelta(minutes=5), 1), (t0 + timedelta(minutes=10), 0)]
    assert reader.last_seen("prod") == {("ns", "f"): t0 + timedelta(minutes=5),
                                        ("ns", "g"): t0 + timedelta(hours=2)}
    assert SqliteReader(tmp_path / "missing.sqlite3").usage("prod", t0) == {}
