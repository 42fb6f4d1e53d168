"""Snapshot stream fan-out: every open stream of an environment gets a commit's new snapshot in one pass.

A stream's coroutine (routes_stream.py) sends what a client lacks, then parks its `Stream` here and sleeps on a
future of its own. At each swap of an environment the hub writes the namespace's new message, framed once per
namespace (HTTP/1.1 chunk or raw), straight to each parked stream's transport: no task wakes, nothing is allocated
per stream, so 10,000 streams cost one loop of transport writes and leave nothing behind for the garbage collector.
A stream the hub cannot serve that way is handed back to its coroutine (its future resolved, the stream unparked):
its namespace is gone (error frame), its connection is closing, or its client is not reading (the transport's
buffer is above its high-water mark: the coroutine drains it, then sends the newest snapshot, skipping the ones in
between).

One timer for all streams (`heartbeat` seconds; 15 s when heartbeats are off) writes the keep-alive comment to
every parked SSE stream and hands back streams whose client has gone, so a vanished client's stream ends within an
interval even when nothing is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluator.server.metrics import Metrics
    from evaluator.server.reload import Registry
    from evaluator.server.state import EnvState, ServedNamespace

SSE_PING = b": ping\n\n"  # an SSE comment line: every EventSource ignores it
SWEEP_SECONDS = 15.0  # how often vanished clients are looked for when heartbeats are off


def frame(body: bytes, chunked: bool) -> bytes:
    """`body` as written on the wire: one HTTP/1.1 chunk (as aiohttp frames it) or as it is (HTTP/1.0)."""
    return b"%x\r\n%b\r\n" % (len(body), body) if chunked else body


def message(ns: ServedNamespace, sse: bool) -> bytes:
    return ns.sse_event if sse else ns.stream_line


class Stream:
    """One open stream: its namespace, format, connection, and the digest its client has."""

    __slots__ = ("key", "sse", "chunked", "transport", "protocol", "writer", "sent", "waiter")

    def __init__(self, key: str, sse: bool, transport: asyncio.Transport, protocol: Any, writer: Any,
                 sent: str | None):
        self.key, self.sse, self.sent = key, sse, sent
        self.transport, self.protocol, self.writer = transport, protocol, writer
        self.chunked: bool = writer.chunked
        self.waiter: asyncio.Future[None] | None = None

    def gone(self) -> bool:
        return self.transport.is_closing()


class StreamHub:
    def __init__(self, registry: Registry, metrics: Metrics, heartbeat: float):
        self.registry = registry
        self.metrics = metrics
        self.heartbeat = heartbeat
        self.closed = False
        self._parked: dict[str, dict[Stream, None]] = {}  # environment -> parked streams, oldest first
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        registry.on_swap.append(self.publish)
        registry.on_close.append(self.close)

    def park(self, env: str, stream: Stream) -> asyncio.Future[None]:
        """Leave `stream` to the hub until it needs its coroutine again (the future's result)."""
        loop = self._loop = asyncio.get_running_loop()
        waiter = stream.waiter = loop.create_future()
        self._parked.setdefault(env, {})[stream] = None
        if self._timer is None and not self.closed:
            self._timer = loop.call_later(self.heartbeat or SWEEP_SECONDS, self.tick)
        return waiter

    def unpark(self, env: str, stream: Stream) -> None:
        parked = self._parked.get(env)
        if parked is not None:
            parked.pop(stream, None)
        waiter, stream.waiter = stream.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def sent(self, env: str, key: str, state: EnvState) -> None:
        """Count one message sent to a stream of `env`/`key` (and its commit-to-stream latency)."""
        self.metrics.stream_messages.inc((env, key))
        if state.loaded_at:
            self.metrics.stream_latency.observe(max(0.0, time.time() - state.loaded_at) * 1000)

    def publish(self, state: EnvState) -> None:
        """A swap of `state.name`: write each parked stream its namespace's new message, or hand it back."""
        parked = self._parked.get(state.name)
        if not parked:
            return
        namespaces = state.namespaces
        frames: dict[tuple[str, bool, bool], bytes] = {}
        handed_back = []
        for stream in parked:
            ns = namespaces.get(stream.key)
            if ns is not None and ns.digest == stream.sent:
                continue
            if ns is None or stream.gone() or stream.protocol.writing_paused:
                handed_back.append(stream)
                continue
            shape = (stream.key, stream.sse, stream.chunked)
            data = frames.get(shape)
            if data is None:
                data = frames[shape] = frame(message(ns, stream.sse), stream.chunked)
            try:
                stream.transport.write(data)
            except Exception:  # a transport that cannot take it: the coroutine ends the stream
                handed_back.append(stream)
                continue
            stream.writer.output_size += len(data)
            stream.sent = ns.digest
            self.sent(state.name, stream.key, state)
        for stream in handed_back:
            self.unpark(state.name, stream)

    def tick(self) -> None:
        """The heartbeat: a keep-alive comment to every parked SSE stream, and streams whose client went away
        handed back to their coroutines (which end them)."""
        self._timer = None
        if self.closed:
            return
        pings = {True: frame(SSE_PING, True), False: frame(SSE_PING, False)}
        for env, parked in self._parked.items():
            gone = []
            for stream in parked:
                if stream.gone():
                    gone.append(stream)
                elif stream.sse and self.heartbeat and not stream.protocol.writing_paused:
                    data = pings[stream.chunked]
                    stream.transport.write(data)
                    stream.writer.output_size += len(data)
            for stream in gone:
                self.unpark(env, stream)
        if self._loop is not None and any(self._parked.values()):
            self._timer = self._loop.call_later(self.heartbeat or SWEEP_SECONDS, self.tick)

    def close(self) -> None:
        """Hand every stream back (server shutdown): their coroutines see `closed` and end."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for env, parked in self._parked.items():
            for stream in list(parked):
                with contextlib.suppress(RuntimeError):  # a loop already closed
                    self.unpark(env, stream)
