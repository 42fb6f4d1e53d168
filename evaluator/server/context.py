"""What every handler shares: the environment registry, auth policy, metrics and limits."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from evaluator.engine import EvaluationError
from evaluator.server.auth import Api, AuthPolicy
from evaluator.server.environments import resolve
from evaluator.server.errors import ApiError, Code, from_engine, json_error, not_found
from evaluator.server.metrics import Metrics
from evaluator.server.parsing import DEFAULT_MAX_BODY
from evaluator.server.reload import Registry
from evaluator.server.state import EnvState, ServedNamespace

log = logging.getLogger("flagdeck.evaluator")

# Browsers may call the evaluation APIs from any origin (the JS client, OFREP web providers); they can read the ETag
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}


@dataclass
class ServerContext:
    registry: Registry
    auth: AuthPolicy
    metrics: Metrics
    max_body: int = DEFAULT_MAX_BODY
    cors: bool = True
    heartbeat: float = 15.0  # seconds between keep-alive lines on an idle stream (0 = none)
    remotes: dict[str, dict[str, Any]] = field(default_factory=dict)  # env -> remote state for /health (remotes.py)
    headers: CIMultiDict[str] = field(init=False)  # on every answer: CORS, when enabled
    json_headers: CIMultiDict[str] = field(init=False)  # the same plus Content-Type: application/json

    def __post_init__(self) -> None:
        self.headers = CIMultiDict(CORS_HEADERS if self.cors else {})
        self.json_headers = CIMultiDict(self.headers, **{"Content-Type": "application/json"})

    def json(self, body: bytes, status: int = 200) -> web.Response:
        """A JSON answer from already serialised bytes, with the common headers."""
        return web.Response(body=body, status=status, headers=self.json_headers)

    def environment(self, request: web.Request, requested: str = "") -> EnvState:
        return resolve(self.registry, request, requested)

    def namespace(self, request: web.Request, api: Api, env: EnvState, key: str,
                  missing: str = 'namespace "{}" not found') -> ServedNamespace:
        """Authorise, then the served namespace `key` of `env` (404 with `missing` when absent)."""
        self.auth.check(request, api, env.name, (key,))
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
            self.metrics.evaluation_failed(env.name, ns.key, flag_key)
            raise
        self.metrics.evaluated(env.name, ns.key, flag_key, result, (time.perf_counter() - started) * 1000)
        return result


CONTEXT = web.AppKey("flagdeck_context", ServerContext)


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request, ServerContext], Awaitable[web.StreamResponse]]
Renderer = Callable[[ApiError, web.Request], web.StreamResponse]


def _render_json(err: ApiError, request: web.Request) -> web.StreamResponse:
    return json_error(err)


def fail(exc: Exception, request: web.Request, ctx: ServerContext,
         render: Renderer = _render_json) -> web.StreamResponse:
    """The answer to an exception raised by a handler, through `render` (Flipt's JSON shape by default), with the
    server's common headers (CORS); a bug is a logged 500, never a crash or an HTML page. Hot handlers call this
    from their own `except` (one coroutine layer less than `endpoint`)."""
    if isinstance(exc, ConnectionResetError):
        raise exc
    if isinstance(exc, ApiError):
        err = exc
    elif isinstance(exc, EvaluationError):
        err = from_engine(exc)
    elif isinstance(exc, web.HTTPException):  # raised by aiohttp itself while reading the request
        code = Code.INVALID_ARGUMENT if 400 <= exc.status < 500 else Code.INTERNAL
        err = ApiError(code, exc.reason, status=exc.status)
    else:
        log.exception("unexpected error on %s %s", request.method, request.path, exc_info=exc)
        ctx.metrics.server_errors.inc()
        err = ApiError(Code.INTERNAL, "internal error")
    response = render(err, request)
    response.headers.extend(ctx.headers)
    return response


def endpoint(handler: Handler, render: Renderer = _render_json) -> Route:
    """Give a handler its context and answer every error through `fail`."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        try:
            return await handler(request, ctx)
        except Exception as exc:
            return fail(exc, request, ctx, render)

    return wrapper
