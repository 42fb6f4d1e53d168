"""The scheduler inside `flagdeck serve`: every `automation.poll_interval` it carries out the due schedules of every
configured environment (`gitstore.automation.schedules.run_due`) and the due ramp steps. It writes through a Store
of its own (not the evaluator's mirror: its commits are pushed when there is a remote), as `SCHEDULER`, off the
event loop. Every replica may run it: the store's compare-and-swap makes each change land once. `now` is
injectable, so tests control the clock; `tick()` runs one round synchronously."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from gitstore.automation.records import SCHEDULER, utcnow
from gitstore.automation.schedules import Outcome, run_due

if TYPE_CHECKING:
    from evaluator.config import EvaluatorConfig
    from gitstore.store import Store

log = logging.getLogger(__name__)


class AutomationRunner:
    def __init__(self, config: EvaluatorConfig, now: Callable[[], datetime] = utcnow, store: Store | None = None):
        """`store`: write through this one (taken over: closed by `close`), else a Store opened on `config`."""
        self.config = config
        self.settings = config.automation
        self.now = now
        self._store = store
        self._task: asyncio.Task[None] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            from gitstore.store import Store

            self._store = Store(self.config, identity=SCHEDULER)
        return self._store

    def tick(self) -> list[Outcome]:
        """One round: every environment's due schedules (an environment that fails is logged and skipped)."""
        outcomes: list[Outcome] = []
        now = self.now()
        for env in self.config.environments:
            try:
                outcomes += run_due(self.store, env, now, self.settings.late_after, self.settings.missed)
            except Exception:  # one environment's trouble (a broken records file, a full disk) stops no other
                log.exception("scheduler: environment %s", env)
        return outcomes

    async def start(self) -> None:
        if self.settings.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("scheduler round failed")
            await asyncio.sleep(self.settings.poll_interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None
