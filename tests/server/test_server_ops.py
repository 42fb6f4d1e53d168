"""Operational behaviour: metrics that count every worker of `--workers N`, keep-alive comments on idle SSE streams
(none on NDJSON streams), CORS headers and the browser's preflight."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx

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
        # every scrape, whichever worker answers it, counts all of them (a sibling's figures within 0.5 s); without
        # the exchange no scrape could, since each worker served only a part
        wait_until(lambda: all(_counted(server.url) == sent for _ in range(6)), timeout=5,
                   what=f"every scrape to count {sent} requests")
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


def test_idle_ndjson_stream_stays_silent(make_server: Callable[..., ServerThread]) -> None:
    """No keep-alive lines on NDJSON: flipt-client's engine fails on a blank line that arrives in a read of its
    own (seen as `EOF while parsing a value` when this server sent them)."""
    server = make_server(heartbeat=0.05)
    reader = StreamReader(server.url + V2.format(env="staging", what="stream"))
    assert reader.next()[1].startswith('{"result":')
    time.sleep(0.3)
    assert reader.lines.empty()


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


def test_cors_for_listed_origins_only(make_server: Callable[..., ServerThread]) -> None:
    """With `--cors-origin`, a listed origin is echoed (lane and ordinary answers, errors, 304s, preflights), an
    unlisted one gets no Allow-Origin, and every answer varies by Origin."""
    server = make_server(cors_origins=("https://app.example", "https://admin.example"))
    listed, other = {"Origin": "https://admin.example"}, {"Origin": "https://evil.example"}
    calls = [lambda h: server.post("/evaluate/v1/variant", VARIANT, headers=h),  # the hot lane
             lambda h: server.get(SNAP, headers=h),  # the hot lane
             lambda h: server.post("/evaluate/v1/variant", {"flagKey": 1}, headers=h),
             lambda h: server.get("/health", headers=h), lambda h: server.get("/nowhere", headers=h)]
    for call in calls:
        allowed, refused, bare = call(listed).headers, call(other).headers, call({}).headers
        assert allowed["access-control-allow-origin"] == "https://admin.example"
        assert allowed["access-control-expose-headers"] == "ETag" and allowed["vary"] == "Origin"
        assert "access-control-allow-origin" not in refused and refused["vary"] == "Origin"
        assert "access-control-allow-origin" not in bare
    etag = server.get(SNAP).headers["etag"]
    not_modified = server.get(SNAP, headers={"If-None-Match": etag, **listed})
    assert not_modified.status_code == 304
    assert not_modified.headers["access-control-allow-origin"] == "https://admin.example"
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    preflight = httpx.options(server.url + "/evaluate/v1/variant", headers={**asked, **listed}, timeout=5)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://admin.example"
    refused_preflight = httpx.options(server.url + "/evaluate/v1/variant", headers={**asked, **other}, timeout=5)
    assert "access-control-allow-origin" not in refused_preflight.headers


def test_cors_can_be_turned_off(make_server: Callable[..., ServerThread]) -> None:
    server = make_server(cors=False)
    assert "access-control-allow-origin" not in server.post("/evaluate/v1/variant", VARIANT).headers
    assert httpx.options(server.url + "/evaluate/v1/variant", timeout=5).status_code == 405


def test_command_line_options(tmp_path: Path, flag_repo: FlagRepo) -> None:
    origin = ServerProcess(write_config(tmp_path, flag_repo.path), "--cors-origin", "https://app.example")
    try:
        r = httpx.get(origin.url + SNAP, headers={"Origin": "https://app.example"}, timeout=5)
        assert r.headers["access-control-allow-origin"] == "https://app.example"
    finally:
        assert origin.stop() == 0
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--no-cors", "--heartbeat", "0.05")
    try:
        assert "access-control-allow-origin" not in httpx.get(server.url + SNAP, timeout=5).headers
        current = httpx.get(server.url + V2.format(env="staging", what="snapshot"), timeout=5).headers["etag"]
        reader = StreamReader(server.url + V2.format(env="staging", what="stream") + f"?digest={current}",
                              {"Accept": "text/event-stream"})
        assert reader.next()[1] == ": ping"
    finally:
        assert server.stop() == 0
