"""`GET /health` (per environment: commit served, last reload, last error, and its remote's state as last recorded:
no network on this path), `GET /metrics`, `GET /openapi.json`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from evaluator.server.context import ServerContext, endpoint
from evaluator.server.openapi import build_openapi
from evaluator.server.state import EnvState


def _when(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z") if stamp else None


def environment_health(state: EnvState, default: bool, remote: dict[str, Any] | None = None) -> dict[str, Any]:
    namespaces: dict[str, Any] = {
        key: {"digest": ns.digest, "commit": ns.commit, "error": state.errors.get(key),
              "warnings": list(ns.warnings)}
        for key, ns in sorted(state.namespaces.items())
    }
    for key, error in state.errors.items():  # invalid namespaces with no good version to serve
        if key and key not in namespaces:
            namespaces[key] = {"digest": None, "commit": None, "error": error, "warnings": []}
    return {
        "default": default,
        "commit": state.commit,
        "lastReload": _when(state.loaded_at),
        "lastError": state.last_error or state.errors.get(""),
        "lastErrorAt": _when(state.last_error_at),
        "namespaces": namespaces,
        "remote": remote,
    }


@endpoint
async def health(request: web.Request, ctx: ServerContext) -> web.Response:
    registry = ctx.registry
    envs = {name: environment_health(state, name == registry.default, ctx.remotes.get(name))
            for name, state in registry.states.items()}
    loaded = all(state.loaded_at for state in registry.states.values())
    body = {"status": "SERVING" if loaded else "NOT_SERVING", "pid": os.getpid(), "environments": envs}
    return ctx.json(orjson.dumps(body), 200 if loaded else 503)


@endpoint
async def metrics(request: web.Request, ctx: ServerContext) -> web.Response:
    response = web.Response(body=ctx.metrics.render(), headers=ctx.headers)
    response.headers["Content-Type"] = ctx.metrics.content_type
    return response


_OPENAPI = orjson.dumps(build_openapi())


@endpoint
async def openapi(request: web.Request, ctx: ServerContext) -> web.Response:
    return ctx.json(_OPENAPI)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/health", health)
    router.add_get("/metrics", metrics)
    router.add_get("/openapi.json", openapi)
