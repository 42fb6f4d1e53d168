"""The hot lane (evaluator/server/hotlane.py) answers exactly as aiohttp's ordinary path does, over raw sockets:
same status, headers and body for successes and errors, ordered answers to pipelined requests, and the ordinary
path for everything it must not take (partial bodies, HTTP/1.0, Connection: close, Expect, query strings, limits).
Two real servers on one repository, one with `hot_lane=False`, are compared request by request."""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
from typing import Any

import aiohttp
import pytest

from evaluator.server import create_app
from evaluator.server.context import CONTEXT
from evaluator.server.hotlane import WAIT_LIMIT, HotLane, HotLaneRunner
from evaluator.server.lanecheck import self_test

from .harness import ROOT, ServerThread, hot_answers
from .test_server_auth import AUTH

VARIANT = {"namespaceKey": "ns1", "flagKey": "variant-seg", "entityId": "user-1", "context": {"plan": "pro"}}
VOLATILE = {"requestId", "requestDurationMillis", "timestamp", "createdAt", "updatedAt"}  # snapshots: load time


def request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            version: str = "1.1") -> bytes:
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/{version}", "Host: test"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if raw or method == "POST":
        lines.append(f"Content-Length: {len(raw)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def comparable(self) -> tuple[int, list[tuple[str, str]], Any]:
        """Status, headers in the order written (the Date and Content-Length values left out), parsed body."""
        assert int(self.headers.get("content-length", "0")) == len(self.body)
        headers = [(k, "" if k in ("date", "content-length") else v) for k, v in self.headers.items()]
        return self.status, headers, _strip(json.loads(self.body)) if self.body else b""


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def read_answers(sock: socket.socket, count: int) -> list[Answer]:
    """`count` final HTTP/1.1 answers from `sock` (bodies framed by Content-Length; none on a 304)."""
    buffer, answers = b"", []
    sock.settimeout(10)
    while len(answers) < count:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end >= 0:
            lines = buffer[:head_end].decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            if len(buffer) >= head_end + 4 + length:
                body = buffer[head_end + 4:head_end + 4 + length]
                status = int(lines[0].split()[1])
                if status >= 200:  # not an interim answer (100 Continue)
                    answers.append(Answer(status, headers, body))
                buffer = buffer[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(answers)} answers")
        buffer += chunk
    return answers


def exchange(server: ServerThread, *messages: bytes, together: bool = True) -> list[Answer]:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        if together:
            sock.sendall(b"".join(messages))
            return read_answers(sock, len(messages))
        answers = []
        for message in messages:
            sock.sendall(message)
            answers += read_answers(sock, 1)
        return answers


@pytest.fixture
def pair(make_server: Any) -> tuple[ServerThread, ServerThread]:
    return make_server(), make_server(hot_lane=False)


CASES = [
    ("variant", "/evaluate/v1/variant", VARIANT, {}),
    ("boolean", "/evaluate/v1/boolean", {"namespaceKey": "ns1", "flagKey": "bool-rollout", "entityId": "u-2"}, {}),
    ("batch", "/evaluate/v1/batch", {"requests": [VARIANT, {**VARIANT, "flagKey": "missing"},
                                                  {**VARIANT, "namespaceKey": "nope"}]}, {}),
    ("mixed batch", "/evaluate/v1/batch", {"request_id": "r-1", "requests": [
        {**VARIANT, "environmentKey": "staging", "flagKey": "env-marker", "requestId": "e-1"},
        {"flag_key": "bool-rollout", "entity_id": "u-2", "namespace_key": "ns1", "context": {"n": 3, "b": True}},
        {"flagKey": "variant-seg", "entityId": None, "namespaceKey": "ns1", "context": None},
        {"flagKey": "variant-seg", "entityId": "u"}]}, {}),
    ("bad batch entry", "/evaluate/v1/batch", {"requests": [VARIANT, {"flagKey": 7}, "x"]}, {}),
    ("env prefix", "/environments/staging/evaluate/v1/variant", {**VARIANT, "flagKey": "env-marker"}, {}),
    ("env header", "/evaluate/v1/variant", {**VARIANT, "flagKey": "env-marker"}, {"X-Flipt-Environment": "staging"}),
    ("unknown env", "/environments/nowhere/evaluate/v1/variant", VARIANT, {}),
    ("unknown flag", "/evaluate/v1/variant", {**VARIANT, "flagKey": "missing"}, {}),
    ("unknown namespace", "/evaluate/v1/boolean", {**VARIANT, "namespaceKey": "nope"}, {}),
    ("bad JSON", "/evaluate/v1/variant", b"{not json", {}),
    ("wrong types", "/evaluate/v1/variant", {"flagKey": 1, "context": {"a": [1]}}, {}),
    ("not an object", "/evaluate/v1/batch", b"[1, 2]", {}),
    ("empty body", "/evaluate/v1/variant", b"", {}),
    ("ofrep", "/ofrep/v1/evaluate/flags/variant-seg", {"context": {"targetingKey": "u", "plan": "pro"}},
     {"X-Flipt-Namespace": "ns1"}),
    ("ofrep missing", "/ofrep/v1/evaluate/flags/missing", {"context": {"targetingKey": "u"}},
     {"X-Flipt-Namespace": "ns1"}),
    ("ofrep bulk", "/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "u"}}, {"X-Flipt-Namespace": "ns1"}),
    ("ofrep env prefix", "/environments/staging/ofrep/v1/evaluate/flags/env-marker",
     {"context": {"targetingKey": "u"}}, {"X-Flipt-Namespace": "ns1"}),
]


SNAPSHOT = "/internal/v1/evaluation/snapshot/namespace/ns1"
GET_CASES = [
    ("snapshot", SNAPSHOT, {}),
    ("snapshot v2", "/client/v2/environments/staging/namespaces/ns1/snapshot", {}),
    ("snapshot env prefix", "/environments/staging" + SNAPSHOT, {}),
    ("snapshot env header", SNAPSHOT, {"X-Flipt-Environment": "staging"}),
    ("snapshot unknown namespace", "/internal/v1/evaluation/snapshot/namespace/nope", {}),
    ("snapshot unknown environment", "/client/v2/environments/nowhere/namespaces/ns1/snapshot", {}),
    ("snapshot stale etag", SNAPSHOT, {"If-None-Match": '"0000"'}),
    ("snapshot reference", SNAPSHOT + "?reference=main", {}),  # accepted and ignored, as by Flipt v2
]


def test_hot_lane_answers_as_aiohttp_does(pair: tuple[ServerThread, ServerThread]) -> None:
    hot, ordinary = pair
    before = hot_answers(hot.url)
    messages = [(name, request("POST", path, body, headers)) for name, path, body, headers in CASES]
    messages += [(name, request("GET", path, None, headers)) for name, path, headers in GET_CASES]
    for name, message in messages:
        mine, theirs = (exchange(server, message)[0] for server in pair)
        assert mine.comparable() == theirs.comparable(), name
        assert mine.headers["date"] and mine.headers["server"] == theirs.headers["server"]
    assert hot_answers(hot.url) - before == len(messages)  # every case above was the lane's
    assert hot_answers(ordinary.url) == 0


def test_snapshot_etag_gives_304_both_ways(pair: tuple[ServerThread, ServerThread]) -> None:
    etag = exchange(pair[0], request("GET", SNAPSHOT))[0].headers["etag"]
    for server in pair:
        again = exchange(server, request("GET", SNAPSHOT, None, {"If-None-Match": etag}))[0]
        assert (again.status, again.headers["etag"], again.body) == (304, etag, b"")
        assert again.headers["access-control-allow-origin"] == "*" and "content-type" not in again.headers


def test_ofrep_etag_gives_304_both_ways(pair: tuple[ServerThread, ServerThread]) -> None:
    path, body, headers = next(case[1:] for case in CASES if case[0] == "ofrep")
    first = exchange(pair[0], request("POST", path, body, headers))[0]
    etag = first.headers["etag"]
    for server in pair:
        again = exchange(server, request("POST", path, body, {**headers, "If-None-Match": etag}))[0]
        assert (again.status, again.headers["etag"], again.body) == (304, etag, b"")
        assert again.headers["access-control-allow-origin"] == "*" and "content-type" not in again.headers


def test_authentication_is_the_same_on_the_lane(make_server: Any) -> None:
    servers = [make_server(AUTH.format(evaluation="false", ofrep="false"), hot_lane=lane) for lane in (True, False)]
    for token in (None, "wrong", "0th3r", "s3cr3t"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answers = [exchange(server, request("POST", "/evaluate/v1/variant", VARIANT, headers))[0]
                   for server in servers]
        assert answers[0].comparable() == answers[1].comparable(), token
    cookie = {"Cookie": 'theme=dark; flipt_client_token="s3cr3t"'}
    assert exchange(servers[0], request("POST", "/evaluate/v1/variant", VARIANT, cookie))[0].status == 200


def test_pipelined_requests_are_answered_in_order(server: ServerThread) -> None:
    flags = ["variant-seg", "variant-seg-dflt", "env-marker"]
    evaluations = [request("POST", "/evaluate/v1/variant", {**VARIANT, "flagKey": f}) for f in flags]
    mixed = [evaluations[0], request("GET", "/health"), evaluations[1],
             request("GET", "/internal/v1/evaluation/snapshot/namespace/ns1"), evaluations[2]]
    answers = exchange(server, *mixed)
    assert [a.status for a in answers] == [200] * 5
    assert [json.loads(answers[i].body)["flagKey"] for i in (0, 2, 4)] == flags
    assert "production" in json.loads(answers[1].body)["environments"]
    assert "flags" in json.loads(answers[3].body)
    many = exchange(server, *(evaluations * 40))  # more than aiohttp queues before pausing the socket
    assert [json.loads(a.body)["flagKey"] for a in many] == flags * 40


def test_what_the_lane_leaves_to_aiohttp_is_still_answered(server: ServerThread) -> None:
    body = json.dumps(VARIANT).encode()
    before = hot_answers(server.url)
    padded = json.dumps({**VARIANT, "pad": "x" * (WAIT_LIMIT + 1)}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:  # a body arriving after its headers
        for content in (body, padded):  # small: awaited by the lane; large: left to aiohttp
            message = request("POST", "/evaluate/v1/variant", content)
            sock.sendall(message[:-len(content)])
            time.sleep(0.1)
            sock.sendall(message[-len(content):])
            assert json.loads(read_answers(sock, 1)[0].body)["flagKey"] == "variant-seg"
    assert hot_answers(server.url) == before + 1
    before += 1
    left = [
        request("POST", "/evaluate/v1/%76ariant", body),
        request("POST", "/evaluate/v1/variant", body, {"Expect": "100-continue"}),
        request("POST", "/evaluate/v1/variant", b"x" * (2 << 20)),
    ]
    statuses = [exchange(server, message)[0].status for message in left]
    assert statuses[:2] == [200, 200] and statuses[2] == 413
    assert hot_answers(server.url) == before  # none of these was the lane's
    for version, headers in (("1.0", {}), ("1.1", {"Connection": "close"})):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(request("POST", "/evaluate/v1/variant", body, headers, version))
            answer = read_answers(sock, 1)[0]
            assert answer.status == 200 and sock.recv(1) == b""  # answered, then closed by the server
    assert hot_answers(server.url) == before


def test_the_access_log_sees_lane_answers(server: ServerThread) -> None:
    exchange(server, request("POST", "/environments/staging/evaluate/v1/variant", VARIANT, {"X-Trace": "t1"}))
    seen = server.requests_to("/environments/staging/evaluate/v1/variant")[-1]
    assert (seen.method, seen.status, seen.headers["x-trace"]) == ("POST", 200, "t1")


def test_the_lane_restarts_the_keepalive_timer(make_server: Any) -> None:
    """Each answer restarts the idle timeout (3 s here): requests 1.6 s apart keep the connection open past it,
    and the server closes the connection once it has been idle for the timeout."""
    server = make_server(keepalive_timeout=3.0)
    before = hot_answers(server.url)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        for _ in range(3):
            sock.sendall(request("POST", "/evaluate/v1/variant", VARIANT))
            assert read_answers(sock, 1)[0].status == 200
            time.sleep(1.6)
        sock.settimeout(10)
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < 6
    assert hot_answers(server.url) - before == 3


def test_batch_entries_in_every_spelling(server: ServerThread) -> None:
    body = next(case[2] for case in CASES if case[0] == "mixed batch")
    answer = exchange(server, request("POST", "/evaluate/v1/batch", body))[0]
    data = json.loads(answer.body)
    assert data["requestId"] == "r-1"
    marker, boolean, variant, no_namespace = data["responses"]
    assert marker["variantResponse"]["variantKey"] == "staging" and marker["variantResponse"]["requestId"] == "e-1"
    assert boolean["type"] == "BOOLEAN_EVALUATION_RESPONSE_TYPE" and boolean["booleanResponse"]["flagKey"] == "bool-rollout"
    assert variant["variantResponse"]["flagKey"] == "variant-seg"  # null entity id and context read as absent
    assert no_namespace["errorResponse"] == {"flagKey": "variant-seg", "namespaceKey": "default",
                                             "reason": "NOT_FOUND_ERROR_EVALUATION_REASON"}
    bad = exchange(server, request("POST", "/evaluate/v1/batch", {"requests": [VARIANT, {"flagKey": 7}, "x"]}))[0]
    assert bad.status == 400
    assert json.loads(bad.body)["message"] == "invalid values for key(s) in json body: flagKey, requests[2]"


def test_fragmented_and_pipelined_streams_get_the_same_answers(pair: tuple[ServerThread, ServerThread]) -> None:
    """A stream of mixed requests (lane and non-lane, small and large bodies) cut into random pieces and sent with
    small pauses: each server answers every request, in order, and both answer alike."""
    rng = random.Random(4)
    menu = [request("POST", path, body, headers) for _, path, body, headers in CASES]
    menu += [request("GET", path, None, headers) for _, path, headers in GET_CASES]
    menu += [request("GET", "/api/v1/namespaces/ns1/flags"), request("POST", "/evaluate/v1/variant?x=1", VARIANT),
             request("POST", "/evaluate/v1/variant", {**VARIANT, "pad": "p" * (WAIT_LIMIT * 2)})]
    before = hot_answers(pair[0].url)
    for _ in range(3):
        stream = [rng.choice(menu) for _ in range(30)]
        data = b"".join(stream)
        cuts = sorted(rng.sample(range(1, len(data)), 25))
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        answers = []
        for server in pair:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                for piece in pieces:
                    sock.sendall(piece)
                    time.sleep(rng.choice((0, 0, 0.002)))
                answers.append([a.comparable() for a in read_answers(sock, len(stream))])
        assert answers[0] == answers[1]
    assert hot_answers(pair[0].url) > before


def test_listed_cors_origins_answer_alike(make_server: Any) -> None:
    servers = [make_server(cors_origins=("https://app.example",), hot_lane=lane) for lane in (True, False)]
    for origin in ("https://app.example", "https://other.example"):
        for message in (request("POST", "/evaluate/v1/variant", VARIANT, {"Origin": origin}),
                        request("GET", SNAPSHOT, None, {"Origin": origin})):
            mine, theirs = (exchange(server, message)[0] for server in servers)
            assert mine.comparable() == theirs.comparable(), origin
    assert hot_answers(servers[0].url) == 4


def test_a_chunked_body_is_read_alike(pair: tuple[ServerThread, ServerThread]) -> None:
    body = json.dumps(VARIANT).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:20], body[20:])) + b"0\r\n\r\n"
    message = (b"POST /evaluate/v1/variant HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\n\r\n" + chunks)
    before = hot_answers(pair[0].url)
    mine, theirs = (exchange(server, message)[0] for server in pair)
    assert mine.status == 200 and mine.comparable() == theirs.comparable()
    assert json.loads(mine.body)["flagKey"] == "variant-seg"
    assert hot_answers(pair[0].url) == before + 1


def test_a_thousand_pipelined_requests_in_random_pieces(pair: tuple[ServerThread, ServerThread],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """1,000 requests, most of them the lane's, written on one connection in pieces cut at random points (some
    pieces hold hundreds of complete requests, more than aiohttp queues before it pauses reading): every one is
    answered, in order, as the ordinary path answers it, and nothing is logged (the lane once recursed until
    RecursionError once 32 requests came in one write, dropping the connection with a long traceback)."""
    caplog.set_level(logging.DEBUG)
    rng = random.Random(12)
    menu = [request("POST", path, body, headers) for name, path, body, headers in CASES
            if name in ("variant", "boolean", "batch", "mixed batch", "env prefix", "ofrep")]
    menu += [request("GET", SNAPSHOT), request("GET", "/api/v1/namespaces/ns1/flags")]  # the last not the lane's
    stream = rng.choices(menu[:-1], k=500) + rng.choices(menu, weights=[10] * (len(menu) - 1) + [1], k=500)
    data = b"".join(stream)
    cuts = sorted(rng.sample(range(1, len(data)), 40))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]

    def write(sock: socket.socket) -> None:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.005)  # each piece its own read on the server

    answers = []
    for server in pair:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            writer = threading.Thread(target=write, args=(sock,), daemon=True)
            writer.start()  # written while the answers are read, so neither side waits for the other's buffer
            answers.append([a.comparable() for a in read_answers(sock, len(stream))])
            writer.join(10)
    assert answers[0] == answers[1]
    assert [a[0] for a in answers[0]] == [200] * len(stream)
    assert hot_answers(pair[0].url) >= 300  # the lane's share: all the first half but for a slow reader
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, [r.getMessage()[:200] for r in problems[:3]]


