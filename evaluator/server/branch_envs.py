"""Branch environments while serving (issue 15; Flipt v2's `flipt/ENV/NAME` branches, gitstore/branches.py): the
set of served environments follows the store's, and Flipt v2's environments API answers from it.

- `EnvironmentSet`: a branch created, pushed by another clone (fetched every `poll_interval`) or deleted is told by
  the store's watcher (`watch_environments`, within ~0.5 s of the refs changing); a new one is built off the request
  path and swapped in whole (never served half-built, never making `/health` NOT_SERVING), a deleted one is swapped
  for an empty state (its open streams end with Flipt's not-found frame) and dropped. SDKs then evaluate it with
  `X-Flipt-Environment: NAME`, its client snapshot is `/client/v2/environments/NAME/...`, OFREP under
  `/environments/NAME/`.
- `GET /api/v2/environments` (every environment, a branch with `configuration.base`) and
  `GET /api/v2/environments/{env}/branches` answer in Flipt's shape. `flagdeck serve` is a read-only mirror of the
  repositories (it never pushes; the evaluator writes nothing): `POST .../branches` and `DELETE
  .../branches/{key}` answer 405 in Flipt's error shape (UNIMPLEMENTED, as for any method the server does not
  serve), saying where branches are made. `openapi_paths` documents these routes in `/openapi.json`. Reading needs what
  the `/api/v1` flag list needs (with `authentication.required`, a credential; the listing shows only the
  environments a scoped one reaches, as Flipt's does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from evaluator.server.auth import Api
from evaluator.server.context import ServerContext, endpoint
from evaluator.server.errors import PERMISSION_DENIED, ApiError, Code, not_found
from evaluator.server.reload import Registry, Reloader
from evaluator.server.remotes import RemoteStates, public_url
from evaluator.server.state import build_env_state, empty_state
from gitstore.protocols import StoreReader
from gitstore.results import EnvironmentInfo

log = logging.getLogger("flagdeck.evaluator")
READ_ONLY = ("flagdeck serve is a read-only mirror of the environments' repositories and never writes to them: "
             "{what} with `flagdeck branch {verb} --env {env} ...`, the console, or a push of Git branch "
             "flipt/{env}/NAME; it is served within the storage's poll_interval")


class EnvironmentSet:
    def __init__(self, store: StoreReader, registry: Registry, reloader: Reloader, remotes: RemoteStates,
                 on_count: Callable[[int], None]):
        self.store = store
        self.registry = registry
        self.reloader = reloader
        self.remotes = remotes
        self.on_count = on_count
        self.configured = [info.name for info in store.environments() if info.base is None]
        self.wanted: set[str] = set(registry.states)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unwatch: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unwatch = self.store.watch_environments(self._told)
        self.apply(tuple(info.name for info in await asyncio.to_thread(self.store.environments)
                         if info.base is not None))  # any made between start-up and the subscription

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _told(self, keys: tuple[str, ...]) -> None:  # watcher thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.apply, keys)

    def apply(self, branches: tuple[str, ...]) -> None:
        """Serve the configured environments and exactly these branch environments."""
        self.wanted = {*self.configured, *branches}
        for gone in [name for name in self.registry.states if name not in self.wanted]:
            self.registry.swap(empty_state(gone))  # open streams of it are told it is gone
            self.registry.states.pop(gone, None)
            self.remotes.health.pop(gone, None)
            log.info("branch environment %s is no longer served (deleted)", gone)
        for new in sorted(self.wanted - set(self.registry.states)):
            task = asyncio.ensure_future(self._add(new))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.remotes.names = [name for name in self.remotes.names if name in self.wanted]
        self.on_count(len(self.wanted))

    async def _add(self, name: str) -> None:
        try:
            remote = any(info.remote for info in await asyncio.to_thread(self.store.environments)
                         if info.name == name)
            snapshot = await asyncio.to_thread(self.store.snapshot, name)
            state = await asyncio.get_running_loop().run_in_executor(None, build_env_state, snapshot, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - deleted again meanwhile, or unreadable: said, not served
            log.warning("branch environment %s cannot be served: %s", name, exc)
            return
        if name in self.wanted and name not in self.registry.states:
            self.registry.swap(state)
            if remote and name not in self.remotes.names:
                self.remotes.names.append(name)  # its remote's state in /health from the next refresh
            log.info("serving branch environment %s at %s", name, state.commit)
            self.reloader.schedule(name)  # a move told while it was being built


# -- Flipt v2's environments API ------------------------------------------------------------------------------
ENVIRONMENTS = web.AppKey("flagdeck_environments", EnvironmentSet)


def _environment(info: EnvironmentInfo) -> dict[str, Any]:
    """Flipt's `Environment` (unset fields left out, as its JSON gateway does)."""
    configuration: dict[str, Any] = {"ref": info.branch}
    if info.directory:
        configuration["directory"] = info.directory
    if info.remote:
        configuration["remote"] = public_url(info.remote)
    if info.base:
        configuration["base"] = info.base
    return {"key": info.name, "name": info.name, "default": info.default, "configuration": configuration}


