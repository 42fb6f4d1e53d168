"""Delivering change events to the webhooks of flagdeck.yaml, inside `flagdeck serve` (started and stopped with the
app: evaluator/server/app.py).

One task per webhook and environment. Every `events.poll_interval` it compares the branch tip with the webhook's
cursor (state.py); the commits after the cursor that changed the environment are sent in order, one POST each, the
body signed (`X-Flagdeck-Signature`) and keyed (`Idempotency-Key`: the event id). A failed attempt (no answer, a
timeout, any status but 2xx) is retried after `retry.initial` seconds, doubled each time up to `retry.max`; with
`retry.attempts` > 0 the event is given up (logged `failed`) after that many attempts and the next one goes out.
A commit that changed no flag, segment or namespace (only files Flipt does not read, such as schedule records) is
no event, unless the scheduler made it (`ChangeSet.is_event`: a schedule failed or skipped, a ramp paused).
The cursor moves past an event only once it is sent (or given up), so a restart resends at most the one event in
flight when the process died, with the same key. On stop an attempt in flight is finished, never cut off."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp

from evaluator.events.cloudevents import KEY_HEADER, SIGNATURE_HEADER, body_of, event_id, signature
from evaluator.events.config import EventsConfig, WebhookConfig
from evaluator.events.state import Cursor, Delivery, DeliveryLog, Status
from gitstore.errors import FlagdeckError
from gitstore.events.model import ChangeSet
from gitstore.results import BranchInfo

log = logging.getLogger("flagdeck.events")
BATCH = 20  # change sets read at once


class ChangeReader(Protocol):
    def head(self, env: str) -> str | None: ...
    def pending_changes(self, env: str, since: str, limit: int = 20) -> tuple[str, list[ChangeSet]]: ...
    def branches(self, env: str) -> list[BranchInfo]: ...


def branch_key(env: str, branch: BranchInfo) -> str:
    """A branch environment's name in its events and cursors: `ENV/NAME` (its store key may be `NAME` alone)."""
    return branch.key if branch.key.startswith(f"{env}/") else f"{env}/{branch.key}"


def environments_of(hook: WebhookConfig, configured: list[str]) -> list[str]:
    return configured if "*" in hook.environments else [e for e in configured if e in hook.environments]


def request_of(hook: WebhookConfig, changes: ChangeSet) -> tuple[str, bytes, dict[str, str]]:
    """(idempotency key, body, headers) of the event in the webhook's format, signed: the same bytes and key
    however often, and by whichever replica, it is sent."""
    body, content_type = body_of(changes, hook.format)
    key = event_id(changes.environment, changes.commit)
    headers = {"Content-Type": content_type, KEY_HEADER: key, "X-Flagdeck-Event": key}
    secret = hook.signing_key()
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return key, body, headers