def test_the_lane_is_on_with_the_pinned_aiohttp(make_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The lane drives aiohttp's internals: pyproject.toml pins the exact version it is tested against, and on
    that version its start-up check passes (on another, the lane turns itself off and the suite fails here)."""
    pin = re.search(r'"aiohttp==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin and aiohttp.__version__ == pin.group(1), "aiohttp is not the version the hot lane is pinned to"
    server = make_server()
    assert "hot lane off" not in caplog.text
    before = hot_answers(server.url)
    assert exchange(server, request("POST", "/evaluate/v1/variant", VARIANT))[0].status == 200
    assert hot_answers(server.url) == before + 1


class _Misheard(HotLane):
    """A lane with a fault injected: one header more than aiohttp writes."""

    def head(self, status: int, length: int, etag: str | None, headers: Any) -> bytes:
        return super().head(status, length, etag, headers).replace(b"\r\n\r\n", b"\r\nX-Extra: 1\r\n\r\n")


class _Deaf(HotLane):
    """A lane with a fault injected: it takes nothing."""

    def route(self, method: str, path: str) -> None:
        return None


async def test_the_start_up_check_turns_a_faulty_lane_off(server: ServerThread) -> None:
    """The check compares real answers: a lane that writes another header, or answers nothing, is reported (and
    HotLaneRunner then serves without it); the application's own lane passes."""
    app = create_app(server.store, server.config)
    runner = HotLaneRunner(app)
    await runner.setup()
    try:
        connections, ctx = runner.server, app[CONTEXT]
        assert connections.lane is not None
        assert await self_test(connections, HotLane(ctx)) is None
        differs = await self_test(connections, _Misheard(ctx))
        assert differs is not None and "start-up check request 1 differs from aiohttp's" in differs
        assert "X-Extra" in differs
        assert await self_test(connections, _Deaf(ctx)) == "it answered 0 of its start-up check's 4 requests"
        assert ctx.metrics.hot_lane.counts == {}  # nor are the check's answers counted
    finally:
        await runner.cleanup()
