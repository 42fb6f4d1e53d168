"""What every handler shares: the environment registry, auth policy, metrics and limits."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from evaluator.engine import EvaluationError
from evaluator.server.auth import Api, AuthPolicy
from evaluator.server.environments import resolve
from evaluator.server.errors import ApiError, Code, from_engine, json_error, not_found
from evaluator.server.metrics import Metrics
from evaluator.server.parsing import DEFAULT_MAX_BODY
from evaluator.server.reload import Registry
from evaluator.server.state import EnvState, ServedNamespace

log = logging.getLogger("flagdeck.evaluator")


@dataclass
class ServerContext:
    registry: Registry
    auth: AuthPolicy
    metrics: Metrics
    max_body: int = DEFAULT_MAX_BODY

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


Handler = Callable[[web.Request, ServerContext], Awaitable[web.StreamResponse]]
Renderer = Callable[[ApiError, web.Request], web.StreamResponse]


def _render_json(err: ApiError, request: web.Request) -> web.StreamResponse:
    return json_error(err)


def endpoint(handler: Handler, render: Renderer = _render_json) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Give a handler its context and answer every error through `render` (Flipt's JSON shape by default); a bug
    is a logged 500, never a crash or an HTML page."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        try:
            return await handler(request, ctx)
        except ApiError as err:
            return render(err, request)
        except EvaluationError as exc:
            return render(from_engine(exc), request)
        except web.HTTPException as exc:  # raised by aiohttp itself while reading the request
            code = Code.INVALID_ARGUMENT if 400 <= exc.status < 500 else Code.INTERNAL
            return render(ApiError(code, exc.reason, status=exc.status), request)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            ctx.metrics.server_errors.inc()
            return render(ApiError(Code.INTERNAL, "internal error"), request)

    return wrapper
