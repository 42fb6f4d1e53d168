"""Operational behaviour: metrics that count every worker of `--workers N`, keep-alive lines on idle streams (and a
real streaming client that tolerates them), CORS headers and the browser's preflight."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
from flipt_client import FliptClient
from flipt_client.models import ClientOptions, FetchMode

from .conftest import ns1
from .harness import FlagRepo, ServerProcess, ServerThread, wait_until, write_config
from .test_server_snapshot import SNAP, V2, StreamReader

VARIANT = {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-1", "context": {"plan": "pro"}}
REQUESTS = re.compile(r'flipt_evaluations_requests_total\{flipt_environment="production",flipt_flag="variant-seg",'
                      r'flipt_namespace="ns1"\} ([\d.]+)')


def _counted(url: str) -> float:
    with httpx.Client(timeout=5) as fresh:  # a new connection: any worker may answer
        found = REQUESTS.search(fresh.get(url + "/metrics").text)
    return float(found.group(1)) if found else 0.0


def test_a_scrape_counts_the_requests_of_every_worker(tmp_path: Path, flag_repo: FlagRepo) -> None:
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--workers", "2")
    try:
        workers: set[str] = set()  # a worker is known by the random per-process prefix of its request ids
        sent = 0
        while len(workers) < 2 or sent < 20:
            assert sent < 2000, "the second worker never answered"
            with httpx.Client(timeout=5) as fresh:  # a new connection each time, so both workers take some
                body = fresh.post(server.url + "/evaluate/v1/variant", json=VARIANT).json()
            workers.add(body["requestId"].rsplit("-", 2)[0])
            sent += 1
        # every scrape, whichever worker answers it, counts all of them (the siblings' figures within 0.5 s)
        wait_until(lambda: _counted(server.url) == sent, timeout=5, what=f"a scrape counting {sent} requests")
        assert all(_counted(server.url) == sent for _ in range(6))
    finally:
        assert server.stop() == 0


def test_idle_sse_stream_gets_comment_pings(make_server: Callable[..., ServerThread], flag_repo: FlagRepo) -> None:
    server = make_server(heartbeat=0.05)
    current = server.get(V2.format(env="staging", what="snapshot")).headers["etag"]
    url = server.url + V2.format(env="staging", what="stream") + f"?digest={current}"
    reader = StreamReader(url, {"Accept": "text/event-stream"})
    pings = [reader.next()[1] for _ in range(6)]  # nothing changed: only keep-alive comments and their blank lines
    assert pings.count(": ping") == 3 and pings.count("") == 3
    flag_repo.commit({"staging/ns1/features.yaml": ns1("after-pings")}, "change staging")
    line = reader.next()[1]
    while line in (": ping", ""):
        line = reader.next()[1]
    assert line.startswith("id: ")


def test_idle_ndjson_stream_gets_blank_lines(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(heartbeat=0.05)
    reader = StreamReader(server.url + V2.format(env="staging", what="stream"))
    assert reader.next()[1].startswith('{"result":')
    assert [reader.next()[1] for _ in range(3)] == ["", "", ""]


def test_flipt_client_streaming_tolerates_the_blank_lines(make_server: Callable[..., ServerThread],
                                                          flag_repo: FlagRepo) -> None:
    server = make_server(heartbeat=0.05)
    client = FliptClient(ClientOptions(url=server.url, namespace="ns1", environment="staging",
                                       fetch_mode=FetchMode.STREAMING, update_interval=1))
    try:
        assert client.evaluate_variant("env-marker", "u", {}).variant_key == "staging"
        wait_until(lambda: "flipt_evaluations_streams_in_progress 1.0" in server.get("/metrics").text,
                   timeout=10, what="the stream request")
        time.sleep(0.5)  # about ten blank lines reach the client
        flag_repo.commit({"staging/ns1/features.yaml": ns1("after-blank-lines")}, "change staging")
        wait_until(lambda: client.evaluate_variant("env-marker", "u", {}).variant_key == "after-blank-lines",
                   timeout=3, what="the streaming client to see the commit")
        # the same stream carried it: the client neither reconnected nor fell back to polling
        text = server.get("/metrics").text
        assert 'flipt_evaluations_stream_requests_total{flipt_environment="staging",flipt_namespace="ns1"} 1.0' \
            in text
        assert len([s for s in server.seen if s.path.startswith("/internal/v1/evaluation/snapshot")]) <= 1
    finally:
        client.close()


def test_cors_headers_on_answers_and_errors(server: ServerThread) -> None:
    for response in (server.post("/evaluate/v1/variant", VARIANT), server.get(SNAP),
                     server.post("/ofrep/v1/evaluate/flags/variant-seg", {"context": {"targetingKey": "u"}},
                                 headers={"X-Flipt-Namespace": "ns1"}),
                     server.post("/evaluate/v1/variant", {"flagKey": 1}), server.get("/nowhere"),
                     server.get("/health")):
        assert response.headers["access-control-allow-origin"] == "*", response.url
        assert response.headers["access-control-expose-headers"] == "ETag", response.url
    etag = server.get(SNAP).headers["etag"]
    not_modified = server.get(SNAP, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["access-control-allow-origin"] == "*"


def test_preflight_is_answered_for_known_paths_only(server: ServerThread) -> None:
    asked = {"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}
    for path in ("/evaluate/v1/variant", "/environments/staging/ofrep/v1/evaluate/flags/x", SNAP):
        r = httpx.options(server.url + path, headers=asked, timeout=5)
        assert r.status_code == 204, path
        assert r.headers["access-control-allow-origin"] == "*"
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-allow-headers"] == "authorization, content-type"
    unknown = httpx.options(server.url + "/nowhere", headers=asked, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["code"] == 5


def test_cors_can_be_turned_off(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(cors=False)
    assert "access-control-allow-origin" not in server.post("/evaluate/v1/variant", VARIANT).headers
    assert httpx.options(server.url + "/evaluate/v1/variant", timeout=5).status_code == 405
