"""Client snapshots (ETag/304), the snapshot stream (NDJSON and SSE) following commits, reloads that keep the last
good namespace, /health, /metrics and /openapi.json."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx2 as httpx

from .conftest import ns1
from .harness import FlagRepo, ServerThread, wait_until

SNAP = "/internal/v1/evaluation/snapshot/namespace/ns1"
V2 = "/client/v2/environments/{env}/namespaces/ns1/{what}"


def test_snapshot_etag_and_304(server: ServerThread) -> None:
    first = server.get(SNAP)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    digest = first.headers["etag"]
    body = first.json()
    assert len(digest) == 40 and body["digest"] == digest and body["namespace"] == {"key": "ns1"}
    assert {f["key"] for f in body["flags"]} == {"bool-rollout", "bool-rollout-on", "variant-seg",
                                                 "variant-seg-dflt", "env-marker"}
    again = server.get(SNAP, headers={"If-None-Match": digest})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == digest
    stale = server.get(SNAP, headers={"If-None-Match": '"' + digest + '"'})  # compared byte for byte
    assert stale.status_code == 200 and stale.content == first.content


def test_snapshot_per_environment(server: ServerThread) -> None:
    prod = server.get(SNAP).headers["etag"]
    staging = server.get(SNAP, headers={"X-Flipt-Environment": "staging"}).headers["etag"]
    assert prod != staging
    assert server.get(V2.format(env="staging", what="snapshot")).headers["etag"] == staging
    assert server.get(V2.format(env="unknown", what="snapshot")).headers["etag"] == prod  # falls back
    assert server.get("/environments/staging" + SNAP).headers["etag"] == staging
    missing = server.get("/internal/v1/evaluation/snapshot/namespace/ghost")
    assert missing.status_code == 404
    assert missing.json() == {"code": 5, "message": 'evaluation snapshot for namespace "ghost" not found',
                              "details": []}


class StreamReader:
    """Reads a stream in a background thread; `lines` receives (arrival time, line)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.status: int | None = None
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=None)) as r:
                self.status = r.status_code
                for line in r.iter_lines():
                    self.lines.put((time.monotonic(), line))
        except httpx.HTTPError:
            pass

    def next(self, timeout: float = 5) -> tuple[float, str]:
        return self.lines.get(timeout=timeout)


def _change_staging(repo: FlagRepo, marker: str) -> str:
    return repo.commit({"staging/ns1/features.yaml": ns1(marker)}, f"staging now {marker}")


def test_ndjson_stream_pushes_a_commit_within_200ms(server: ServerThread, flag_repo: FlagRepo) -> None:
    reader = StreamReader(server.url + V2.format(env="staging", what="stream"))
    _, line = reader.next()
    first = json.loads(line)["result"]
    assert first["namespace"] == {"key": "ns1"}
    # the production branch directory is untouched by the commits below: its stream stays quiet
    for n in range(2):
        _change_staging(flag_repo, f"staging-{n}")
        committed = time.monotonic()
        arrived, line = reader.next()
        doc = json.loads(line)["result"]
        assert doc["digest"] != first["digest"]
        marker = next(f for f in doc["flags"] if f["key"] == "env-marker")
        assert marker["defaultVariant"]["key"] == f"staging-{n}"
        assert arrived - committed < 0.2, f"stream update took {arrived - committed:.3f} s"
        first = doc


def test_sse_stream_and_digest_parameter(server: ServerThread, flag_repo: FlagRepo) -> None:
    current = server.get(V2.format(env="staging", what="snapshot")).headers["etag"]
    url = server.url + V2.format(env="staging", what="stream") + f"?digest={current}"
    reader = StreamReader(url, {"Accept": "text/event-stream"})
    _change_staging(flag_repo, "sse")
    _, id_line = reader.next()
    _, data_line = reader.next()
    new = server.get(V2.format(env="staging", what="snapshot")).headers["etag"]
    assert new != current
    assert id_line == f"id: {new[:9]}"
    assert json.loads(data_line.removeprefix("data: ")) == {"type": "refetchEvaluation", "etag": new}
    bad = server.get(V2.format(env="staging", what="stream") + "?digest=abc")
    assert bad.status_code == 400 and bad.json()["message"] == "digest must be a 40-character string"
    not_sse = server.get("/ofrep/v1/_stream/staging/ns1/events")
    assert not_sse.status_code == 406


