"""Server-side evaluation: `POST /evaluate/v1/{variant,boolean,batch}` and the v1 flag list
`GET /api/v1/namespaces/{ns}/flags` (flipt-compatibility §4.6, §6.3, §6.7; its pagination in flag_list.py).

The evaluation handlers are call handlers (`calls.py`) built per application, so the context is a closure
variable rather than an app lookup; they answer their own errors and are served by the hot lane too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import EvaluationError, FlagNotFound, evaluate, evaluate_boolean, evaluate_variant
from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, failure
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import not_found
from evaluator.server.flag_list import page, read_query
from evaluator.server.metrics import result_labels
from evaluator.server.parsing import json_object, new_request_id, parse_batch, parse_evaluation
from evaluator.server.results import batch_entries, batch_error, boolean_json, timestamp, variant_json
from evaluator.server.state import ServedNamespace


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
                metrics.evaluation_failed(env.name, ns.key, req.flag_key, ns.compiled.flags)
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
    (environment key, namespace) of the batch (any failure there fails the whole batch, as in Flipt), then every
    entry is evaluated in one tight loop and shaped in another (each entry carries the batch's duration)."""
    metrics = ctx.metrics

    def handler(call: Call) -> Answer:
        started = time.perf_counter()
        try:
            body = parse_batch(json_object(call.body))
            targets: dict[tuple[str, str], tuple[str, ServedNamespace | None]] = {}
            for where in {(entry[5], entry[2]) for entry in body.requests}:
                env = ctx.environment(call, where[0])
                ctx.auth.check(call.headers, Api.EVALUATION, env.name, (where[1],))
                targets[where] = env.name, env.namespaces.get(where[1])
        except Exception as exc:
            return failure(exc, call, metrics.server_errors.inc)
        outcomes: list[Any] = []
        append = outcomes.append
        counts: dict[tuple[str, ...], int] = {}
        evaluated = time.perf_counter()
        single = next(iter(targets.values())) if len(targets) == 1 else None  # the usual case: one lookup
        for flag, entity, namespace, context, _, environment in body.requests:
            env_name, served = single or targets[(environment, namespace)]
            if served is None:
                append(batch_error(flag, namespace, True))
                continue
            try:
                result = evaluate(served.compiled, flag, entity, context)
            except EvaluationError as exc:
                metrics.evaluation_failed(env_name, namespace, flag, served.compiled.flags)
                append(batch_error(flag, namespace, isinstance(exc, FlagNotFound)))
                continue
            labels = result_labels(env_name, namespace, flag, result)
            counts[labels] = counts.get(labels, 0) + 1
            append(result)
        if counts:  # one latency per evaluation: the batch's evaluation time shared out evenly
            done = sum(counts.values())
            metrics.evaluated_batch(counts, done, (time.perf_counter() - evaluated) * 1000 / done)
        millis = (time.perf_counter() - started) * 1000
        responses = batch_entries(outcomes, body.requests, timestamp(), millis)
        return 200, orjson.dumps({"requestId": body.request_id, "responses": responses,
                                  "requestDurationMillis": millis}), None

    return handler


@endpoint
async def list_flags(request: web.Request, ctx: ServerContext) -> web.Response:
    """Paginated as Flipt does (flag_list.py); the query is read first, as grpc-gateway does before any call."""
    limit, token = read_query(request.query)
    env = ctx.environment(request)
    ns = ctx.namespace(request.headers, Api.FLAGS, env, request.match_info["namespace"])
    items = ns.flag_items.ready
    if items is None:  # the first request for this namespace's list builds it, off the event loop
        items = await asyncio.to_thread(ns.flag_items.get)
    return ctx.json(page(items, limit, token))


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    ctx.add_call_route(router, "POST", prefix, "/evaluate/v1/variant", _single(ctx, evaluate_variant, variant_json))
    ctx.add_call_route(router, "POST", prefix, "/evaluate/v1/boolean", _single(ctx, evaluate_boolean, boolean_json))
    ctx.add_call_route(router, "POST", prefix, "/evaluate/v1/batch", _batch(ctx))
    router.add_get(prefix + "/api/v1/namespaces/{namespace}/flags", list_flags)
