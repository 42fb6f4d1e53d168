"""Server-side evaluation: `POST /evaluate/v1/{variant,boolean,batch}` and the v1 flag list
`GET /api/v1/namespaces/{ns}/flags` (flipt-compat §4.6, §6.3, §6.7)."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import EvaluationError, evaluate, evaluate_boolean, evaluate_variant
from evaluator.server.auth import Api
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import ApiError, Code, from_engine
from evaluator.server.parsing import (
    EvalRequest,
    new_request_id,
    parse_batch,
    parse_evaluation,
    read_json_object,
)
from evaluator.server.results import (
    batch_entry,
    batch_error,
    boolean_json,
    timestamp,
    variant_json,
)
from evaluator.server.state import EnvState


def _json(body: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _one(ctx: ServerContext, env: EnvState, req: EvalRequest, request: web.Request, fn: Any) -> Any:
    ns = ctx.namespace(request, Api.EVALUATION, env, req.namespace_key)
    return ctx.evaluate(fn, env, ns, req.flag_key, req.entity_id, req.context)


def _single(fn: Any, shape: Any) -> Any:
    """The handler of `/evaluate/v1/variant` or `/boolean`: `fn` evaluates, `shape` writes Flipt's response."""

    async def handler(request: web.Request, ctx: ServerContext) -> web.Response:
        started = time.perf_counter()
        req = parse_evaluation(await read_json_object(request, ctx.max_body))
        env = ctx.environment(request, req.environment_key)
        result = _one(ctx, env, req, request, fn)
        millis = (time.perf_counter() - started) * 1000
        return _json(shape(result, req.request_id or new_request_id(), timestamp(), millis))

    return handler


variant = endpoint(_single(evaluate_variant, variant_json))
boolean = endpoint(_single(evaluate_boolean, boolean_json))


@endpoint
async def batch(request: web.Request, ctx: ServerContext) -> web.Response:
    started = time.perf_counter()
    body = parse_batch(await read_json_object(request, ctx.max_body))
    envs = [ctx.environment(request, req.environment_key) for req in body.requests]  # env errors fail the batch
    for env, req in zip(envs, body.requests, strict=True):
        ctx.auth.check(request, Api.EVALUATION, env.name, (req.namespace_key,))
    outcomes: list[Any] = []
    for env, req in zip(envs, body.requests, strict=True):
        try:
            outcomes.append(_one(ctx, env, req, request, evaluate))
        except (ApiError, EvaluationError) as exc:
            err = exc if isinstance(exc, ApiError) else from_engine(exc)
            outcomes.append(batch_error(req.flag_key, req.namespace_key, err.code == Code.NOT_FOUND))
    millis = (time.perf_counter() - started) * 1000
    ts = timestamp()
    responses = [
        outcome if isinstance(outcome, dict) else batch_entry(outcome, req.request_id, ts, millis)
        for outcome, req in zip(outcomes, body.requests, strict=True)
    ]
    return _json({"requestId": body.request_id, "responses": responses, "requestDurationMillis": millis})


@endpoint
async def list_flags(request: web.Request, ctx: ServerContext) -> web.Response:
    env = ctx.environment(request)
    ns = ctx.namespace(request, Api.FLAGS, env, request.match_info["namespace"])
    return web.Response(body=ns.flags_body, content_type="application/json")


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_post(prefix + "/evaluate/v1/variant", variant)
    router.add_post(prefix + "/evaluate/v1/boolean", boolean)
    router.add_post(prefix + "/evaluate/v1/batch", batch)
    router.add_get(prefix + "/api/v1/namespaces/{namespace}/flags", list_flags)