def test_invalid_commit_keeps_last_good_namespace(server: ServerThread, flag_repo: FlagRepo) -> None:
    good = server.get(SNAP).headers["etag"]
    bad_commit = flag_repo.commit({"prod/ns1/features.yaml": "flags: [\n  - key: broken\n"}, "break ns1")

    def reloaded() -> dict:
        env = server.get("/health").json()["environments"]["production"]
        return env if env["commit"] == bad_commit else {}

    health = wait_until(reloaded, what="reload of the broken commit")
    assert health["namespaces"]["ns1"]["error"]
    assert health["namespaces"]["ns1"]["digest"] == good
    assert health["namespaces"]["billing"]["error"] is None
    assert server.get(SNAP).headers["etag"] == good
    r = server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "user-2"})
    assert r.json()["enabled"] is True
    metrics = server.get("/metrics").text
    assert 'flagdeck_namespace_invalid{flipt_environment="production",flipt_namespace="ns1"} 1.0' in metrics
    flag_repo.commit({"prod/ns1/features.yaml": ns1("fixed")}, "fix ns1")
    wait_until(lambda: server.get(SNAP).headers["etag"] != good, what="the fixed namespace")
    assert server.get("/health").json()["environments"]["production"]["namespaces"]["ns1"]["error"] is None


def test_health_reports_commit_and_reload(server: ServerThread, flag_repo: FlagRepo) -> None:
    from .harness import git

    body = server.get("/health").json()
    assert body["status"] == "SERVING"
    head = git(flag_repo.path, "rev-parse", "HEAD")
    for name in ("production", "staging"):
        env = body["environments"][name]
        assert env["commit"] == head and env["lastReload"] and env["lastError"] is None
    assert body["environments"]["production"]["default"] is True


def test_metrics_use_flipt_names(server: ServerThread) -> None:
    server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "user-2"})
    server.post("/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "nope"})
    server.get(SNAP)
    text = server.get("/metrics").text
    assert ('flipt_evaluations_requests_total{flipt_environment="production",flipt_flag="bool-rollout",'
            'flipt_namespace="ns1"} 1.0') in text
    assert 'flipt_evaluations_results_total{' in text and 'flipt_reason="MATCH_EVALUATION_REASON"' in text
    assert "flipt_evaluations_errors_total 1.0" in text
    assert "flipt_evaluations_latency_milliseconds_count 1.0" in text
    assert 'flipt_evaluations_snapshot_requests_total{flipt_environment="production",flipt_namespace="ns1"} 1.0' in text
    assert 'flipt_git_updates_total{flipt_environment="staging"} 1.0' in text
    assert "flipt_git_views_total 2.0" in text and "flipt_git_view_errors_total 0.0" in text


def test_openapi_document_lists_every_route(server: ServerThread) -> None:
    doc = server.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/evaluate/v1/variant", "/evaluate/v1/boolean", "/evaluate/v1/batch",
                 "/api/v1/namespaces/{namespace}/flags", "/internal/v1/evaluation/snapshot/namespace/{namespace}",
                 "/client/v2/environments/{environment}/namespaces/{namespace}/stream",
                 "/ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags", "/health", "/metrics",
                 "/environments/{url_env}/evaluate/v1/variant"):
        assert path in doc["paths"], path


def test_requests_during_a_burst_of_commits_always_see_a_whole_version(server: ServerThread,
                                                                        flag_repo: FlagRepo) -> None:
    """Reloads swap whole environments: every answer during a burst of commits is a complete, consistent version
    (status 200, a marker that some commit really had), and the last commit wins."""
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            while not stop.is_set():
                r = client.post("/evaluate/v1/variant", json={"namespaceKey": "ns1", "flagKey": "env-marker",
                                                              "entityId": "u"})
                answers.append((r.status_code, r.json().get("variantKey", r.text)))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    markers = [f"burst-{n}" for n in range(8)]
    for marker in markers:
        last = flag_repo.commit({"prod/ns1/features.yaml": ns1(marker)}, marker)
    wait_until(lambda: server.get("/health").json()["environments"]["production"]["commit"] == last,
               what="the last commit")
    wait_until(lambda: answers and answers[-1][1] == markers[-1], what="the last marker")
    stop.set()
    thread.join(5)
    assert all(status == 200 for status, _ in answers)
    assert {marker for _, marker in answers} <= {"production", *markers}
