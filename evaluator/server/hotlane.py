"""The hot lane: evaluation and snapshot requests answered straight from aiohttp's parsed HTTP message.

aiohttp parses every request with its C parser and queues it for the connection's handler task, which builds a
`Request`, resolves the route, awaits the handler in a new task, builds a `Response`, prepares and writes it. For
a small evaluation that machinery costs several times the evaluation itself. When a connection is idle (its task
is waiting for the next message, nothing is queued) and a message is a complete request to a call route (`calls.py`:
`POST /evaluate/v1/*` and OFREP, `GET` of client snapshots, with or without the `/environments/{env}` prefix),
`HotLaneHandler` calls the same call handler synchronously and writes the answer itself: same status, body and
headers, in the same order, as the aiohttp route would send.

A body that arrives after its headers (many clients write them separately) is awaited, the task left asleep, when it
is small (`WAIT_LIMIT`). Everything else takes aiohttp's ordinary path: other routes and methods, an escaped path, a
larger body still arriving, a body over the limit, HTTP/1.0, `Connection: close`, `Expect`, compressed bodies,
upgrades, a busy connection (pipelined requests behind a slow one stay in order), a client not reading its answers
(write buffer above the high-water mark). Access logging, when configured, still sees every request.

This relies on `RequestHandler` internals (its message queue, waiter and parser; `_INTERNALS`), so pyproject.toml
pins the exact aiohttp version it is tested against, and at start-up `lanecheck.self_test` sends real requests
through the lane and through the ordinary path and compares the answers byte for byte: if they differ, or anything
fails, the lane stays off and the log says why. `--no-hot-lane` turns it off. Moving to a new aiohttp: see
docs/contracts.md ("The hot lane and aiohttp").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from aiohttp.http_writer import StreamWriter
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from evaluator.server.calls import Call, CallHandler, Pending
from evaluator.server.connection import PHRASES, Connection, Limits, Tally
from evaluator.server.context import CONTEXT, ServerContext

log = logging.getLogger("flagdeck.evaluator")

ENV_PREFIX = "/environments/"
WAIT_LIMIT = 1 << 15  # bytes: a body arriving after its headers is awaited only up to this size
_ANSWERED, _WAIT, _LEAVE = object(), object(), object()
_METHODS = frozenset(("GET", "POST"))
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


class HotLane:
    """The call routes of one application and the fixed part of their answers' headers."""

    def __init__(self, ctx: ServerContext):
        self.max_body = ctx.max_body
        self.count = ctx.metrics.hot_lane.inc
        self.exact: dict[tuple[str, str], CallHandler] = {}  # (method, path) of routes without {params}
        # (method, number of path segments) -> [(segments, handler)], a segment "{name}" matching any non-empty one
        self.patterns: dict[tuple[str, int], list[tuple[list[str], CallHandler]]] = {}
        for (method, path), handler in ctx.calls.items():
            if "{" not in path:
                self.exact[(method, path)] = handler
            else:
                segments = path.split("/")
                self.patterns.setdefault((method, len(segments)), []).append((segments, handler))
        common = "".join(f"{name}: {value}\r\n" for name, value in ctx.headers.items())
        self.common = common  # CORS for any origin, on a 304 too
        self.json = common + "Content-Type: application/json\r\n"
        self.cors_for = ctx.cors_for if ctx.cors and ctx.cors_origins else None  # CORS by the request's Origin

    def route(self, method: str, path: str) -> tuple[CallHandler, str | None, Mapping[str, str]] | None:
        """(handler, URL environment, params) for a request, or None when the ordinary path must answer."""
        path = path.partition("?")[0]  # no call route reads the query (e.g. a snapshot's ignored `reference`)
        if "%" in path:
            return None
        url_env = None
        if path.startswith(ENV_PREFIX):
            url_env, sep, rest = path[len(ENV_PREFIX):].partition("/")
            if not sep or not url_env:
                return None
            path = "/" + rest
        handler = self.exact.get((method, path))
        if handler is not None:
            return handler, url_env, _NO_PARAMS
        parts = path.split("/")
        for segments, handler in self.patterns.get((method, len(parts)), ()):
            params = {}
            for part, segment in zip(parts, segments, strict=True):
                if segment[:1] == "{":
                    if not part:
                        break
                    params[segment[1:-1]] = part
                elif part != segment:
                    break
            else:
                return handler, url_env, params
        return None

    def head(self, status: int, length: int, etag: str | None, headers: Mapping[str, str]) -> bytes:
        """Status line and headers as aiohttp writes them for the same answer (a 304 has no body or type) to a
        request with `headers`."""
        tag = f"ETag: {etag}\r\n" if etag is not None else ""
        if status == 304:
            fields = f"{self.common}{tag}"
        else:
            fields = f"{self.json}{tag}Content-Length: {length}\r\n"
        # listed origins: added by the app's on_response_prepare, after the headers prepare() writes
        cors = "" if self.cors_for is None else \
            "".join(f"{name}: {value}\r\n" for name, value in self.cors_for(headers.get("Origin")))
        return (f"HTTP/1.1 {status} {PHRASES.get(status, '')}\r\n{fields}"
                f"Date: {rfc822_formatted_time()}\r\nServer: {SERVER_SOFTWARE}\r\n{cors}\r\n").encode()


