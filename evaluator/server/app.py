"""The aiohttp application: routes of every API family, mounted at `/` and again under `/environments/{env}`,
with the reloader started and stopped alongside."""

from __future__ import annotations

from typing import Any

from aiohttp import web

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
    app.on_startup.append(_start)
    app.on_shutdown.append(_stop)
    return app


async def _start(app: web.Application) -> None:
    await app[RELOADER].start()


async def _stop(app: web.Application) -> None:
    app[CONTEXT].registry.close()
    await app[RELOADER].stop()