def _served(request: web.Request, ctx: ServerContext, env: str) -> None:
    """401/403 as for the flag list (a credential scoped to other environments: 403), 404 for an environment not
    served."""
    if ctx.auth.applies(Api.FLAGS):
        token = ctx.auth.authenticate(request.headers)
        if token.environments is not None and env not in token.environments:
            raise ApiError(Code.PERMISSION_DENIED, PERMISSION_DENIED)
    if env not in ctx.registry.states:
        raise not_found(f'environment "{env}" not found')


@endpoint
async def list_environments(request: web.Request, ctx: ServerContext) -> web.Response:
    token = ctx.auth.authenticate(request.headers) if ctx.auth.applies(Api.FLAGS) else None
    found = await asyncio.to_thread(request.app[ENVIRONMENTS].store.environments)
    served = [info for info in found if info.name in ctx.registry.states
              and (token is None or token.environments is None or info.name in token.environments)]
    return ctx.json(orjson.dumps({"environments": [_environment(info) for info in served]}))


@endpoint
async def list_branches(request: web.Request, ctx: ServerContext) -> web.Response:
    env = request.match_info["env"]
    _served(request, ctx, env)
    found = await asyncio.to_thread(request.app[ENVIRONMENTS].store.branches, env)
    return ctx.json(orjson.dumps({"branches": [{"environmentKey": b.environment_key, "key": b.key, "ref": b.ref}
                                               for b in found if b.key in ctx.registry.states]}))


@endpoint
async def write_branch(request: web.Request, ctx: ServerContext) -> web.Response:
    """POST (create) and DELETE of a branch environment: refused, serve never writes (answered as Flipt answers a
    method it does not serve)."""
    env = request.match_info["env"]
    _served(request, ctx, env)
    verb = "create" if request.method == "POST" else "delete"
    raise ApiError(Code.UNIMPLEMENTED, READ_ONLY.format(what=f"{verb} branch environments", verb=verb, env=env),
                   status=405)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/v2/environments", list_environments)
    router.add_get("/api/v2/environments/{env}/branches", list_branches)
    router.add_post("/api/v2/environments/{env}/branches", write_branch)
    router.add_delete("/api/v2/environments/{env}/branches/{key}", write_branch)


def openapi_paths() -> tuple[dict[str, Any], dict[str, Any]]:
    """(paths, schemas) of these routes for `/openapi.json` (evaluator/server/openapi.py)."""
    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    text = {"type": "string"}
    env = {"name": "env", "in": "path", "required": True, "schema": text}
    errors = {"401": answer(ref("Error"), "Not authenticated"), "403": answer(ref("Error"), "Forbidden"),
              "404": answer(ref("Error"), "No such environment")}
    read_only = {"405": answer(ref("Error"), "flagdeck serve never writes (UNIMPLEMENTED)"), **errors}
    paths = {
        "/api/v2/environments": {"get": {"summary": "List environments, branch environments with their base",
                                         "parameters": [], "responses": {
                                             "200": answer(ref("ListEnvironmentsResponse"), "OK"), **errors}}},
        "/api/v2/environments/{env}/branches": {
            "get": {"summary": "List an environment's branch environments", "parameters": [env],
                    "responses": {"200": answer(ref("ListEnvironmentBranchesResponse"), "OK"), **errors}},
            "post": {"summary": "Create a branch environment: refused, serve is a read-only mirror",
                     "parameters": [env], "responses": read_only}},
        "/api/v2/environments/{env}/branches/{key}": {
            "delete": {"summary": "Delete a branch environment: refused, serve is a read-only mirror",
                       "parameters": [env, {"name": "key", "in": "path", "required": True, "schema": text}],
                       "responses": read_only}},
    }
    schemas = {
        "EnvironmentConfiguration": {"type": "object", "required": ["ref"], "properties": {
            "ref": text, "directory": text, "remote": text, "base": text}},
        "Environment": {"type": "object", "required": ["key", "name", "default", "configuration"], "properties": {
            "key": text, "name": text, "default": {"type": "boolean"},
            "configuration": ref("EnvironmentConfiguration")}},
        "ListEnvironmentsResponse": {"type": "object", "required": ["environments"], "properties": {
            "environments": {"type": "array", "items": ref("Environment")}}},
        "BranchEnvironment": {"type": "object", "required": ["environmentKey", "key", "ref"], "properties": {
            "environmentKey": text, "key": text, "ref": text}},
        "ListEnvironmentBranchesResponse": {"type": "object", "required": ["branches"], "properties": {
            "branches": {"type": "array", "items": ref("BranchEnvironment")}}},
    }
    return paths, schemas
