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
import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp

from evaluator.events.cloudevents import KEY_HEADER, SIGNATURE_HEADER, body_of, event_id, signature
from evaluator.events.config import EventsConfig, WebhookConfig
from evaluator.events.state import Cursor, Delivery, DeliveryLog, Status
from gitstore.events.model import ChangeSet

log = logging.getLogger("flagdeck.events")
BATCH = 20  # change sets read at once


class ChangeReader(Protocol):
    def head(self, env: str) -> str | None: ...
    def pending_changes(self, env: str, since: str, limit: int = 20) -> tuple[str, list[ChangeSet]]: ...


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
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if not self._pairs:
            return
        self._session = aiohttp.ClientSession(headers={"User-Agent": "flagdeck-webhooks"})
        self._tasks = [asyncio.create_task(self._run(hook, env), name=f"webhook {hook.name} {env}")
                       for hook, env in self._pairs]

    async def stop(self) -> None:
        self._stopping.set()
        if self._tasks:
            longest = max(hook.timeout for hook, _ in self._pairs) + 2.0
            _, late = await asyncio.wait(self._tasks, timeout=longest)  # an attempt in flight finishes
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

    async def _run(self, hook: WebhookConfig, env: str) -> None:
        cursor = Cursor(self.events.state_dir, hook.name, env)
        try:
            while not self._stopping.is_set():
                try:
                    if await asyncio.to_thread(cursor.try_lock):
                        await self._step(hook, env, cursor)
                except Exception:  # noqa: BLE001 - a storage or disk error: logged, tried again next time
                    log.exception("webhook %s, environment %s: cannot deliver", hook.name, env)
                if not await self._pause(self.events.poll_interval):
                    break
        finally:
            cursor.unlock()

    async def _step(self, hook: WebhookConfig, env: str, cursor: Cursor) -> None:
        """Send what came after the cursor, in order, until caught up or stopping."""
        since = await asyncio.to_thread(cursor.read)
        if since is None:  # first meeting: start at the tip
            head = await asyncio.to_thread(self.store.head, env)
            if head is not None:
                await asyncio.to_thread(cursor.write, head)
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
