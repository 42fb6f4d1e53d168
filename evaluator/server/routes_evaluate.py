"""Server-side evaluation: `POST /evaluate/v1/{variant,boolean,batch}` and the v1 flag list
`GET /api/v1/namespaces/{ns}/flags` (flipt-compat §4.6, §6.3, §6.7).

The evaluation handlers are call handlers (`calls.py`) built per application, so the context is a closure
variable rather than an app lookup; they answer their own errors and are served by the hot lane too.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import EvaluationError, FlagNotFound, evaluate, evaluate_boolean, evaluate_variant
from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, failure
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import ApiError, Code, not_found
from evaluator.server.metrics import result_labels
from evaluator.server.parsing import json_object, new_request_id, parse_batch, parse_evaluation
from evaluator.server.results import batch_entry, batch_error, boolean_json, timestamp, variant_json
from evaluator.server.state import EnvState, ServedNamespace


def _single(ctx: ServerContext, fn: Any, shape: Any) -> CallHandler:
    """`/evaluate/v1/variant` or `/boolean`: `fn` evaluates, `shape` writes Flipt's response. Whether
    authentication applies is decided once here; the evaluation is counted inline, and its latency is the
    request's own (one clock pair per request)."""
    auth = ctx.auth.check if ctx.auth.applies(Api.EVALUATION) else None
    metrics = ctx.metrics
    count, latency, on_bug = metrics.results.inc, metrics.latency.observe, metrics.server_errors.inc

    def handler(call: Call) -> Answer:
        started = time.perf_counter()
        try:
            req = parse_evaluation(json_object(call.body))
            env = ctx.environment(call, req.environment_key)
            if auth is not None:
                auth(call.headers, Api.EVALUATION, env.name, (req.namespace_key,))
            ns = env.namespaces.get(req.namespace_key)
            if ns is None:
                raise not_found(f'namespace "{req.namespace_key}" not found')
            try:
                result = fn(ns.compiled, req.flag_key, req.entity_id, req.context)
            except EvaluationError:
                metrics.evaluation_failed(env.name, ns.key, req.flag_key)
                raise
        except Exception as exc:
            return failure(exc, call, on_bug)
        millis = (time.perf_counter() - started) * 1000
        count(result_labels(env.name, ns.key, req.flag_key, result))
        latency(millis)
        return 200, orjson.dumps(shape(result, req.request_id or new_request_id(), timestamp(), millis)), None

    return handler


def _batch(ctx: ServerContext) -> CallHandler:
    """`/evaluate/v1/batch`: environment, authorisation and namespace are resolved once per distinct
    (environment key, namespace) of the batch, then every entry is evaluated and shaped in one tight loop."""
    metrics = ctx.metrics

    def handler(call: Call) -> Answer:
        started = time.perf_counter()
        try:
            body = parse_batch(json_object(call.body))
            envs: dict[str, EnvState] = {}
            targets: dict[tuple[str, str], ServedNamespace | ApiError] = {}
            for req in body.requests:  # environment errors and authorisation fail the whole batch
                env = envs.get(req.environment_key)
                if env is None:
                    env = envs[req.environment_key] = ctx.environment(call, req.environment_key)
                where = (req.environment_key, req.namespace_key)
                if where not in targets:
                    ctx.auth.check(call.headers, Api.EVALUATION, env.name, (req.namespace_key,))
                    served = env.namespaces.get(req.namespace_key)
                    targets[where] = served if served is not None else ApiError(
                        Code.NOT_FOUND, f'namespace "{req.namespace_key}" not found')
        except Exception as exc:
            return failure(exc, call, metrics.server_errors.inc)
        outcomes: list[Any] = []
        append = outcomes.append
        counts: dict[tuple[str, ...], int] = {}
        evaluated = time.perf_counter()
        for req in body.requests:
            env = envs[req.environment_key]
            target = targets[(req.environment_key, req.namespace_key)]
            if type(target) is ApiError:
                append(batch_error(req.flag_key, req.namespace_key, True))
                continue
            try:
                result = evaluate(target.compiled, req.flag_key, req.entity_id, req.context)
            except EvaluationError as exc:
                metrics.evaluation_failed(env.name, target.key, req.flag_key)
                append(batch_error(req.flag_key, req.namespace_key, isinstance(exc, FlagNotFound)))
                continue
            labels = result_labels(env.name, target.key, req.flag_key, result)
            counts[labels] = counts.get(labels, 0) + 1
            append(result)
        if counts:  # one latency per evaluation: the batch's evaluation time shared out evenly
            done = sum(counts.values())
            metrics.evaluated_batch(counts, done, (time.perf_counter() - evaluated) * 1000 / done)
        millis = (time.perf_counter() - started) * 1000
        ts = timestamp()
        responses = [
            outcome if type(outcome) is dict else batch_entry(outcome, req.request_id, ts, millis)
            for outcome, req in zip(outcomes, body.requests, strict=True)
        ]
        return 200, orjson.dumps({"requestId": body.request_id, "responses": responses,
                                  "requestDurationMillis": millis}), None

    return handler


@endpoint
async def list_flags(request: web.Request, ctx: ServerContext) -> web.Response:
    env = ctx.environment(request)
    ns = ctx.namespace(request.headers, Api.FLAGS, env, request.match_info["namespace"])
    return ctx.json(ns.flags_body)


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    ctx.add_call_route(router, prefix, "/evaluate/v1/variant", _single(ctx, evaluate_variant, variant_json))
    ctx.add_call_route(router, prefix, "/evaluate/v1/boolean", _single(ctx, evaluate_boolean, boolean_json))
    ctx.add_call_route(router, prefix, "/evaluate/v1/batch", _batch(ctx))
    router.add_get(prefix + "/api/v1/namespaces/{namespace}/flags", list_flags)