class HotLaneHandler(Connection):
    """The evaluator's connection handler, answering what the hot lane can before waking the handler task."""

    def __init__(self, manager: web.Server, limits: Limits, headers: Mapping[str, str], lane: HotLane,
                 tally: Tally | None = None, **kwargs: Any):
        super().__init__(manager, limits, headers, tally, **kwargs)
        self._lane = lane
        self._answering = False

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # the handler task is busy: it takes everything, in order
            Connection.data_received(self, data)
            return
        # The task is asleep, so whatever is queued is the lane's: parse without waking the task, answer what the
        # lane can, then wake the task for the rest. A lane request whose body is still arriving stays queued, the
        # task asleep, until a later call completes it (many clients write the headers and the body separately).
        self._waiter = None
        count, in_body = self._request_count, self._body is not None  # Connection.data_received, inlined
        try:
            RequestHandler.data_received(self, data)
        finally:
            self._waiter = waiter
        if in_body or self._timer is not None or (
                not self._messages[-1][1].is_eof() if self._request_count != count else data):
            self._clock(count, in_body, data)
        if self._answering:  # re-entered (a body read or a resume parsed again): the loop below goes on
            return
        messages = self._messages
        self._answering = True
        try:
            while True:
                verdict = _LEAVE
                while messages:
                    verdict = self._answer(*messages[0])
                    if verdict is not _ANSWERED:
                        break
                    messages.popleft()
                    if self._parser is not None:
                        self._parser.message_consumed()
                if (messages and verdict is _LEAVE) or not self._buffer_paused:
                    break
                # The queue is drained, or its head awaits the rest of its body, and reading is held: aiohttp's
                # parser stops at MAX_MSG_QUEUE_SIZE complete messages and keeps the rest. Parse that (re-entering
                # above, which only queues) and resume reading once the queue stays under the limit. A loop, not
                # recursion: any number of requests in one read is answered at constant stack depth.
                queued = len(messages)
                self._resume_reading_if_drained()
                if len(messages) == queued:  # nothing more was buffered: reading resumed
                    break
        finally:
            self._answering = False
        if messages and verdict is _LEAVE and not waiter.done():
            waiter.set_result(None)

    def _answer(self, message: Any, payload: Any) -> object:
        """Answer one queued message if it is the lane's: `_ANSWERED`; `_WAIT` for the rest of its (small) body;
        `_LEAVE` it to the handler task."""
        method = getattr(message, "method", None)
        if method not in _METHODS or message.version != HttpVersion11 or message.should_close or message.upgrade \
                or message.compression or self._paused or self.transport is None:
            return _LEAVE
        found = self._lane.route(method, message.path)
        headers: Mapping[str, str] = message.headers
        if found is None or payload.exception() is not None or payload.total_bytes > self._lane.max_body \
                or "Expect" in headers:
            return _LEAVE
        if not payload.is_eof():
            length = headers.get("Content-Length", "")
            # wait only for a body small enough never to make aiohttp pause reading for want of a reader
            return _WAIT if length.isdigit() and int(length) <= min(self._lane.max_body, WAIT_LIMIT) else _LEAVE
        handler, url_env, params = found
        body = payload.read_nowait()
        try:
            status, answer, etag = handler(Call(headers, url_env, body, params, method, message.path))
        except Pending:  # the ordinary path waits for it without holding up the loop
            if body:  # it reads the body again: the queued message gets a payload holding it
                replay = StreamReader(self, len(body), loop=self._loop)
                replay.feed_data(body)
                replay.feed_eof()
                self._messages[0] = (message, replay)
            return _LEAVE
        written = self._lane.head(status, len(answer), etag, headers) + answer
        self.transport.write(written)
        self._answered(message, payload, status, answer, etag, len(written))
        return _ANSWERED

    def _answered(self, message: Any, payload: Any, status: int, body: bytes, etag: str | None,
                  written: int) -> None:
        """What the handler task does after a response: count it, log it, restart the keep-alive timer."""
        loop = self._loop
        self._lane.count(())
        if self._manager is not None:
            self._manager.requests_count += 1
        if self._logging_enabled and self.access_logger is not None and self._request_factory is not None:
            task = cast("asyncio.Task[None]", self._task_handler)  # set while a request is being handled
            request = self._request_factory(message, payload, self, StreamWriter(self, loop), task)
            response = web.Response(status=status, body=body or None, content_type="application/json")
            if etag is not None:
                response.headers["ETag"] = etag
            response._body_length = written  # what aiohttp's %b reports: the bytes written, headers included
            self.access_logger.log(request, response, 0.0)
        if self._keepalive_timeout > 0:
            close_time = loop.time() + self._keepalive_timeout
            self._next_keepalive_close_time = close_time
            if self._keepalive_handle is None:
                self._keepalive_handle = loop.call_at(close_time, self._process_keepalive)


