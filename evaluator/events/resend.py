"""Re-sending change events a webhook gave up on (issue 17, gap 5): `flagdeck webhooks resend` and `s` on the
console's delivery screen. An event is found in the delivery log by its id (the idempotency key), or every event
of the webhook and environment whose latest record is `failed`; its change set is derived from Git again, so the
body is byte for byte the one first sent, with the same `Idempotency-Key` and signature (a receiver that took it
after all drops the copy). One attempt each, now, in commit order, each recorded in the delivery log (`sent` or
`failed`, with `resent_by`). The cursor does not move: later events were delivered already."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp

from evaluator.events.deliver import environments_of, post, request_of
from evaluator.events.state import Delivery, DeliveryLog
from gitstore.errors import FlagdeckError, NotFoundError

if TYPE_CHECKING:
    from evaluator.config import EvaluatorConfig
    from evaluator.events.config import WebhookConfig
    from gitstore.protocols import StoreEditor


def webhook_of(config: EvaluatorConfig, name: str, env: str) -> WebhookConfig:
    """The webhook `name`, which must deliver `env`; `NotFoundError` naming what exists."""
    hook = next((h for h in config.webhooks if h.name == name), None)
    if hook is None:
        known = ", ".join(h.name for h in config.webhooks) or "none"
        raise NotFoundError(f"no webhook {name!r} in {config.path} (webhooks: {known})")
    if env not in environments_of(hook, list(config.environments)):
        raise NotFoundError(f"webhook {name!r} does not deliver {env!r} (environments: {', '.join(hook.environments)})")
    return hook


def to_resend(config: EvaluatorConfig, name: str, env: str, events: list[str] | None) -> list[Delivery]:
    """The latest delivery record of each event to resend: those named (by id, or a prefix of one of at least 8
    characters), or (None) every one given up; `NotFoundError` for an id the log does not hold."""
    webhook_of(config, name, env)
    log = DeliveryLog(config.events.state_dir)
    if events is None:
        return log.given_up(name, env)
    known = log.recent(10**6, name, env)
    found = []
    for wanted in events:
        matches = {d.event for d in known if d.event == wanted or (len(wanted) >= 8 and d.event.startswith(wanted))}
        if len(matches) != 1:
            why = "matches several" if matches else "is not in the delivery log"
            raise NotFoundError(f"event {wanted} {why} of webhook {name!r} in {env!r} ({log.path})")
        (event,) = matches
        found.append(next(d for d in known if d.event == event))  # its latest record
    return found


def resend_events(store: StoreEditor, name: str, env: str, events: list[str] | None, by: str) -> list[Delivery]:
    """Blocking (its own event loop: a command, a console worker): check the role (editor in `env`), find the
    events (`to_resend`) and send them (`resend`)."""
    from evaluator.config import EvaluatorConfig

    config = store.config
    if not isinstance(config, EvaluatorConfig):
        raise FlagdeckError("this configuration has no webhooks")
    store.require(env, "commit", "re-sending webhook events")
    return asyncio.run(resend(store, config, name, env, to_resend(config, name, env, events), by))


async def resend(store: StoreEditor, config: EvaluatorConfig, name: str, env: str, records: list[Delivery],
                 by: str) -> list[Delivery]:
    """Send each event of `records` once more, in order; the delivery records written."""
    hook = webhook_of(config, name, env)
    log = DeliveryLog(config.events.state_dir)
    done: list[Delivery] = []
    async with aiohttp.ClientSession(headers={"User-Agent": "flagdeck-webhooks"}) as session:
        for record in records:
            changes = await asyncio.to_thread(store.change_set, env, record.commit)
            key, body, headers = request_of(hook, changes)
            if key != record.event:  # the log and the repository disagree: never send under another key
                raise FlagdeckError(f"commit {record.commit[:8]} gives event {key}, not {record.event}")
            status, error = await post(session, hook, body, headers)
            sent = status is not None and 200 <= status < 300
            delivery = Delivery(time=datetime.now(UTC), webhook=name, environment=env, event=key,
                                commit=record.commit, subject=changes.subject, status="sent" if sent else "failed",
                                attempt=record.attempt + 1, http_status=status, error=error, resent_by=by)
            await asyncio.to_thread(log.add, delivery)
            done.append(delivery)
    return done
