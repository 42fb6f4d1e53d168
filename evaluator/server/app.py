"""The aiohttp application: routes of every API family, mounted at `/` and again under `/environments/{env}`,
with the reloader started and stopped alongside."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import MatchInfoError
from multidict import CIMultiDict
from yarl import URL

from evaluator.analytics.counting import AnalyticsCounter
from evaluator.analytics.reader import open_reader
from evaluator.analytics.store import database_path
from evaluator.config import EvaluatorConfig
from evaluator.events.deliver import Deliveries
from evaluator.server import (
    branch_envs,
    routes_analytics,
    routes_client,
    routes_evaluate,
    routes_meta,
    routes_ofrep,
    routes_stream,
)
from evaluator.server.auth import AuthPolicy
from evaluator.server.context import CONTEXT, ServerContext
from evaluator.server.environments import URL_ENV
from evaluator.server.errors import Code, error_body
from evaluator.server.metrics import Metrics
from evaluator.server.parsing import DEFAULT_MAX_BODY
from evaluator.server.reload import Registry, Reloader
from evaluator.server.remotes import RemoteStates
from gitstore.protocols import StoreReader

RELOADER = web.AppKey("flagdeck_reloader", Reloader)
ANALYTICS = web.AppKey("flagdeck_analytics", AnalyticsCounter)
REMOTES = web.AppKey("flagdeck_remotes", RemoteStates)
WEBHOOKS = web.AppKey("flagdeck_webhooks", Deliveries)
ENV_PREFIX = "/environments/{" + URL_ENV + "}"


def create_app(store: StoreReader, config: EvaluatorConfig, max_body: int = DEFAULT_MAX_BODY, cors: bool = True,
               heartbeat: float = 15.0, metrics: Metrics | None = None, hot_lane: bool = True,
               cors_origins: Iterable[str] = ()) -> web.Application:
    """An evaluator serving every environment of `store` (a `gitstore.store.Store` on `config`, as the evaluator
    uses it: `gitstore.protocols.StoreReader`). The caller owns
    the store and closes it after the app has shut down. `cors`: answer browsers from any origin (and their
    preflight `OPTIONS`), or only from `cors_origins` when given; `heartbeat`: seconds between keep-alive lines on idle streams (0 = none); `metrics`:
    the registry to count in (the runner's, when several workers share one); `hot_lane`: let `HotLaneRunner`
    answer complete evaluation requests from the parsed message (hotlane.py)."""
    names = [info.name for info in store.environments()]
    registry = Registry(names, config.default_environment)
    remotes = RemoteStates(store)
    ctx = ServerContext(registry=registry, auth=AuthPolicy.from_config(config.authentication),
                        metrics=metrics or Metrics(), max_body=max_body, cors=cors,
                        cors_origins=frozenset(cors_origins), heartbeat=heartbeat,
                        remotes=remotes.health, hot_lane=hot_lane)
    ctx.metrics.git_branches.set(len(names))
    app = web.Application(client_max_size=max_body + 1)
    app[CONTEXT] = ctx
    app[RELOADER] = Reloader(store, registry, ctx.metrics)
    app[REMOTES] = remotes
    app[WEBHOOKS] = Deliveries(store, config.webhooks, list(config.environments), config.events)  # change events
    app[branch_envs.ENVIRONMENTS] = branch_envs.EnvironmentSet(store, registry, app[RELOADER], remotes,
                                                               ctx.metrics.git_branches.set)
    for prefix in ("", ENV_PREFIX):
        routes_evaluate.add_routes(app.router, prefix, ctx)
        routes_client.add_routes(app.router, prefix, ctx)
        routes_stream.add_routes(app.router, prefix)
        routes_ofrep.add_routes(app.router, prefix, ctx)
    routes_meta.add_routes(app.router)
    app[routes_analytics.READER] = open_reader(config)
    routes_analytics.add_routes(app.router)
    branch_envs.add_routes(app.router)
    _routing_fallbacks(app.router, ctx.headers, cors)
    if cors and ctx.cors_origins:
        app.on_response_prepare.append(_listed_origins)
    if config.analytics.enabled:
        app[ANALYTICS] = AnalyticsCounter(ctx.metrics, config.analytics, database_path(config),
                                          lambda: list(registry.states))
    app.on_startup.append(_start)
    app.on_shutdown.append(_stop)
    app.on_cleanup.append(_stop_counting)
    return app


def _preflight(request: web.Request, common: CIMultiDict[str]) -> web.HTTPException:
    """A browser's CORS preflight of a path that exists: the methods and headers the APIs use, cached for a day."""
    headers = CIMultiDict(common)
    headers.update({
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers")
        or "Authorization, Content-Type, If-None-Match, X-Flipt-Environment, X-Flipt-Namespace",
        "Access-Control-Max-Age": "86400",
    })
    return web.HTTPNoContent(headers=headers)


def _routing_fallbacks(router: web.UrlDispatcher, headers: CIMultiDict[str], cors: bool) -> None:
    """What happens when a path matches no route; only requests that would have failed pay for it.

    - Flipt strips trailing slashes, and SDKs given a base URL ending in `/` ask for `//internal/...`: such a path
      is answered as its normal form (dispatched here, not redirected: several clients do not follow redirects).
    - Unknown paths (404) and wrong methods (405) are answered in Flipt's JSON error shape, not aiohttp's text: the
      `flipt` SDK cannot read a non-JSON error body.
    - With CORS on, `OPTIONS` on a path that exists is a browser's preflight, answered 204.
    """
    resolve = router.resolve

    async def resolve_with_fallbacks(request: web.Request) -> Any:
        found = await resolve(request)
        if found.http_exception is None:
            return found
        path = request.path
        if "//" in path or path.endswith("/"):
            normal = "/" + "/".join(part for part in path.split("/") if part)
            alternative = await resolve(request.clone(rel_url=URL.build(path=normal,
                                                                        query_string=request.query_string)))
            if alternative.http_exception is None or alternative.http_exception.status != 404:
                found = alternative  # a match, or 405 for the right path with another method
            if found.http_exception is None:
                return found
        failed = found.http_exception
        assert failed is not None  # the first resolve failed, and so did its alternative
        if cors and request.method == "OPTIONS" and failed.status == 405:
            return MatchInfoError(_preflight(request, headers))
        return MatchInfoError(_json_http_error(failed, headers))

    router.resolve = resolve_with_fallbacks  # type: ignore[method-assign]


def _json_http_error(exc: web.HTTPException, headers: CIMultiDict[str]) -> web.HTTPException:
    if isinstance(exc, web.HTTPMethodNotAllowed):
        text = error_body(Code.UNIMPLEMENTED, f"method {exc.method} not allowed").decode()
        return web.HTTPMethodNotAllowed(exc.method, exc.allowed_methods, text=text, content_type="application/json",
                                        headers=headers)
    if isinstance(exc, web.HTTPNotFound):
        text = error_body(Code.NOT_FOUND, "Not Found").decode()
        return web.HTTPNotFound(text=text, content_type="application/json", headers=headers)
    return exc


async def _listed_origins(request: web.Request, response: web.StreamResponse) -> None:
    """CORS for listed origins only: every answer's headers depend on the request's `Origin`."""
    response.headers.extend(request.app[CONTEXT].cors_for(request.headers.get("Origin")))


async def _start(app: web.Application) -> None:
    await app[CONTEXT].auth.start()  # the JWKS refresher, when authentication.jwt has a jwks_url
    await app[REMOTES].start()
    await app[RELOADER].start()
    await app[branch_envs.ENVIRONMENTS].start()
    if ANALYTICS in app:
        await app[ANALYTICS].start()
    await app[WEBHOOKS].start()


async def _stop_counting(app: web.Application) -> None:
    if ANALYTICS in app:
        await app[ANALYTICS].stop()  # once connections are closed: the last requests' counts are written


async def _stop(app: web.Application) -> None:
    await app[WEBHOOKS].stop()
    await app[branch_envs.ENVIRONMENTS].stop()
    app[CONTEXT].registry.close()
    await app[REMOTES].stop()
    await app[RELOADER].stop()
    await app[CONTEXT].auth.stop()
