"""Client-side evaluation: snapshots with ETag/304 (flipt-compatibility §6.4; the stream is in routes_stream.py).

Every body here was serialised when the environment was loaded (a big namespace right after start-up: once
prepared, prepared.py); a request only picks bytes and compares the `If-None-Match` header with the namespace digest.
"""

from __future__ import annotations

import time

from aiohttp import web

from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, Pending, failure
from evaluator.server.context import ServerContext

SNAPSHOT_MISSING = 'evaluation snapshot for namespace "{}" not found'


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
        if call.headers.get("If-None-Match") == ns.digest:
            counts.inc((env.name, ns.key))
            return 304, b"", ns.digest
        if not ns.prepared.body_ready:  # being written after start-up: wait for it off the event loop
            raise Pending(ns.prepared.snapshot_body)
        counts.inc((env.name, ns.key))
        latency.observe((time.perf_counter() - started) * 1000)
        return 200, ns.snapshot_body, ns.digest

    return handler


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    snapshot = _snapshot(ctx)
    ctx.add_call_route(router, "GET", prefix, "/internal/v1/evaluation/snapshot/namespace/{namespace}", snapshot)
    base = "/client/v2/environments/{environment}/namespaces/{namespace}"
    ctx.add_call_route(router, "GET", prefix, base + "/snapshot", snapshot)
