"""The aiohttp application: routes of every API family, mounted at `/` and again under `/environments/{env}`,
with the reloader started and stopped alongside."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from evaluator.server import routes_client, routes_evaluate, routes_meta, routes_ofrep
from evaluator.server.auth import AuthPolicy
from evaluator.server.context import CONTEXT, ServerContext
from evaluator.server.environments import URL_ENV
from evaluator.server.metrics import Metrics
from evaluator.server.parsing import DEFAULT_MAX_BODY
from evaluator.server.reload import Registry, Reloader

RELOADER = web.AppKey("flagdeck_reloader", Reloader)
ENV_PREFIX = "/environments/{" + URL_ENV + "}"


def create_app(store: Any, config: Any, max_body: int = DEFAULT_MAX_BODY) -> web.Application:
    """An evaluator serving every environment of `store` (a `gitstore.store.Store` on `config`). The caller owns
    the store and closes it after the app has shut down."""
    names = [info.name for info in store.environments()]
    registry = Registry(names, config.default_environment)
    ctx = ServerContext(registry=registry, auth=AuthPolicy.from_config(config.authentication), metrics=Metrics(),
                        max_body=max_body)
    ctx.metrics.git_branches.set(len(names))
    app = web.Application(client_max_size=max_body + 1)
    app[CONTEXT] = ctx
    app[RELOADER] = Reloader(store, registry, ctx.metrics)
    for prefix in ("", ENV_PREFIX):
        routes_evaluate.add_routes(app.router, prefix)
        routes_client.add_routes(app.router, prefix)
        routes_ofrep.add_routes(app.router, prefix)
    routes_meta.add_routes(app.router)
    _normalising(app.router)
    app.on_startup.append(_start)
    app.on_shutdown.append(_stop)
    return app


def _normalising(router: web.UrlDispatcher) -> None:
    """Flipt strips trailing slashes, and SDKs given a base URL ending in `/` ask for `//internal/...`. When a path
    matches no route, try its normal form before answering 404 (dispatched here, not redirected: several clients do
    not follow redirects). Only requests that would have failed pay for this."""
    resolve = router.resolve

    async def resolve_normalised(request: web.Request) -> Any:
        found = await resolve(request)
        path = request.path
        if found.http_exception is None or ("//" not in path and not path.endswith("/")):
            return found
        normal = "/" + "/".join(part for part in path.split("/") if part)
        alternative = await resolve(request.clone(rel_url=URL.build(path=normal, query_string=request.query_string)))
        missing = alternative.http_exception is not None and alternative.http_exception.status == 404
        return found if missing else alternative  # a match, or e.g. 405 for the right path with another method

    router.resolve = resolve_normalised  # type: ignore[method-assign]


async def _start(app: web.Application) -> None:
    await app[RELOADER].start()


async def _stop(app: web.Application) -> None:
    app[CONTEXT].registry.close()
    await app[RELOADER].stop()