class _Connections:
    """The protocol factory the listening sockets call: aiohttp's `web.Server`, with the evaluator's connection
    handler (`Connection`, or `HotLaneHandler` when the lane is on); everything else (shutdown, connection
    tracking) is the server's own."""

    def __init__(self, server: web.Server, limits: Limits, headers: Mapping[str, str], lane: HotLane | None):
        self._server, self._limits, self._headers, self.lane = server, limits, headers, lane
        self.tally = Tally()

    def __call__(self) -> RequestHandler:
        server, tally = self._server, self.tally
        if self.lane is None:
            return Connection(server, self._limits, self._headers, tally, loop=server._loop, **server._kwargs)
        return HotLaneHandler(server, self._limits, self._headers, self.lane, tally, loop=server._loop,
                              **server._kwargs)

    def count(self) -> int:
        """Open connections (for the connection cap)."""
        return self.tally.open

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class HotLaneRunner(web.AppRunner):
    """`web.AppRunner` whose connections are the evaluator's (`Connection`: read timeouts, JSON answers to what
    aiohttp cannot parse) and take the hot lane when the application's context enables it and the start-up check
    (`lanecheck.self_test`) finds it answering as the ordinary path does. `limits.idle_timeout` is aiohttp's
    keep-alive timeout unless `keepalive_timeout` is given."""

    def __init__(self, app: web.Application, limits: Limits | None = None, **kwargs: Any):
        self.limits = limits or Limits()
        kwargs.setdefault("keepalive_timeout", self.limits.idle_timeout)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> Any:
        from evaluator.server.lanecheck import self_test

        server = await super()._make_server()
        ctx = self.app.get(CONTEXT)
        headers: Mapping[str, str] = ctx.headers if ctx is not None else {}
        connections = _Connections(server, self.limits, headers, None)
        if ctx is None or not ctx.hot_lane or not ctx.calls:
            return connections
        lane = HotLane(ctx)
        problem = await self_test(connections, lane)
        if problem is not None:
            log.warning("hot lane off: %s", problem)
            return connections
        connections.lane = lane
        return connections
