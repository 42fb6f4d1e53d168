"""The hot lane's start-up check: real requests through the lane and through aiohttp's ordinary path, compared.

The lane (hotlane.py) drives aiohttp's `RequestHandler` from the inside, so a different aiohttp can break it in ways
no name check sees. Before the server accepts anything, `self_test` feeds the same bytes to two connection
handlers of the real application, on in-memory transports: a `HotLaneHandler` and a plain `Connection`. The bytes
hold pipelined requests (JSON errors of the evaluation routes, a snapshot with `Origin` and `If-None-Match`) and one
whose body arrives in a second write. Every answer must come from the lane, and each must equal the ordinary path's
byte for byte but for the `Date` line. The requests name a random namespace and environment, so the answers are
errors that do not depend on the flags served, and they are not counted in the metrics or the access log.
"""

from __future__ import annotations

import asyncio
import copy
import os
from typing import Any

from aiohttp import web

CHECK_TIMEOUT = 5.0  # seconds for either path to answer everything


class _Memory(asyncio.Transport):
    """A transport that keeps what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.data += chunk

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 0), "sockname": ("127.0.0.1", 0)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return 0


def _request(method: str, path: str, body: bytes | None, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: lane-check", *headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def check_requests() -> list[bytes]:
    """The check's writes: three pipelined requests and the headers of a fourth, then the fourth's body."""
    name = "lane-check-" + os.urandom(6).hex()
    evaluation = b'{"namespaceKey": "%s", "flagKey": "f", "entityId": "e"}' % name.encode()
    late = _request("POST", f"/environments/{name}/evaluate/v1/batch", b"[]")
    return [
        _request("POST", "/evaluate/v1/variant", evaluation)
        + _request("POST", "/evaluate/v1/boolean", b"{not json")
        + _request("GET", f"/internal/v1/evaluation/snapshot/namespace/{name}", None,
                   "Origin: https://lane-check.invalid", 'If-None-Match: "0"')
        + late[:-2],
        late[-2:],
    ]


def split_answers(data: bytes) -> list[bytes]:
    """HTTP/1.1 answers framed by Content-Length (none on a 304), each without its `Date` line."""
    answers: list[bytes] = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return answers
        head = data[:end].split(b"\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head if line.lower().startswith(b"content-length:")),
                      0)
        if len(data) < end + 4 + length:
            return answers
        answers.append(b"\r\n".join(line for line in head if not line.lower().startswith(b"date:"))
                       + b"\r\n\r\n" + data[end + 4:end + 4 + length])
        data = data[end + 4 + length:]


async def _exchange(protocol: Any, writes: list[bytes], expected: list[int]) -> bytes:
    """Feed `writes` to `protocol`, each once `expected[i]` answers to the ones before it have been written."""
    transport = _Memory()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CHECK_TIMEOUT
    protocol.connection_made(transport)
    try:
        while protocol._waiter is None:  # the handler task starts, then waits for a request: the lane's moment
            if loop.time() > deadline:
                raise TimeoutError(f"the connection's task did not start within {CHECK_TIMEOUT:g} s")
            await asyncio.sleep(0)
        for data, count in zip(writes, expected, strict=True):
            protocol.data_received(data)
            turns = 0
            while len(split_answers(bytes(transport.data))) < count:
                if loop.time() > deadline:
                    raise TimeoutError(f"{count} answers not written within {CHECK_TIMEOUT:g} s")
                turns += 1
                await asyncio.sleep(0 if turns < 100 else 0.001)  # the handler task's turns, then a breather
    finally:
        protocol.connection_lost(None)
    return bytes(transport.data)


async def self_test(connections: Any, lane: Any) -> str | None:
    """None when the lane answers the check's requests exactly as the ordinary path does; otherwise why not.
    `connections` is hotlane's protocol factory, `lane` the application's `HotLane`."""
    from evaluator.server.connection import Connection
    from evaluator.server.hotlane import HotLaneHandler

    server: web.Server = connections._server
    kwargs = {**server._kwargs, "access_log": None, "loop": server._loop}
    limits, headers = connections._limits, connections._headers
    answered: list[object] = []
    probe = copy.copy(lane)
    probe.count = answered.append  # the check's answers are not the metrics'
    writes = check_requests()
    expected = [3, 4]
    try:
        mine = await _exchange(HotLaneHandler(server, limits, headers, probe, **kwargs), writes, expected)
        theirs = await _exchange(Connection(server, limits, headers, **kwargs), writes, expected)
    except Exception as exc:
        return f"its start-up check failed on this aiohttp: {exc!r}"
    if len(answered) != expected[-1]:
        return f"it answered {len(answered)} of its start-up check's {expected[-1]} requests"
    for number, (lane_answer, answer) in enumerate(zip(split_answers(mine), split_answers(theirs),
                                                       strict=True), 1):
        if lane_answer != answer:
            return (f"its answer to start-up check request {number} differs from aiohttp's: "
                    f"{lane_answer[:400]!r} != {answer[:400]!r}")
    return None
