"""Following the branches: the Registry holds the current EnvState per environment; the Reloader rebuilds an
environment off the request path when its branch moves (store.watch) and swaps it in atomically, then wakes the
streams. Reloads of one environment are coalesced: a burst of commits builds at most one extra state."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from evaluator.server.metrics import Metrics
from evaluator.server.state import EnvState, build_env_state, empty_state
from gitstore.gcpause import gc_paused
from gitstore.git.snapshot import Snapshot
from gitstore.protocols import StoreReader

log = logging.getLogger("flagdeck.evaluator")


def _prepare(state: EnvState) -> None:
    with gc_paused():  # one pause for it all: each end of one could start a full collection of what is built
        state.prepare()
        gc.freeze()  # as after start-up (runner.py): the prepared namespaces are never scanned by the collector


class Registry:
    """Environment name -> current EnvState. Readers take `states[name]` (one dict read, never half-built).
    `on_swap` callbacks run at every swap with the new state (the stream fan-out, fanout.py), `on_close` ones at
    shutdown."""

    def __init__(self, names: list[str], default: str):
        self.default = default
        self.states: dict[str, EnvState] = {name: empty_state(name) for name in names}
        self.on_swap: list[Callable[[EnvState], None]] = []
        self.on_close: list[Callable[[], None]] = []
        self.closed = False

    def close(self) -> None:
        """Server shutdown: the streams are told to end."""
        self.closed = True
        for callback in self.on_close:
            callback()

    def swap(self, state: EnvState) -> None:
        self.states[state.name] = state
        for callback in self.on_swap:
            callback(state)


class Reloader:
    def __init__(self, store: StoreReader, registry: Registry, metrics: Metrics):
        self.store = store
        self.registry = registry
        self.metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flagdeck-compile")
        self._pending: set[str] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._unwatch: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unwatch = self.store.watch(self._on_move)
        for name in self.registry.states:
            self.schedule(name)
        await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _on_move(self, env: str, commit: str) -> None:  # watcher thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.schedule, env)

    def schedule(self, env: str) -> None:
        if env not in self.registry.states:
            return
        if env in self._running:
            self._pending.add(env)
            return
        self._running[env] = asyncio.ensure_future(self._run(env))

    async def _run(self, env: str) -> None:
        try:
            while True:
                self._pending.discard(env)
                await self.reload(env)
                if env not in self._pending:
                    return
        finally:
            self._running.pop(env, None)

    async def _view(self, env: str) -> Snapshot:
        """The store's snapshot of `env`'s head (read on the repository's own thread), counted as a Git view."""
        started = time.perf_counter()
        try:
            snapshot = await asyncio.to_thread(self.store.snapshot, env)
        except Exception:
            self.metrics.git_view_errors.inc()
            raise
        self.metrics.git_views.inc()
        self.metrics.git_view_latency.observe((time.perf_counter() - started) * 1000)
        return snapshot

    async def reload(self, env: str) -> None:
        """Build `env` from its current head and swap it in; on failure keep serving and record the error."""
        started = time.perf_counter()
        previous = self.registry.states[env]
        try:
            snapshot = await self._view(env)
            if previous.commit is not None and snapshot.commit == previous.commit and not previous.last_error:
                return
            loop = asyncio.get_running_loop()
            state = await loop.run_in_executor(self._executor, build_env_state, snapshot, previous)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = f"reload of environment {env!r} failed: {exc}"
            log.warning(message)
            self.registry.swap(self.registry.states[env].with_failure(message))
            self.metrics.git_update_error(env)
            return
        self.registry.swap(state)
        if state.unprepared:  # an environment's first state: its big namespaces are prepared now (prepared.py)
            # a daemon thread of its own: stopping the server does not wait for it (seconds at 100,000 flags)
            threading.Thread(target=_prepare, args=(state,), name="flagdeck-prepare", daemon=True).start()
        self.metrics.git_updated(env, state, time.perf_counter() - started)
        for ns, error in state.errors.items():
            log.warning("environment %s namespace %s: %s", env, ns or "*", error)
