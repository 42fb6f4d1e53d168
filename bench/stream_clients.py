"""A lean process holding thousands of snapshot streams (NDJSON and SSE) open against an evaluator, for
bench/streams.py and bench/soak.py. Run as `python -m bench.stream_clients HOST PORT PATH NDJSON SSE` from the
project root; it is driven by one command per line on stdin and answers one JSON object per line on stdout:

- (on start) `{"ready": n, "failed": k}` once every stream has received its first snapshot (or failed);
- `mark MARKER` -> `{"marked": n}`: from now on, the next message of each stream is the one to time; an NDJSON
  line must contain MARKER, an SSE event must carry an ETag other than the stream's previous one (else an error);
- `collect SECONDS` -> `{"times": [...], "missing": k, ...}`: waits up to SECONDS until every open stream has its
  message, then the monotonic arrival times (CLOCK_MONOTONIC is shared by every process on the machine);
- `stats` -> counters: open, closed (a stream the server ended), errors, messages, pings;
- `quit`.

Each stream is an `asyncio.Protocol` with a hand-written HTTP/1.1 request and a small chunked decoder: no client
library, so 10,000 streams cost the client process little and the server is what is measured."""

from __future__ import annotations

import asyncio
import resource
import sys
import time

import orjson

CONNECTING = 200  # connections being opened at once (below the server's listen backlog)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class Clients:
    def __init__(self, total: int):
        self.total = total
        self.streams: list[Stream] = []
        self.started = 0  # streams that received their first message, or failed
        self.all_started = asyncio.Event()
        self.marker = b""
        self.pending = 0  # marked streams still waiting for their message
        self.all_arrived = asyncio.Event()
        self.closed = self.errors = self.messages = self.pings = 0

    def first(self) -> None:
        self.started += 1
        if self.started >= self.total:
            self.all_started.set()


class Stream(asyncio.Protocol):
    __slots__ = ("clients", "sse", "request", "raw", "body", "headers_done", "chunk_left", "transport",
                 "seen_first", "etag", "waiting", "arrived", "open")

    def __init__(self, clients: Clients, sse: bool, request: bytes):
        self.clients = clients
        self.sse = sse
        self.request = request
        self.raw = bytearray()
        self.body = bytearray()
        self.headers_done = False
        self.chunk_left = -1  # bytes left in the current chunk (+2 for its CRLF); -1: reading a size line
        self.transport: asyncio.Transport | None = None
        self.seen_first = False
        self.etag = b""
        self.waiting = False
        self.arrived = 0.0
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.open:
            self.open = False
            self.clients.closed += 1
            if not self.seen_first:
                self.seen_first = True
                self.clients.first()
            self._settle()

    def _settle(self) -> None:
        if self.waiting:
            self.waiting = False
            self.clients.pending -= 1
            if self.clients.pending <= 0:
                self.clients.all_arrived.set()

    def data_received(self, data: bytes) -> None:
        raw = self.raw
        raw += data
        if not self.headers_done:
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                return
            if not raw.startswith(b"HTTP/1.1 200"):
                self.clients.errors += 1
                self.transport.close()  # type: ignore[union-attr]
                return
            self.headers_done = True
            del raw[:end + 4]
        while raw:  # chunked transfer coding
            if self.chunk_left < 0:
                eol = raw.find(b"\r\n")
                if eol < 0:
                    return
                self.chunk_left = int(raw[:eol].split(b";")[0], 16) + 2
                del raw[:eol + 2]
                if self.chunk_left == 2:  # the last chunk: the server ended the stream
                    self.transport.close()  # type: ignore[union-attr]
                    return
            take = min(self.chunk_left, len(raw))
            self.body += raw[:take]
            del raw[:take]
            self.chunk_left -= take
            if self.chunk_left == 0:
                del self.body[-2:]
                self.chunk_left = -1
        self._messages()

    def _messages(self) -> None:
        body = self.body
        separator = b"\n\n" if self.sse else b"\n"
        while True:
            end = body.find(separator)
            if end < 0:
                return
            message = bytes(body[:end])
            del body[:end + len(separator)]
            self._message(message)

    def _message(self, message: bytes) -> None:
        clients = self.clients
        if self.sse and message.startswith(b":"):
            clients.pings += 1
            return
        clients.messages += 1
        etag = b""
        if self.sse:
            at = message.find(b'"etag":"')
            etag = message[at + 8:at + 48] if at >= 0 else b""
        if not self.seen_first:
            self.seen_first = True
            self.etag = etag
            clients.first()
            return
        if self.waiting:
            good = etag and etag != self.etag if self.sse else clients.marker in message
            if not good:
                clients.errors += 1
            self.arrived = time.monotonic()
            self._settle()
        self.etag = etag


async def connect(clients: Clients, host: str, port: int, path: str, ndjson: int, sse: int) -> None:
    loop = asyncio.get_running_loop()
    base = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: flagdeck-bench\r\n"
    requests = {False: (base + "Accept: application/json\r\n\r\n").encode(),
                True: (base + "Accept: text/event-stream\r\n\r\n").encode()}
    gate = asyncio.Semaphore(CONNECTING)

    async def one(sse: bool) -> None:
        async with gate:
            stream = Stream(clients, sse, requests[sse])
            clients.streams.append(stream)
            try:
                await loop.create_connection(lambda: stream, host, port)
            except OSError:
                clients.errors += 1
                stream.seen_first = True
                clients.first()

    kinds = [i % 2 == 1 for i in range(ndjson + sse)] if ndjson == sse else [False] * ndjson + [True] * sse
    await asyncio.gather(*(one(kind) for kind in kinds))


async def main(argv: list[str]) -> None:
    host, port, path, ndjson, sse = argv[0], int(argv[1]), argv[2], int(argv[3]), int(argv[4])
    raise_fd_limit()
    clients = Clients(ndjson + sse)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(answer: dict[str, object]) -> None:
        sys.stdout.buffer.write(orjson.dumps(answer) + b"\n")
        sys.stdout.flush()

    await connect(clients, host, port, path, ndjson, sse)
    await clients.all_started.wait()
    say({"ready": sum(s.open for s in clients.streams), "failed": clients.total - sum(s.open for s in clients.streams)})
    errors_at_mark = 0
    while line := (await reader.readline()).decode().split():
        command = line[0]
        if command == "mark":
            clients.marker = line[1].encode()
            errors_at_mark = clients.errors
            clients.all_arrived.clear()
            clients.pending = 0
            for stream in clients.streams:
                stream.waiting = stream.open
                clients.pending += stream.open
            if not clients.pending:
                clients.all_arrived.set()
            say({"marked": clients.pending})
        elif command == "collect":
            try:
                await asyncio.wait_for(clients.all_arrived.wait(), float(line[1]))
            except TimeoutError:
                pass
            times = [s.arrived for s in clients.streams if not s.waiting and s.arrived and s.open]
            say({"times": times, "missing": clients.pending, "closed": clients.closed,
                 "errors": clients.errors - errors_at_mark})
            for stream in clients.streams:
                stream.waiting, stream.arrived = False, 0.0
            clients.pending = 0
        elif command == "stats":
            say({"open": sum(s.open for s in clients.streams), "closed": clients.closed, "errors": clients.errors,
                 "messages": clients.messages, "pings": clients.pings})
        elif command == "quit":
            break
    for stream in clients.streams:
        if stream.transport is not None:
            stream.transport.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
