"""Where webhook delivery stands, for `flagdeck webhooks` and the console's delivery screen: each webhook of
flagdeck.yaml with its cursor in each environment against the branch tip, and the delivery log `flagdeck serve`
keeps (evaluator/events/state.py), newest first. Blocking (files, Git): the console calls it from a worker."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from evaluator.config import EvaluatorConfig
from evaluator.events.deliver import environments_of
from evaluator.events.state import Cursor, Delivery, DeliveryLog


class WebhookState(BaseModel, frozen=True):
    name: str
    url: str
    format: str
    environments: list[str]
    cursors: dict[str, str | None]  # environment -> last commit delivered (None: not started)
    heads: dict[str, str | None]  # environment -> its branch tip

    def standing(self, env: str) -> str:
        at, head = self.cursors.get(env), self.heads.get(env)
        if at is None:
            return "not started"
        return "up to date" if at == head else f"at {at[:8]}, tip {(head or '')[:8]}"


class WebhookReport(BaseModel, frozen=True):
    webhooks: list[WebhookState]
    deliveries: list[Delivery]


def webhook_report(store: Any, webhook: str | None = None, env: str | None = None,
                   limit: int = 20) -> WebhookReport:
    """`store`: a Store (or the console's editor) on the whole flagdeck.yaml."""
    config = store.config
    if not isinstance(config, EvaluatorConfig):
        return WebhookReport(webhooks=[], deliveries=[])
    hooks = [h for h in config.webhooks if webhook is None or h.name == webhook]
    states = []
    for hook in hooks:
        envs = [e for e in environments_of(hook, list(config.environments)) if env is None or e == env]
        states.append(WebhookState(name=hook.name, url=hook.url, format=hook.format, environments=envs,
                                   cursors={e: Cursor(config.events.state_dir, hook.name, e).read() for e in envs},
                                   heads={e: store.head(e) for e in envs}))
    names = {h.name for h in hooks}
    found = [d for d in DeliveryLog(config.events.state_dir).recent(limit * 4, None, env) if d.webhook in names]
    return WebhookReport(webhooks=states, deliveries=found[:limit])


def delivery_detail(delivery: Delivery) -> str:
    """The error, else the HTTP status; with the next attempt's time when retrying."""
    detail = delivery.error or (f"HTTP {delivery.http_status}" if delivery.http_status else "")
    if delivery.next_attempt is not None:
        detail += f" (next {delivery.next_attempt.strftime('%H:%M:%S')})"
    if delivery.resent_by is not None:
        detail += f" (resent by {delivery.resent_by.split(' <')[0]})"
    return detail.strip()
