"""The scheduler inside `flagdeck serve`: every `automation.poll_interval` it carries out the due schedules of every
configured environment (`gitstore.automation.schedules.run_due`) and the due ramp steps, their guards
evaluated first (`evaluator.automation.guards`, `gitstore.automation.ramps.advance`). It writes through a Store
of its own (not the evaluator's mirror: its commits are pushed when there is a remote), as `SCHEDULER`, off the
event loop. Every replica may run it: the store's compare-and-swap makes each change land once. Each change is
made on behalf of the user who scheduled it, whose role is checked again when it runs (`roles`: flagdeck.yaml's
`automation.roles` as the file says now); a user removed or demoted makes it fail, visibly, in its own commit.
Branch environments (`flipt/ENV/NAME`) are run like any environment, with ENV's roles; a record a branch inherited
from ENV (there where the branch left it) is ENV's, never carried out on the branch. `now` is
injectable, so tests control the clock; `tick()` runs one round synchronously."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from evaluator.automation import guards
from evaluator.automation.roles import RoleDirectory
from gitstore.automation import ramps
from gitstore.automation.ramps import RAMPS
from gitstore.automation.records import SCHEDULER, utcnow
from gitstore.automation.schedules import SCHEDULES, Outcome, Schedule, run_due
from gitstore.errors import ConflictError, FlagdeckError, SyncError

if TYPE_CHECKING:
    from evaluator.config import EvaluatorConfig
    from gitstore.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    """What one round did: schedules carried out, ramps moved (a step, a revert, a pause), as recorded after."""

    schedules: list[Outcome]
    ramps: list[ramps.Ramp]


class AutomationRunner:
    def __init__(self, config: EvaluatorConfig, now: Callable[[], datetime] = utcnow, store: Store | None = None):
        """`store`: write through this one (taken over: closed by `close`), else a Store opened on `config`."""
        self.config = config
        self.settings = config.automation
        self.now = now
        self._store = store
        self._task: asyncio.Task[None] | None = None
        self._round: asyncio.Future[Round] | None = None  # the round in flight (a thread using the store)
        self._failing: dict[str, str] = {}  # environment -> the error its last round failed with
        self.roles = RoleDirectory(config.path, self.settings.roles, self.settings.users)  # who may still commit, read each round

    @property
    def store(self) -> Store:
        if self._store is None:
            from gitstore.store import Store

            self._store = Store(self.config, identity=SCHEDULER)
        return self._store

    def tick(self) -> Round:
        """One round: every environment's due schedules, then its due ramp steps (guards first). An environment
        that fails (a broken records file, a full disk) is logged and stops no other."""
        done = Round([], [])
        now = self.now()
        self.roles.refresh()
        synced: set[str] = set()
        for env in self.config.environments:
            places: list[tuple[str, str | None]] = [(env, None)]  # (environment key, a branch's fork from env)
            try:
                self._sync(env, synced)
                places += [(b.key, b.merge_base) for b in self.store.branches(env)]
            except Exception as exc:
                self._failed(env, exc)
            for key, fork in places:
                try:
                    self._carry_out(key, env, fork, now, done)
                except Exception as exc:
                    self._failed(key, exc)
                else:
                    if self._failing.pop(key, None) is not None:
                        log.warning("scheduler: environment %s recovered", key)
        return done

    def _carry_out(self, key: str, env: str, fork: str | None, now: datetime, done: Round) -> None:
        """The due schedules, then the due ramp steps, of environment `key`: `env` itself, or a branch environment
        of `env` (roles are `env`'s), whose records inherited from `env` (there at `fork`, where the branch left
        it) are `env`'s to carry out, not the branch's."""
        schedules_of_base, ramps_of_base = SCHEDULES.inherited(self.store, key, fork), RAMPS.inherited(self.store, key, fork)
        done.schedules.extend(run_due(self.store, key, now, self.settings.late_after, self.settings.missed,
                                      functools.partial(self._schedule_refusal, env),
                                      lambda item: item.id not in schedules_of_base))
        for ramp in ramps.due(self.store, key, now):
            if ramp.id in ramps_of_base:
                continue
            denied = self.roles.refusal(ramp.by, env, f"step {ramp.step + 1} of ramp {ramp.id}")
            verdict = ramps.Verdict(True, "") if denied or not ramp.guards else guards.check(ramp.guards)
            try:
                moved = ramps.advance(self.store, key, ramp.id, ramp.step, now, verdict, denied)
            except ConflictError as exc:
                log.info("ramp %s of %s: %s; another replica got there first", ramp.id, key, exc)
                continue
            if moved is not None:
                done.ramps.append(moved)

    def _sync(self, env: str, synced: set[str]) -> None:
        """Bring the environment's clone in step with its remote before reading its records (once per storage and
        round): push what this replica committed while the remote was unreachable, else fetch. A change another
        replica carried out first is then dropped (the same tree) or parked (`refs/flagdeck/conflicts/`), never
        pushed twice, and the records read next are the remote's. Unreachable: the round goes on with the clone."""
        storage_name = self.config.environment(env).storage
        if storage_name in synced or self.config.storage[storage_name].remote is None:
            return
        synced.add(storage_name)
        try:
            if self.store.sync_state(env).ahead:
                self.store.push(env)
            else:
                self.store.fetch(env)
        except SyncError as exc:
            log.info("scheduler: %s: remote not reached (%s); going on with the local clone", env, exc)
        except ConflictError as exc:
            log.warning("scheduler: %s: %s", env, " ".join(str(exc).split()))

    def _schedule_refusal(self, env: str, item: Schedule) -> str | None:
        return self.roles.refusal(item.by, env, f"schedule {item.id} ({item.what()})")

    def _failed(self, env: str, exc: Exception) -> None:
        """Log an environment's failure once until it recovers (a round runs every poll interval): one line for
        what the store says (no descriptors left, a broken records file), the traceback for anything else."""
        if env in self._failing:
            return
        self._failing[env] = str(exc)
        if isinstance(exc, FlagdeckError | OSError):
            log.warning("scheduler: environment %s: %s (said once until it recovers)", env, " ".join(str(exc).split()))
        else:
            log.exception("scheduler: environment %s (said once until it recovers)", env)

    async def start(self) -> None:
        if self.settings.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            # shielded: cancelling the loop must not abandon a round whose thread still uses the store
            self._round = asyncio.ensure_future(asyncio.to_thread(self.tick))
            try:
                await asyncio.shield(self._round)
            except Exception:
                log.exception("scheduler round failed")
            await asyncio.sleep(self.settings.poll_interval)

    async def stop(self) -> None:
        """Stop the loop, wait for a round in flight (its thread still uses the store), then close the store."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._round is not None:
            with contextlib.suppress(Exception):
                await self._round  # its own failures were logged by the loop, or are the shutdown's
            self._round = None
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None
