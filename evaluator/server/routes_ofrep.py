"""OFREP: `POST /ofrep/v1/evaluate/flags/{key}` and the bulk `POST /ofrep/v1/evaluate/flags` (flipt-compatibility §6.6).
Namespace from `X-Flipt-Namespace`, environment from `X-Flipt-Environment`; errors in OFREP's own shape."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import evaluate
from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, failure, render_json
from evaluator.server.context import ServerContext
from evaluator.server.environments import NS_HEADER
from evaluator.server.errors import OFREP_CODES, ApiError, Code, invalid
from evaluator.server.parsing import json_object, parse_ofrep
from evaluator.server.results import ofrep_json
from evaluator.server.state import EnvState, ServedNamespace


def _namespace(call: Call, ctx: ServerContext) -> tuple[EnvState, ServedNamespace]:
    env = ctx.environment(call)
    return env, ctx.namespace(call.headers, Api.OFREP, env, call.headers.get(NS_HEADER) or "default")


def _evaluate(ctx: ServerContext, env: EnvState, ns: ServedNamespace, flag: str, entity: str,
              context: dict[str, str]) -> dict[str, Any]:
    return ofrep_json(ctx.evaluate(evaluate, env, ns, flag, entity, context))


def _render(err: ApiError, key: str | None) -> bytes:
    """401/403 in Flipt's shape (as its auth middleware answers); everything else in OFREP's (`key` is None on
    the bulk call)."""
    if err.code in (Code.UNAUTHENTICATED, Code.PERMISSION_DENIED):
        return render_json(err, key)
    body = {"errorCode": OFREP_CODES.get(err.code, "GENERAL"), "errorDetails": err.message}
    return orjson.dumps(body if key is None else {"key": key, **body})


def _etag(env: str, namespace: str, flags: bytes) -> str:
    """A weak ETag over what the answer says (Flipt hashes environment, namespace and each key + variant; any
    stable hash of the same inputs will do, clients treat it as opaque): the serialised flag(s) themselves, so a
    changed reason or attachment is never answered with a 304, and nothing is serialised twice."""
    h = hashlib.blake2b(env.encode() + b"\0" + namespace.encode() + b"\0" + flags, digest_size=8)
    return f'W/"{h.hexdigest()}"'


def _answer(call: Call, env: EnvState, ns: ServedNamespace, flags: bytes, body: bytes | None = None) -> Answer:
    """200 with `body` (default: `flags`) or 304, both with the ETag of `flags`."""
    etag = _etag(env.name, ns.key, flags)
    if call.headers.get("If-None-Match") == etag:
        return 304, b"", etag
    return 200, flags if body is None else body, etag


def _single(ctx: ServerContext) -> CallHandler:
    on_bug = ctx.metrics.server_errors.inc

    def handler(call: Call) -> Answer:
        try:
            key = call.params.get("key", "")
            if not key:
                raise invalid("flag key was not provided")
            body = parse_ofrep(json_object(call.body))
            env, ns = _namespace(call, ctx)
            result = _evaluate(ctx, env, ns, key, body.entity_id, body.context)
        except Exception as exc:
            return failure(exc, call, on_bug, _render)
        return _answer(call, env, ns, orjson.dumps(result))

    return handler


def _bulk(ctx: ServerContext) -> CallHandler:
    on_bug = ctx.metrics.server_errors.inc

    def handler(call: Call) -> Answer:
        try:
            body = parse_ofrep(json_object(call.body), bulk=True)
            env, ns = _namespace(call, ctx)
            keys = body.flags if body.flags is not None else ns.bulk_keys
            flags = orjson.dumps([_evaluate(ctx, env, ns, key, body.entity_id, body.context) for key in keys])
        except Exception as exc:
            return failure(exc, call, on_bug, _render)
        streams = orjson.dumps([{"type": "sse",
                                 "endpoint": {"requestUri": f"/ofrep/v1/_stream/{env.name}/{ns.key}/events"}}])
        return _answer(call, env, ns, flags, b'{"flags":' + flags + b',"eventStreams":' + streams + b"}")

    return handler


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    ctx.add_call_route(router, "POST", prefix, "/ofrep/v1/evaluate/flags/{key}", _single(ctx), _render)
    ctx.add_call_route(router, "POST", prefix, "/ofrep/v1/evaluate/flags", _bulk(ctx), _render)
