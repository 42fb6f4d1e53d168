"""OFREP: `POST /ofrep/v1/evaluate/flags/{key}` and the bulk `POST /ofrep/v1/evaluate/flags` (flipt-compatibility §6.6).
Namespace from `X-Flipt-Namespace`, environment from `X-Flipt-Environment`.

Every error is in OFREP's shape, as Flipt's OFREP error handler writes it: `errorCode` from the gRPC code
(FLAG_NOT_FOUND, INVALID_CONTEXT, else GENERAL, 401/403 included), `errorDetails` the message, and `key` only
for an error of a flag's lookup: a flag the namespace does not have, or a namespace that does not exist when a flag
is asked for, reads `flag was not found <key>` (Flipt's bridge). The bulk call without `flags` on an unknown
namespace fails listing it: `namespace "<ns>" not found`, no key.

The bulk call without `flags` on a big namespace still being prepared after start-up (prepared.py) waits for its
bulk keys off the event loop (`Pending`), as a client snapshot does: building them compiles every flag, seconds at
100,000 flags, which on the loop would hold up every other request (issue 18). A bulk call of more than `SLICE`
flags is evaluated in slices, the loop answering other requests between them (0.8 s of 66,000 flags at once)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import FlagNotFound, evaluate
from evaluator.server.auth import Api
from evaluator.server.calls import Answer, Call, CallHandler, Pending, failure
from evaluator.server.context import ServerContext
from evaluator.server.environments import NS_HEADER
from evaluator.server.errors import OFREP_CODES, ApiError, Code, go_quote, invalid, not_found
from evaluator.server.parsing import json_object, parse_ofrep
from evaluator.server.results import ofrep_json
from evaluator.server.state import EnvState, ServedNamespace

SLICE = 1000  # flags a bulk call evaluates between two turns of the event loop (~15 ms on an idle core)


def _namespace(call: Call, ctx: ServerContext) -> tuple[EnvState, str, ServedNamespace | None]:
    """The environment, the namespace asked for and its served version (None when there is none), authorised."""
    env = ctx.environment(call)
    key = call.headers.get(NS_HEADER) or "default"
    ctx.auth.check(call.headers, Api.OFREP, env.name, (key,))
    return env, key, env.namespaces.get(key)


def flag_not_found(key: str) -> ApiError:
    """Flipt's OFREP answer to a flag it cannot find (in the namespace, or because the namespace does not exist)."""
    return ApiError(Code.NOT_FOUND, f"flag was not found {key}", key=key)


def _evaluate(ctx: ServerContext, env: EnvState, ns: ServedNamespace | None, flag: str, entity: str,
              context: dict[str, str]) -> dict[str, Any]:
    if ns is None:
        raise flag_not_found(flag)
    try:
        return ofrep_json(ctx.evaluate(evaluate, env, ns, flag, entity, context))
    except FlagNotFound:
        raise flag_not_found(flag) from None


def _render(err: ApiError, key: str | None) -> bytes:
    """Any error in OFREP's shape (see the module's note); the call's `key` is not used: Flipt names a flag only
    in the errors of its lookup (`err.key`)."""
    body = {"errorCode": OFREP_CODES.get(err.code, "GENERAL"), "errorDetails": err.message}
    return orjson.dumps(body if err.key is None else {"key": err.key, **body})


def _etag(env: str, namespace: str, flags: bytes) -> str:
    """A weak ETag over what the answer says (Flipt hashes environment, namespace and each key + variant; any
    stable hash of the same inputs will do, clients treat it as opaque): the serialised flag(s) themselves, so a
    changed reason or attachment is never answered with a 304, and nothing is serialised twice."""
    h = hashlib.blake2b(env.encode() + b"\0" + namespace.encode() + b"\0" + flags, digest_size=8)
    return f'W/"{h.hexdigest()}"'


def _answer(call: Call, env: EnvState, namespace: str, flags: bytes, body: bytes | None = None) -> Answer:
    """200 with `body` (default: `flags`) or 304, both with the ETag of `flags`."""
    etag = _etag(env.name, namespace, flags)
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
            env, namespace, ns = _namespace(call, ctx)
            result = _evaluate(ctx, env, ns, key, body.entity_id, body.context)
        except Exception as exc:
            return failure(exc, call, on_bug, _render)
        return _answer(call, env, namespace, orjson.dumps(result))

    return handler


def _bulk_answer(call: Call, env: EnvState, namespace: str, results: list[dict[str, Any]]) -> Answer:
    flags = orjson.dumps(results)
    streams = orjson.dumps([{"type": "sse",
                             "endpoint": {"requestUri": f"/ofrep/v1/_stream/{env.name}/{namespace}/events"}}])
    return _answer(call, env, namespace, flags, b'{"flags":' + flags + b',"eventStreams":' + streams + b"}")


def _bulk(ctx: ServerContext) -> CallHandler:
    on_bug = ctx.metrics.server_errors.inc

    def handler(call: Call) -> Answer:
        try:
            body = parse_ofrep(json_object(call.body), bulk=True)
            env, namespace, ns = _namespace(call, ctx)
            if body.flags is not None:
                keys = body.flags
            elif ns is not None:
                if not ns.ready:  # being prepared after start-up: wait for its bulk keys off the event loop
                    raise Pending(ns.prepared.get)
                keys = list(ns.bulk_keys)
            else:  # Flipt lists the namespace's flags first, which fails
                raise not_found(f"namespace {go_quote(namespace)} not found")
            if len(keys) > SLICE:  # thousands of flags: evaluated in slices, other requests answered between
                raise Pending(answer=lambda: _sliced(call, env, namespace, ns, keys, body.entity_id, body.context))
            results = [_evaluate(ctx, env, ns, key, body.entity_id, body.context) for key in keys]
        except Pending:
            raise
        except Exception as exc:
            return failure(exc, call, on_bug, _render)
        return _bulk_answer(call, env, namespace, results)

    async def _sliced(call: Call, env: EnvState, namespace: str, ns: ServedNamespace | None, keys: list[str],
                      entity: str, context: dict[str, str]) -> Answer:
        results: list[dict[str, Any]] = []
        try:
            for start in range(0, len(keys), SLICE):
                if start:
                    await asyncio.sleep(0)
                results += [_evaluate(ctx, env, ns, key, entity, context) for key in keys[start:start + SLICE]]
        except Exception as exc:
            return failure(exc, call, on_bug, _render)
        return _bulk_answer(call, env, namespace, results)

    return handler


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    ctx.add_call_route(router, "POST", prefix, "/ofrep/v1/evaluate/flags/{key}", _single(ctx), _render)
    ctx.add_call_route(router, "POST", prefix, "/ofrep/v1/evaluate/flags", _bulk(ctx), _render)
