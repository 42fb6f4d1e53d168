"""The snapshot stream (flipt-compatibility §6.5): newline-delimited JSON snapshots, or SSE refetch events with
`Accept: text/event-stream` (and always on OFREP's event stream).

A stream's coroutine sends what its client lacks (the current snapshot, unless `?digest=` already names it), then
parks the stream in the hub (fanout.py), which writes every later snapshot itself. The coroutine wakes only when
the hub hands the stream back: the namespace is gone (an error frame ends the stream), the client went away or is
not reading (drained, then the newest snapshot), or the server is shutting down.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from evaluator.server.auth import Api
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import Code, invalid
from evaluator.server.fanout import Stream, message
from evaluator.server.routes_client import SNAPSHOT_MISSING
from evaluator.server.state import EnvState, ServedNamespace, empty_state

SSE = "text/event-stream"
# No keep-alive on newline-delimited JSON streams: flipt-client's engine fails on a blank line ("EOF while parsing a
# value") whenever one arrives in a read of its own, and any other line would be parsed as a snapshot.


def _target(request: web.Request, ctx: ServerContext, api: Api) -> tuple[EnvState, ServedNamespace]:
    env = ctx.environment(request, request.match_info.get("environment", ""))
    return env, ctx.namespace(request.headers, api, env, request.match_info["namespace"], SNAPSHOT_MISSING)


def _error_frame(sse: bool, code: Code, text: str) -> bytes:
    if sse:
        return b"data: " + orjson.dumps({"type": "error", "code": int(code), "message": text}) + b"\n\n"
    return orjson.dumps({"error": {"code": int(code), "message": text, "details": []}}) + b"\n"


async def _stream(request: web.Request, ctx: ServerContext, sse: bool, api: Api) -> web.StreamResponse:
    digest = request.query.get("digest")
    if digest is not None and len(digest) != 40:
        raise invalid("digest must be a 40-character string")
    env, ns = _target(request, ctx, api)
    name, key = env.name, ns.key
    metrics = ctx.metrics
    metrics.stream_requests.inc((name, key))
    response = web.StreamResponse(headers=ctx.headers)
    response.headers.update({"Content-Type": SSE if sse else "application/json", "Cache-Control": "no-cache",
                             "X-Accel-Buffering": "no"})
    await response.prepare(request)
    transport = request.transport
    if transport is None:  # the client left before the headers went out
        return response
    hub = ctx.streams
    stream = Stream(key, sse, transport, request.protocol, request.writer, digest)
    metrics.streams_in_progress.inc()
    try:
        while not hub.closed:
            state = ctx.registry.states.get(name) or empty_state(name)  # a branch environment deleted meanwhile
            current = state.namespaces.get(key)
            if current is None:
                await response.write(_error_frame(sse, Code.NOT_FOUND, SNAPSHOT_MISSING.format(key)))
                metrics.stream_errors.inc()
                break
            if current.digest != stream.sent:
                if not sse and not current.ready:  # being prepared after start-up: wait off the event loop
                    await asyncio.to_thread(current.prepared.get)
                stream.sent = current.digest
                await response.write(message(current, sse))
                hub.sent(name, key, state)
                continue  # a swap may have come while writing: look again before parking
            if stream.gone():
                break
            await hub.park(name, stream)
            if not stream.gone():
                await request.writer.drain()  # a client not reading: wait for it before the newest snapshot
    except ConnectionError:
        pass
    finally:
        hub.unpark(name, stream)
        metrics.streams_in_progress.dec()
    return response


@endpoint
async def stream(request: web.Request, ctx: ServerContext) -> web.StreamResponse:
    return await _stream(request, ctx, SSE in request.headers.get("Accept", ""), Api.EVALUATION)


@endpoint
async def ofrep_events(request: web.Request, ctx: ServerContext) -> web.StreamResponse:
    if SSE not in request.headers.get("Accept", ""):
        return ctx.json(orjson.dumps(
            {"code": int(Code.INVALID_ARGUMENT), "message": f"Accept: {SSE} is required", "details": []}), 406)
    return await _stream(request, ctx, True, Api.OFREP)


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    base = "/client/v2/environments/{environment}/namespaces/{namespace}"
    router.add_get(prefix + base + "/stream", stream, allow_head=False)
    router.add_get(prefix + "/ofrep/v1/_stream/{environment}/{namespace}/events", ofrep_events, allow_head=False)
