"""What one commit changed in one environment, resource by resource (issue 17: change events and `flagdeck log`).

A `ChangeSet` is derived from Git alone (gitstore.events.walk): any commit on the environment's branch that changed
its directory — made by the console, the CLI, a schedule, a merged proposal or a `git push` by hand — is one, with
its author, time, message and trailers (`Proposal:`, `Break-glass:`, `Schedule:`, ...) and each flag, segment or
namespace it created, updated or deleted, with the value before and after in the file's own form (Flipt's
`features.yaml` keys) and the fields that changed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from gitstore.format.serialize import flag_to_data, namespace_to_data, segment_to_data
from gitstore.model.changes import Change, Kind, resource_value
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment

Action = Literal["created", "updated", "deleted"]
_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")


class FieldChange(BaseModel, frozen=True):
    path: str  # `enabled`, `variants[1].name`, `rules[0].distributions[0].rollout` ("" = the whole value)
    before: Any = None
    after: Any = None


class ResourceChange(BaseModel, frozen=True):
    namespace: str
    kind: Literal["flag", "segment", "namespace"]
    key: str
    action: Action
    before: Any = None  # the resource as the file held it before (None: it did not exist)
    after: Any = None  # ... and after (None: deleted)
    fields: tuple[FieldChange, ...] = ()  # what differs, field by field (an update's)

    @property
    def resource(self) -> str:
        return self.namespace if self.kind == "namespace" else f"{self.namespace}/{self.key}"


class ChangeSet(BaseModel, frozen=True):
    environment: str
    commit: str
    parent: str | None
    author_name: str
    author_email: str
    time: datetime  # the author's time, UTC
    message: str
    trailers: tuple[tuple[str, str], ...] = ()
    changes: tuple[ResourceChange, ...] = ()
    problems: tuple[str, ...] = ()  # namespace files invalid after the commit (`FILE:LINE: field: message`)

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def automated(self) -> bool:
        """A scheduler's or a ramp's commit (`Schedule:` or `Ramp:` trailer): an event even when it changed no
        resource (a schedule failed or skipped, a ramp paused or refused: what an on-call engineer must hear of)."""
        return self.trailer("Schedule") is not None or self.trailer("Ramp") is not None

    @property
    def is_event(self) -> bool:
        """Whether webhooks get it: it changed a flag, segment or namespace, left a file invalid, or is automated."""
        return bool(self.changes or self.problems) or self.automated

    def trailer(self, key: str) -> str | None:
        return next((v for k, v in self.trailers if k.lower() == key.lower()), None)


def trailers(message: str) -> tuple[tuple[str, str], ...]:
    """Git trailers: the `Key: value` lines of the message's last paragraph (when every line of it is one)."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return ()
    found = [_TRAILER.match(line) for line in paragraphs[-1].strip().splitlines()]
    if not found or not all(found):
        return ()
    return tuple((m.group(1), m.group(2).strip()) for m in found if m)


def resource_data(value: Flag | Segment | NamespaceInfo | None) -> Any:
    """A resource as the file writes it (Flipt's keys), None for none."""
    if value is None:
        return None
    if isinstance(value, Flag):
        return flag_to_data(value)
    if isinstance(value, Segment):
        return segment_to_data(value)
    return namespace_to_data(value)


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """The leaves that differ between two plain values (dicts by key, lists by position)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[FieldChange] = []
        for key in [*before, *(k for k in after if k not in before)]:
            found += field_changes(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(before, list) and isinstance(after, list):
        found = []
        for i in range(max(len(before), len(after))):
            found += field_changes(before[i] if i < len(before) else None, after[i] if i < len(after) else None,
                                   f"{path}[{i}]")
        return found
    return [FieldChange(path=path, before=before, after=after)]


def resource_change(change: Change, before_doc: Document | None) -> ResourceChange:
    """One `Change` of `diff_documents` (its value is the new one) with the value it replaced."""
    before = resource_data(resource_value(before_doc, change.kind, change.key))
    after = resource_data(change.value)
    action: Action = "deleted" if after is None else "created" if before is None else "updated"
    fields = tuple(field_changes(before, after)) if action == "updated" else ()
    kind: Literal["flag", "segment", "namespace"] = (
        "flag" if change.kind is Kind.FLAG else "segment" if change.kind is Kind.SEGMENT else "namespace")
    return ResourceChange(namespace=change.namespace, kind=kind, key=change.key, action=action, before=before,
                          after=after, fields=fields)
