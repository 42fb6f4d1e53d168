"""`GET /health`, `GET /metrics`, `GET /openapi.json`.

`/health` always answers liveness to anyone, in Flipt's shape: `{"status": "SERVING"}` (200) or `NOT_SERVING` (503,
while an environment has not loaded yet). Its details (per environment: commit served, last reload, last error, each
namespace's digest and error text, the remote's state as last recorded: no network on this path) and `/metrics`
name flags, variants and files: with `authentication.required` they need a credential that reaches every
environment and namespace, unless `authentication.exclude.health` / `.metrics` opens them (auth.AuthPolicy)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from evaluator.server.auth import Api
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.openapi import build_openapi
from evaluator.server.state import EnvState


def _when(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z") if stamp else None


def environment_health(state: EnvState, default: bool, remote: dict[str, Any] | None = None) -> dict[str, Any]:
    namespaces: dict[str, Any] = {
        key: {"digest": ns.digest, "commit": ns.commit, "error": state.errors.get(key),
              "warnings": list(ns.warnings), "prepared": ns.ready}
        for key, ns in sorted(state.namespaces.items())
    }
    for key, error in state.errors.items():  # invalid namespaces with no good version to serve
        if key and key not in namespaces:
            namespaces[key] = {"digest": None, "commit": None, "error": error, "warnings": []}
    return {
        "default": default,
        "prepared": not state.unprepared,  # false while a big namespace is being prepared after start-up
        "commit": state.commit,
        "lastReload": _when(state.loaded_at),
        "lastError": state.last_error or state.errors.get(""),
        "lastErrorAt": _when(state.last_error_at),
        "namespaces": namespaces,
        "remote": remote,
    }


@endpoint
async def health(request: web.Request, ctx: ServerContext) -> web.Response:
    """Liveness for anyone; the details for whoever may read them (a missing, wrong or scoped credential gets the
    liveness answer, never a 401: a probe must not fail for want of a token)."""
    registry = ctx.registry
    loaded = all(state.loaded_at for state in registry.states.values())
    body: dict[str, Any] = {"status": "SERVING" if loaded else "NOT_SERVING"}
    if ctx.auth.allows_unrestricted(request.headers, Api.HEALTH):
        body["pid"] = os.getpid()
        body["environments"] = {name: environment_health(state, name == registry.default, ctx.remotes.get(name))
                                for name, state in registry.states.items()}
    return ctx.json(orjson.dumps(body), 200 if loaded else 503)


@endpoint
async def metrics(request: web.Request, ctx: ServerContext) -> web.Response:
    ctx.auth.check_unrestricted(request.headers, Api.METRICS)
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
