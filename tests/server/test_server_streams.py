"""Snapshot streams at scale and at their edges: hundreds of streams all get a commit while the server keeps
answering, a client that vanished has its stream ended without waiting for a commit, a client that stops reading
gets the newest snapshot once it reads again (never a torn or reordered line), a namespace deleted under its
streams ends them with an error frame, and HTTP/1.0 clients get unchunked bytes. Clients are raw sockets speaking
HTTP/1.1 (or 1.0) by hand, so what is checked is the bytes on the wire."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx

from .conftest import ns1
from .harness import FlagRepo, ServerProcess, ServerThread, wait_until, write_config

STREAM = "/client/v2/environments/staging/namespaces/ns1/stream"
SNAPSHOT = "/client/v2/environments/staging/namespaces/ns1/snapshot"


class RawStream:
    """A stream read over asyncio's raw streams: `message()` is the next NDJSON line or SSE event (comments
    skipped), decoded from HTTP/1.1 chunks when the answer is chunked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, sse: bool):
        self.reader, self.writer, self.head, self.sse = reader, writer, head, sse
        self.chunked = b"transfer-encoding: chunked" in head.lower()
        self.buffer = bytearray()

    @classmethod
    async def open(cls, url: str, path: str, sse: bool, version: str = "1.1") -> RawStream:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        accept = "text/event-stream" if sse else "application/json"
        writer.write(f"GET {path} HTTP/{version}\r\nHost: {host}\r\nAccept: {accept}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(f"HTTP/{version} 200".encode()), head
        return cls(reader, writer, head, sse)

    async def message(self) -> bytes:
        separator = b"\n\n" if self.sse else b"\n"
        while True:
            end = self.buffer.find(separator)
            if end >= 0:
                found = bytes(self.buffer[:end])
                del self.buffer[:end + len(separator)]
                if self.sse and found.startswith(b":"):
                    continue
                return found
            await self._fill()

    async def _fill(self) -> None:
        if not self.chunked:
            data = await self.reader.read(1 << 16)
            if not data:
                raise EOFError("the server ended the stream")
            self.buffer += data
            return
        size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            raise EOFError("the server ended the stream")
        self.buffer += (await self.reader.readexactly(size + 2))[:-2]

    def close(self) -> None:
        self.writer.close()


def etag_of(event: bytes) -> str:
    return json.loads(event.split(b"data: ", 1)[1])["etag"]


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else min(needed, hard),
                                                    hard))


def streams_open(url: str) -> int:
    text = httpx.get(url + "/metrics", timeout=10).text
    line = next(x for x in text.splitlines() if x.startswith("flipt_evaluations_streams_in_progress "))
    return int(float(line.split()[1]))


