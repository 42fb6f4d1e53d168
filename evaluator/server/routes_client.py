"""Client-side evaluation: snapshots with ETag/304 and the snapshot stream (flipt-compatibility §6.4, §6.5).

Every body here was serialised when the environment was loaded; a request only picks bytes and compares the
`If-None-Match` header with the namespace digest.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from aiohttp import web

from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, failure
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import Code, invalid
from evaluator.server.state import EnvState, ServedNamespace

SNAPSHOT_MISSING = 'evaluation snapshot for namespace "{}" not found'
SSE = "text/event-stream"
SSE_PING = b": ping\n\n"  # an SSE comment line: every EventSource ignores it
# No keep-alive on newline-delimited JSON streams: flipt-client's engine fails on a blank line ("EOF while parsing a
# value") whenever one arrives in a read of its own, and any other line would be parsed as a snapshot.


def _target(request: web.Request, ctx: ServerContext, api: Api = Api.EVALUATION) -> tuple[EnvState, ServedNamespace]:
    env = ctx.environment(request, request.match_info.get("environment", ""))
    return env, ctx.namespace(request.headers, api, env, request.match_info["namespace"], SNAPSHOT_MISSING)


def _snapshot(ctx: ServerContext) -> CallHandler:
    """200 with the pre-serialised document, or 304 when `If-None-Match` is the digest; both carry the ETag. The
    304 path is the one polling clients hit all day, so it is kept to a lookup and a compare (and it is served by
    the hot lane)."""
    counts = ctx.metrics.snapshot_requests
    latency = ctx.metrics.snapshot_latency
    on_bug = ctx.metrics.server_errors.inc

    def handler(call: Call) -> Answer:
        started = time.perf_counter()
        try:
            env = ctx.environment(call, call.params.get("environment", ""))
            ns = ctx.namespace(call.headers, Api.EVALUATION, env, call.params["namespace"], SNAPSHOT_MISSING)
        except Exception as exc:
            return failure(exc, call, on_bug)
        counts.inc((env.name, ns.key))
        if call.headers.get("If-None-Match") == ns.digest:
            return 304, b"", ns.digest
        latency.observe((time.perf_counter() - started) * 1000)
        return 200, ns.snapshot_body, ns.digest

    return handler


def _error_frame(sse: bool, code: Code, message: str) -> bytes:
    if sse:
        return b"data: " + orjson.dumps({"type": "error", "code": int(code), "message": message}) + b"\n\n"
    return orjson.dumps({"error": {"code": int(code), "message": message, "details": []}}) + b"\n"


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
    registry = ctx.registry
    sent = digest
    interval = ctx.heartbeat if sse else 0  # keep-alive comments on SSE only (see SSE_PING)
    metrics.streams_in_progress.inc()
    try:
        while not registry.closed:
            changed = registry.changed(name)
            state = registry.states[name]
            current = state.namespaces.get(key)
            if current is None:
                await response.write(_error_frame(sse, Code.NOT_FOUND, SNAPSHOT_MISSING.format(key)))
                metrics.stream_errors.inc()
                break
            if current.digest != sent:
                await response.write(current.sse_event if sse else current.stream_line)
                sent = current.digest
                metrics.stream_messages.inc((name, key))
                if state.loaded_at:
                    metrics.stream_latency.observe(max(0.0, time.time() - state.loaded_at) * 1000)
            if not interval:
                await changed.wait()
                continue
            try:
                await asyncio.wait_for(changed.wait(), interval)
            except TimeoutError:  # idle: keep proxies and load balancers from closing the connection
                await response.write(SSE_PING)
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
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


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    snapshot = _snapshot(ctx)
    ctx.add_call_route(router, "GET", prefix, "/internal/v1/evaluation/snapshot/namespace/{namespace}", snapshot)
    base = "/client/v2/environments/{environment}/namespaces/{namespace}"
    ctx.add_call_route(router, "GET", prefix, base + "/snapshot", snapshot)
    router.add_get(prefix + base + "/stream", stream, allow_head=False)
    router.add_get(prefix + "/ofrep/v1/_stream/{environment}/{namespace}/events", ofrep_events, allow_head=False)
