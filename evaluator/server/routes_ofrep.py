"""OFREP: `POST /ofrep/v1/evaluate/flags/{key}` and the bulk `POST /ofrep/v1/evaluate/flags` (flipt-compat §6.6).
Namespace from `X-Flipt-Namespace`, environment from `X-Flipt-Environment`; errors in OFREP's own shape."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from aiohttp import web

from evaluator.engine import evaluate
from evaluator.server.auth import Api
from evaluator.server.context import Route, ServerContext, endpoint, fail
from evaluator.server.environments import NS_HEADER
from evaluator.server.errors import ApiError, Code, invalid, json_error, ofrep_error
from evaluator.server.parsing import parse_ofrep, read_json_object
from evaluator.server.results import ofrep_json
from evaluator.server.state import EnvState, ServedNamespace


def _namespace(request: web.Request, ctx: ServerContext) -> tuple[EnvState, ServedNamespace]:
    env = ctx.environment(request)
    return env, ctx.namespace(request, Api.OFREP, env, request.headers.get(NS_HEADER) or "default")


def _evaluate(ctx: ServerContext, env: EnvState, ns: ServedNamespace, flag: str, entity: str,
              context: dict[str, str]) -> dict[str, Any]:
    return ofrep_json(ctx.evaluate(evaluate, env, ns, flag, entity, context))


def _render(err: ApiError, request: web.Request) -> web.Response:
    """401/403 in Flipt's shape (as its auth middleware answers); everything else in OFREP's."""
    if err.code in (Code.UNAUTHENTICATED, Code.PERMISSION_DENIED):
        return json_error(err)
    return ofrep_error(err, request.match_info.get("key"))


def _single(ctx: ServerContext) -> Route:
    """The single-flag handler, bound to its context and answering its own errors (the hot path)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            key = request.match_info.get("key", "")
            if not key:
                raise invalid("flag key was not provided")
            body = parse_ofrep(await read_json_object(request, ctx.max_body))
            env, ns = _namespace(request, ctx)
            result = _evaluate(ctx, env, ns, key, body.entity_id, body.context)
        except Exception as exc:
            return fail(exc, request, ctx, _render)
        return _answer(request, ctx, env, ns, orjson.dumps(result))

    return handler


def _etag(env: str, namespace: str, flags: bytes) -> str:
    """A weak ETag over what the answer says (Flipt hashes environment, namespace and each key + variant; any
    stable hash of the same inputs will do, clients treat it as opaque): the serialised flag(s) themselves, so a
    changed reason or attachment is never answered with a 304, and nothing is serialised twice."""
    h = hashlib.blake2b(env.encode() + b"\0" + namespace.encode() + b"\0" + flags, digest_size=8)
    return f'W/"{h.hexdigest()}"'


def _answer(request: web.Request, ctx: ServerContext, env: EnvState, ns: ServedNamespace, flags: bytes,
            body: bytes | None = None) -> web.Response:
    """200 with `body` (default: `flags`) or 304, both with the ETag of `flags`."""
    etag = _etag(env.name, ns.key, flags)
    if request.headers.get("If-None-Match") == etag:
        response = web.Response(status=304, headers=ctx.headers)
    else:
        response = ctx.json(flags if body is None else body)
    response.headers["ETag"] = etag
    return response


async def _bulk(request: web.Request, ctx: ServerContext) -> web.Response:
    body = parse_ofrep(await read_json_object(request, ctx.max_body), bulk=True)
    env, ns = _namespace(request, ctx)
    keys = body.flags if body.flags is not None else ns.bulk_keys
    flags = orjson.dumps([_evaluate(ctx, env, ns, key, body.entity_id, body.context) for key in keys])
    streams = orjson.dumps([{"type": "sse", "endpoint": {"requestUri": f"/ofrep/v1/_stream/{env.name}/{ns.key}/events"}}])
    return _answer(request, ctx, env, ns, flags, b'{"flags":' + flags + b',"eventStreams":' + streams + b"}")


evaluate_bulk = endpoint(_bulk, _render)


def add_routes(router: web.UrlDispatcher, prefix: str, ctx: ServerContext) -> None:
    router.add_post(prefix + "/ofrep/v1/evaluate/flags/{key}", _single(ctx))
    router.add_post(prefix + "/ofrep/v1/evaluate/flags", evaluate_bulk)
