"""A change set (gitstore.events) as a CloudEvents 1.0 event in JSON's structured mode, or as a Slack-compatible
message, and the HMAC-SHA256 signature of a body.

The event's `id` is the idempotency key: stable for a commit in an environment (whichever replica of `flagdeck
serve` sends it, however often), so a receiver can drop a second delivery. It goes out as the `Idempotency-Key`
header too; the body's signature as `X-Flagdeck-Signature: sha256=<hex of HMAC-SHA256(secret, body)>`."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from gitstore.events.model import ChangeSet, ResourceChange

SPEC_VERSION = "1.0"
EVENT_TYPE = "io.flagdeck.change.v1"
CONTENT_TYPE = "application/cloudevents+json"
SIGNATURE_HEADER = "X-Flagdeck-Signature"
KEY_HEADER = "Idempotency-Key"


def event_id(environment: str, commit: str) -> str:
    """The idempotency key of the event of `commit` in `environment`."""
    return hashlib.sha256(f"{environment}\0{commit}".encode()).hexdigest()[:32]


def cloudevent(changes: ChangeSet) -> dict[str, Any]:
    data = changes.model_dump(mode="json")
    data["author"] = {"name": data.pop("author_name"), "email": data.pop("author_email")}
    data["trailers"] = {k: v for k, v in changes.trailers}
    return {
        "specversion": SPEC_VERSION,
        "id": event_id(changes.environment, changes.commit),
        "source": f"flagdeck://environments/{changes.environment}",
        "type": EVENT_TYPE,
        "subject": changes.commit,
        "time": data["time"],
        "datacontenttype": "application/json",
        "data": data,
    }


def _line(change: ResourceChange) -> str:
    what = f"{change.action} {change.kind} `{change.resource}`"
    if change.action != "updated" or not change.fields:
        return what
    fields = ", ".join(f"{f.path or 'value'}: {_short(f.before)} → {_short(f.after)}" for f in change.fields[:4])
    more = f" (+{len(change.fields) - 4} more)" if len(change.fields) > 4 else ""
    return f"{what}: {fields}{more}"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "none"
    return text if len(text) <= 60 else text[:57] + "..."


def slack_message(changes: ChangeSet) -> dict[str, Any]:
    """Slack's incoming-webhook body (`text`, plus the same as a section block); any Slack-compatible receiver
    (Mattermost, Rocket.Chat, Discord's /slack endpoint) reads `text`."""
    head = f"*{changes.author_name}* changed *{changes.environment}* ({changes.commit[:8]}): {changes.subject}"
    lines = [head, *(f"• {_line(c)}" for c in changes.changes[:20])]
    if len(changes.changes) > 20:
        lines.append(f"• … and {len(changes.changes) - 20} more")
    lines += [f"• {k}: {v}" for k, v in changes.trailers]
    lines += [f"• invalid: {p}" for p in changes.problems]
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}


def body_of(changes: ChangeSet, form: str) -> tuple[bytes, str]:
    """(body, content type) of the event in the webhook's `format`."""
    if form == "slack":
        return orjson.dumps(slack_message(changes)), "application/json"
    return orjson.dumps(cloudevent(changes)), CONTENT_TYPE


def signature(key: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