async def _healthy(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer.startswith(b"HTTP/1.1 200")


def test_500_streams_all_get_a_commit_and_the_server_keeps_answering(tmp_path: Path, flag_repo: FlagRepo) -> None:
    raise_fd_limit(2048)
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--heartbeat", "0.2")
    try:
        asyncio.run(_fan_out(server.url, flag_repo, 500))
    finally:
        assert server.stop() == 0


async def _fan_out(url: str, flag_repo: FlagRepo, count: int) -> None:
    streams = await asyncio.gather(*(RawStream.open(url, STREAM, sse=i % 2 == 1) for i in range(count)))
    first = await asyncio.wait_for(asyncio.gather(*(s.message() for s in streams)), 30)
    before = httpx.get(url + SNAPSHOT, timeout=10).headers["etag"]
    assert all(etag_of(m) == before if s.sse else json.loads(m)["result"]["digest"] == before
               for s, m in zip(streams, first, strict=True))
    assert await _healthy(url)
    assert await asyncio.to_thread(streams_open, url) == count
    await asyncio.to_thread(flag_repo.commit, {"staging/ns1/features.yaml": ns1("fan-out")}, "change staging")
    after = await asyncio.wait_for(asyncio.gather(*(s.message() for s in streams)), 30)
    current = httpx.get(url + SNAPSHOT, timeout=10).headers["etag"]
    assert current != before
    for stream, got in zip(streams, after, strict=True):
        if stream.sse:
            assert etag_of(got) == current
        else:
            snapshot = json.loads(got)["result"]
            assert snapshot["digest"] == current and "fan-out" in got.decode()
    assert await _healthy(url)
    answer = httpx.post(url + "/evaluate/v1/variant", timeout=10, headers={"X-Flipt-Environment": "staging"},
                        json={"namespaceKey": "ns1", "flagKey": "env-marker", "entityId": "u", "context": {}})
    assert answer.json()["variantKey"] == "fan-out"
    for stream in streams:
        stream.close()
    await asyncio.to_thread(wait_until, lambda: streams_open(url) == 0, 10, 0.05, "every stream to end")


def test_a_vanished_client_s_stream_ends_without_a_commit(make_server: Callable[..., ServerThread]) -> None:
    """Nothing is ever written to an idle NDJSON stream (no keep-alive there), so only the heartbeat's look at the
    connections can notice that its client is gone."""
    server = make_server(heartbeat=0.05)

    async def scenario() -> None:
        ndjson = await RawStream.open(server.url, STREAM, sse=False)
        sse = await RawStream.open(server.url, STREAM, sse=True)
        await ndjson.message()
        await sse.message()
        assert await asyncio.to_thread(streams_open, server.url) == 2
        ndjson.close()
        sse.close()

    asyncio.run(scenario())
    wait_until(lambda: streams_open(server.url) == 0, timeout=3, what="the streams of the clients gone to end")


def big_namespace(marker: str, flags: int = 150) -> str:
    """About 700 KB of client snapshot; every flag's one variant is named `marker`."""
    lines = ['version: "1.6"', "namespace: ns1", "flags:"]
    blob = "x" * 4000
    for i in range(flags):
        lines += [f"  - key: f{i}", f"    name: F{i}", "    enabled: true", "    variants:",
                  f"      - {{key: {marker}, attachment: {{blob: {blob}}}}}", "    rules:",
                  f"      - {{segment: everyone, distributions: [{{variant: {marker}, rollout: 100}}]}}"]
    lines += ["segments:", "  - {key: everyone, name: Everyone, match_type: ALL_MATCH_TYPE}"]
    return "\n".join(lines) + "\n"


def whole_chunks(body: bytes) -> list[bytes]:
    """The complete chunks at the start of a chunked body."""
    found = []
    while b"\r\n" in body:
        head, rest = body.split(b"\r\n", 1)
        length = int(head, 16)
        if len(rest) < length + 2:
            break
        found.append(rest[:length])
        body = rest[length + 2:]
    return found


def version(line: bytes) -> str:
    return json.loads(line)["result"]["flags"][0]["rules"][0]["distributions"][0]["variantKey"]


VERSIONS = 9  # v0..v8: more than a socket's send buffer takes (up to 4 MB by default) while the client reads nothing


def test_a_client_that_stops_reading_gets_the_newest_snapshot_and_holds_no_one_up(
        make_server: Callable[..., ServerThread], flag_repo: FlagRepo) -> None:
    flag_repo.commit({"staging/ns1/features.yaml": big_namespace("v0")}, "big")
    server = make_server()
    wait_until(lambda: "v0" in server.get(SNAPSHOT).text, what="the big namespace")
    size = len(server.get(SNAPSHOT).content)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(f"GET {STREAM} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    received = bytearray()
    slow.settimeout(10)
    while b"\r\n\r\n" not in received or not whole_chunks(received.split(b"\r\n\r\n", 1)[1]):
        received += slow.recv(1 << 16)  # the first snapshot, whole; then this client stops reading

    async def follow() -> list[str]:
        """A client reading normally sees every version while the other one does not read."""
        seen = []
        fast = await RawStream.open(server.url, STREAM, sse=False)
        await fast.message()
        for n in range(1, VERSIONS):
            marker = f"v{n}"
            await asyncio.to_thread(flag_repo.commit, {"staging/ns1/features.yaml": big_namespace(marker)}, marker)
            while marker not in seen:
                line = await asyncio.wait_for(fast.message(), 10)
                seen.append(version(line))
        fast.close()
        return seen

    assert asyncio.run(follow()) == [f"v{n}" for n in range(1, VERSIONS)]
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # reading again, in larger windows
    lines: list[bytes] = []
    deadline = time.monotonic() + 20
    while not lines or f'"v{VERSIONS - 1}"'.encode() not in lines[-1]:
        assert time.monotonic() < deadline, f"the newest snapshot did not come: {[version(x) for x in lines]}"
        received += slow.recv(1 << 20)
        lines = whole_chunks(received.split(b"\r\n\r\n", 1)[1])
    slow.close()
    versions = [version(line) for line in lines]
    assert versions[0] == "v0" and versions[-1] == f"v{VERSIONS - 1}", versions
    assert versions == sorted(versions), "versions arrive in commit order, each line whole"
    assert len(versions) < VERSIONS, f"a client not reading is not sent every version ({size} bytes each): {versions}"


def test_a_deleted_namespace_ends_its_streams_with_an_error(server: ServerThread, flag_repo: FlagRepo) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        ndjson = await RawStream.open(server.url, STREAM, sse=False)
        sse = await RawStream.open(server.url, STREAM, sse=True)
        await ndjson.message()
        await sse.message()
        await asyncio.to_thread(flag_repo.commit, {"staging/ns1/features.yaml": None}, "delete ns1 in staging")
        errors = (await asyncio.wait_for(ndjson.message(), 10), await asyncio.wait_for(sse.message(), 10))
        for stream in (ndjson, sse):
            try:
                await asyncio.wait_for(stream.message(), 10)
                raise AssertionError("the stream went on after its error")
            except EOFError:
                pass
        return errors

    ndjson_error, sse_error = asyncio.run(scenario())
    message = 'evaluation snapshot for namespace "ns1" not found'
    assert json.loads(ndjson_error) == {"error": {"code": 5, "message": message, "details": []}}
    assert json.loads(sse_error.removeprefix(b"data: ")) == {"type": "error", "code": 5, "message": message}
    wait_until(lambda: streams_open(server.url) == 0, timeout=5, what="the streams to end")


def test_http_10_clients_get_the_stream_unchunked(server: ServerThread, flag_repo: FlagRepo) -> None:
    async def scenario() -> None:
        stream = await RawStream.open(server.url, STREAM, sse=False, version="1.0")
        assert not stream.chunked
        assert json.loads(await stream.message())["result"]["namespace"] == {"key": "ns1"}
        await asyncio.to_thread(flag_repo.commit, {"staging/ns1/features.yaml": ns1("unchunked")}, "change")
        assert "unchunked" in (await asyncio.wait_for(stream.message(), 10)).decode()
        stream.close()

    asyncio.run(scenario())


def test_a_burst_of_streams_up_to_the_connection_cap_is_all_served(tmp_path: Path, flag_repo: FlagRepo) -> None:
    """Connections accepted in a burst were counted twice for a moment (accepted-pending and open), so a burst
    below the cap got 503s; a burst up to the cap is served whole, and one more connection is refused."""
    raise_fd_limit(1024)
    cap = 150
    server = ServerProcess(write_config(tmp_path, flag_repo.path), "--max-connections", str(cap))

    async def burst(count: int) -> list[RawStream]:
        streams = await asyncio.gather(*(RawStream.open(server.url, STREAM, sse=i % 2 == 1) for i in range(count)))
        await asyncio.wait_for(asyncio.gather(*(s.message() for s in streams)), 30)
        return streams

    async def scenario() -> bytes:
        for count in (40, cap, cap):  # each burst once the one before has closed
            for stream in await burst(count):
                stream.close()
            await asyncio.sleep(0.3)
        streams = await burst(cap)
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {STREAM} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        refused = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        for stream in streams:
            stream.close()
        return refused

    try:
        assert asyncio.run(scenario()).startswith(b"HTTP/1.1 503")
    finally:
        assert server.stop() == 0