async def post(session: aiohttp.ClientSession, hook: WebhookConfig, body: bytes,
               headers: dict[str, str]) -> tuple[int | None, str | None]:
    """One attempt: (HTTP status, None when 2xx else the error); (None, error) when no answer came."""
    try:
        timeout = aiohttp.ClientTimeout(total=hook.timeout)
        async with session.post(hook.url, data=body, headers=headers, timeout=timeout) as answer:
            await answer.read()
            return answer.status, None if answer.status < 300 else f"HTTP {answer.status}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Deliveries:
    """The delivery tasks of every webhook (none when there is no webhook)."""

    def __init__(self, store: ChangeReader, webhooks: list[WebhookConfig], environments: list[str],
                 events: EventsConfig):
        self.store, self.events = store, events
        self.log = DeliveryLog(events.state_dir)
        self._pairs = [(hook, env) for hook in webhooks for env in environments_of(hook, environments)]
        self._branching = [(hook, env) for hook, env in self._pairs if hook.branches]
        self._branch_tasks: dict[tuple[str, str], asyncio.Task[None]] = {}  # (webhook, ENV/NAME) -> its task
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if not self._pairs:
            return
        self._session = aiohttp.ClientSession(headers={"User-Agent": "flagdeck-webhooks"})
        self._tasks = [asyncio.create_task(self._run(hook, env), name=f"webhook {hook.name} {env}")
                       for hook, env in self._pairs]
        if self._branching:
            self._tasks.append(asyncio.create_task(self._follow_branches(), name="webhook branches"))

    async def _follow_branches(self) -> None:
        """Every poll interval: a delivery task for each branch environment of an environment whose webhook has
        `branches: true`, started when the branch appears (its cursor at the branch's fork from its base), ended
        when it is gone (deleted, merged and removed)."""
        while not self._stopping.is_set():
            wanted: dict[tuple[str, str], tuple[WebhookConfig, str | None]] = {}
            for hook, env in self._branching:
                try:
                    found = await asyncio.to_thread(self.store.branches, env)
                except Exception:  # noqa: BLE001 - logged; the known branches go on
                    log.exception("webhook %s: cannot list the branch environments of %s", hook.name, env)
                    wanted.update({k: (hook, None) for k in self._branch_tasks if k[0] == hook.name
                                   and k[1].startswith(f"{env}/")})
                    continue
                wanted.update({(hook.name, branch_key(env, b)): (hook, b.merge_base) for b in found})
            for pair, (hook, fork) in wanted.items():
                if pair not in self._branch_tasks:
                    self._branch_tasks[pair] = task = asyncio.create_task(
                        self._run(hook, pair[1], fork, functools.partial(self._branch_tasks.__contains__, pair)),
                        name=f"webhook {hook.name} {pair[1]}")
                    self._tasks.append(task)
            for pair in set(self._branch_tasks) - set(wanted):
                del self._branch_tasks[pair]  # its task sees it is gone and ends
            if not await self._pause(self.events.poll_interval):
                break

    async def stop(self) -> None:
        self._stopping.set()
        if self._tasks:
            longest = max(hook.timeout for hook, _ in self._pairs) + 2.0
            _, late = await asyncio.wait(list(self._tasks), timeout=longest)  # an attempt in flight finishes
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _pause(self, seconds: float) -> bool:
        """Sleep unless stopping; whether to go on."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    async def _run(self, hook: WebhookConfig, env: str, start: str | None = None,
                   alive: Callable[[], bool] = lambda: True) -> None:
        """Deliver `env`'s events to `hook` until stopping (or, a branch environment, until `alive()` is False);
        `start`: where a first cursor is put (a branch's fork from its base; default the tip)."""
        cursor = Cursor(self.events.state_dir, hook.name, env)
        try:
            while not self._stopping.is_set() and alive():
                try:
                    if await asyncio.to_thread(cursor.try_lock):
                        await self._step(hook, env, cursor, start)
                except FlagdeckError as exc:  # a branch deleted meanwhile: its task ends at the next look
                    if start is None:
                        log.exception("webhook %s, environment %s: cannot deliver", hook.name, env)
                    else:
                        log.info("webhook %s, branch environment %s: %s", hook.name, env, exc)
                except Exception:  # noqa: BLE001 - a storage or disk error: logged, tried again next time
                    log.exception("webhook %s, environment %s: cannot deliver", hook.name, env)
                if not await self._pause(self.events.poll_interval):
                    break
        finally:
            cursor.unlock()

    async def _step(self, hook: WebhookConfig, env: str, cursor: Cursor, start: str | None = None) -> None:
        """Send what came after the cursor, in order, until caught up or stopping."""
        since = await asyncio.to_thread(cursor.read)
        if since is None:  # first meeting: start at the tip (a branch: where it left its base)
            since = start or await asyncio.to_thread(self.store.head, env)
            if since is None:
                return
            await asyncio.to_thread(cursor.write, since)
            if start is None:
                return
        while not self._stopping.is_set():
            head = await asyncio.to_thread(self.store.head, env)
            if head is None or head == since:
                return
            tip, found = await asyncio.to_thread(self.store.pending_changes, env, since, BATCH)
            for changes in found:
                if changes.is_event and not await self._deliver(hook, changes):
                    return  # stopping: the cursor stays before this event
                since = changes.commit
                await asyncio.to_thread(cursor.write, since)
            if len(found) < BATCH:
                if tip != since:  # later commits that did not change the environment
                    since = tip
                    await asyncio.to_thread(cursor.write, since)
                return

    async def _deliver(self, hook: WebhookConfig, changes: ChangeSet) -> bool:
        """Send one event until it is sent or given up (True), or stopping (False)."""
        key, body, headers = request_of(hook, changes)
        delay, attempt = hook.retry.initial, 0
        assert self._session is not None
        while True:
            attempt += 1
            status, error = await post(self._session, hook, body, headers)
            if status is not None and 200 <= status < 300:
                await self._record(hook, changes, key, "sent", attempt, status, None)
                return True
            if hook.retry.attempts and attempt >= hook.retry.attempts:
                await self._record(hook, changes, key, "failed", attempt, status, error)
                return True
            await self._record(hook, changes, key, "retrying", attempt, status, error, delay)
            if not await self._pause(delay):
                return False
            delay = min(delay * 2, hook.retry.max)

    async def _record(self, hook: WebhookConfig, changes: ChangeSet, key: str, status: Status, attempt: int,
                      http_status: int | None, error: str | None, retry_in: float | None = None) -> None:
        now = datetime.now(UTC)
        record = Delivery(time=now, webhook=hook.name, environment=changes.environment, event=key,
                          commit=changes.commit, subject=changes.subject, status=status, attempt=attempt,
                          http_status=http_status, error=error,
                          next_attempt=now + timedelta(seconds=retry_in) if retry_in is not None else None)
        if status != "sent":
            log.warning("webhook %s: %s %s (attempt %d): %s", hook.name, status, changes.commit[:8], attempt, error)
        await asyncio.to_thread(self.log.add, record)
