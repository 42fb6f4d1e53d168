"""What every handler shares: the environment registry, auth policy, metrics and limits."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from evaluator.engine import EvaluationError
from evaluator.server.auth import Api, AuthPolicy
from evaluator.server.calls import Call, CallHandler, Renderer, call_route, failure, render_json
from evaluator.server.environments import URL_ENV, resolve
from evaluator.server.errors import not_found
from evaluator.server.fanout import StreamHub
from evaluator.server.metrics import Metrics
from evaluator.server.parsing import DEFAULT_MAX_BODY
from evaluator.server.reload import Registry
from evaluator.server.state import EnvState, ServedNamespace

# Browsers may call the evaluation APIs from any origin (the JS client, OFREP web providers); they can read the ETag
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}


@dataclass
class ServerContext:
    registry: Registry
    auth: AuthPolicy
    metrics: Metrics
    max_body: int = DEFAULT_MAX_BODY
    cors: bool = True
    cors_origins: frozenset[str] = frozenset()  # with CORS on: the origins allowed (empty: any, as "*")
    heartbeat: float = 15.0  # seconds between keep-alive lines on an idle stream (0 = none)
    remotes: dict[str, dict[str, Any]] = field(default_factory=dict)  # env -> remote state for /health (remotes.py)
    headers: CIMultiDict[str] = field(init=False)  # on every answer: CORS for any origin, when enabled
    json_headers: CIMultiDict[str] = field(init=False)  # the same plus Content-Type: application/json
    hot_lane: bool = True  # answer complete evaluation requests from the parsed message (hotlane.py)
    calls: dict[tuple[str, str], CallHandler] = field(default_factory=dict)  # (method, path without prefix)
    streams: StreamHub = field(init=False)  # the open snapshot streams, written at each swap (fanout.py)

    def __post_init__(self) -> None:
        self.headers = CIMultiDict(CORS_HEADERS if self.cors and not self.cors_origins else {})
        self.json_headers = CIMultiDict(self.headers, **{"Content-Type": "application/json"})
        self.streams = StreamHub(self.registry, self.metrics, self.heartbeat)

    def cors_for(self, origin: str | None) -> list[tuple[str, str]]:
        """The CORS headers of an answer to a request from `origin` when only listed origins are allowed: the
        origin echoed when listed, nothing else when not (the browser then withholds the answer); `Vary: Origin`
        either way, so caches keep the answers apart."""
        if origin is not None and origin in self.cors_origins:
            return [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", "ETag"),
                    ("Vary", "Origin")]
        return [("Vary", "Origin")]

    def json(self, body: bytes, status: int = 200) -> web.Response:
        """A JSON answer from already serialised bytes, with the common headers."""
        return web.Response(body=body, status=status, headers=self.json_headers)

    def add_call_route(self, router: web.UrlDispatcher, method: str, prefix: str, path: str, handler: CallHandler,
                       render: Renderer = render_json) -> None:
        """`method prefix + path` (POST or GET) answered by `handler`, through aiohttp and (registered once, without
        the prefix) through the hot lane. The `{name}` parts of `path` are the call's params."""
        route = call_route(handler, self.max_body, self.json_headers, self.headers, render,
                           self.metrics.server_errors.inc)
        if method == "GET":
            router.add_get(prefix + path, route)  # and HEAD
        else:
            router.add_route(method, prefix + path, route)
        self.calls[(method, path)] = handler

    def environment(self, request: web.Request | Call, requested: str = "") -> EnvState:
        """The environment a request asks for (`requested`: its body's `environmentKey` or path's `{environment}`)."""
        if isinstance(request, Call):
            return resolve(self.registry, request.url_env, request.headers, requested)
        return resolve(self.registry, request.match_info.get(URL_ENV), request.headers, requested)

    def namespace(self, headers: Mapping[str, str], api: Api, env: EnvState, key: str,
                  missing: str = 'namespace "{}" not found') -> ServedNamespace:
        """Authorise (with the request's `headers`), then the served namespace `key` of `env` (404 with
        `missing` when absent)."""
        self.auth.check(headers, api, env.name, (key,))
        served = env.namespaces.get(key)
        if served is None:
            raise not_found(missing.format(key))
        return served

    def evaluate(self, fn: Callable[..., Any], env: EnvState, ns: ServedNamespace, flag_key: str, entity_id: str,
                 context: dict[str, str]) -> Any:
        """Run an engine evaluation (`evaluate`, `evaluate_variant`, `evaluate_boolean`) and count it."""
        started = time.perf_counter()
        try:
            result = fn(ns.compiled, flag_key, entity_id, context)
        except EvaluationError:
            self.metrics.evaluation_failed(env.name, ns.key, flag_key, ns.compiled.flags)
            raise
        self.metrics.evaluated(env.name, ns.key, flag_key, result, (time.perf_counter() - started) * 1000)
        return result


CONTEXT = web.AppKey("flagdeck_context", ServerContext)


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request, ServerContext], Awaitable[web.StreamResponse]]


def fail(exc: Exception, request: web.Request, ctx: ServerContext, render: Renderer = render_json) -> web.Response:
    """The answer to an exception raised by a handler, in the shape `render` writes (Flipt's by default), with
    the server's common headers (see `calls.failure`)."""
    call = Call(request.headers, None, b"", request.match_info, request.method, request.path)
    status, body, _ = failure(exc, call, ctx.metrics.server_errors.inc, render)
    return web.Response(body=body, status=status, headers=ctx.json_headers)


def endpoint(handler: Handler, render: Renderer = render_json) -> Route:
    """Give a handler its context and answer every error through `fail`."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        try:
            return await handler(request, ctx)
        except Exception as exc:
            return fail(exc, request, ctx, render)

    return wrapper
