"""A change set to carry out later (a schedule made from the console's review): flags and segments created, updated
or deleted, in one or several namespaces of one environment, each with the resource as it was when the change was
scheduled (`before`) and as the change makes it (`after`).

Checked again when it runs (`replay`), resource by resource against the environment as it is then:
- unchanged since it was scheduled: the change applies as scheduled;
- changed meanwhile in other fields than the change's own (say someone edited a flag's description, the schedule
  turns it on): the change is rebased, its fields set on the resource as it is now;
- changed meanwhile in a field the change sets too, to another value than the change's, created meanwhile, deleted meanwhile (an update), or changed at
  all (a delete): `ChangedMeanwhile`, naming the resource and the fields, and nothing of the set is applied. A
  schedule never overwrites someone else's change silently.
A resource that already is as the change makes it needs nothing (the set may still apply the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationInfo, field_validator

from gitstore.errors import FlagdeckError
from gitstore.model.changes import Change, Kind, resource_value
from gitstore.model.documents import Flag, NamespaceInfo, Segment
from gitstore.proposals.records import Record

if TYPE_CHECKING:
    from gitstore.store import Snapshot

Resource = Flag | Segment


class ChangedMeanwhile(FlagdeckError):
    """A resource the change set touches was changed since it was scheduled in a way the change cannot be rebased
    over; the message names it and the fields."""


class ScheduledChange(Record):
    """One resource of a change set: `before` None creates it, `after` None deletes it."""

    namespace: str
    kind: Literal["flag", "segment"]
    key: str
    before: Flag | Segment | None = None
    after: Flag | Segment | None = None

    @field_validator("before", "after", mode="before")
    @classmethod
    def _typed(cls, value: Any, info: ValidationInfo) -> Any:
        """A flag's values are read as flags, a segment's as segments (the two shapes overlap)."""
        if isinstance(value, dict):
            model = Flag if info.data.get("kind") == "flag" else Segment
            return model.model_validate(value)
        return value

    @property
    def resource(self) -> str:
        return f"{self.namespace}/{self.key}"

    @property
    def verb(self) -> str:
        return "create" if self.before is None else "delete" if self.after is None else "update"

    def fields(self) -> list[str]:
        """The fields the change sets (an update), e.g. `enabled`, `rules`."""
        return _differing(self.before, self.after) if self.before is not None and self.after is not None else []

    def describe(self) -> str:
        """`update flag default/new-ui (enabled, rules)`."""
        fields = self.fields()
        return f"{self.verb} {self.kind} {self.resource}" + (f" ({', '.join(fields)})" if fields else "")

    def change(self, value: Resource | None) -> Change:
        return Change(self.namespace, Kind(self.kind), self.key, value)


def of(change: Change, before: Resource | None) -> ScheduledChange:
    """A staged change (flag or segment) as part of a change set; a namespace change cannot be scheduled."""
    if change.kind is Kind.NAMESPACE:
        raise FlagdeckError(f"namespace {change.namespace}: creating, renaming or deleting a namespace cannot be "
                            "scheduled (commit it now)")
    return ScheduledChange(namespace=change.namespace, kind=change.kind.value, key=change.key, before=before,
                           after=change.value)


def describe(changes: tuple[ScheduledChange, ...]) -> str:
    """What a change set does, in one line."""
    return "; ".join(c.describe() for c in changes) or "nothing"


def replay(snap: Snapshot, env: str, changes: tuple[ScheduledChange, ...]) -> list[Change]:
    """The changes to commit now on `snap` (see the module docstring); `ChangedMeanwhile` when one cannot be."""
    found: list[Change] = []
    for item in changes:
        current = resource_value(snap.document(item.namespace), Kind(item.kind), item.key)
        assert not isinstance(current, NamespaceInfo)
        if current == item.after:
            continue  # already so
        if current == item.before:
            found.append(item.change(item.after))
            continue
        where = f"{item.kind} {item.resource} in {env!r}"
        if item.before is None:
            raise ChangedMeanwhile(f"{where} was created meanwhile by someone else: the scheduled create would "
                                   "overwrite it")
        if current is None:
            raise ChangedMeanwhile(f"{where} was deleted meanwhile: the scheduled {item.verb} no longer applies")
        theirs = _differing(item.before, current)
        if item.after is None:
            raise ChangedMeanwhile(f"{where} was changed meanwhile ({', '.join(theirs)}): the scheduled delete "
                                   "would lose that change")
        ours = item.fields()
        clash = [f for f in ours if f in theirs and getattr(current, f) != getattr(item.after, f)]
        if clash:
            raise ChangedMeanwhile(f"{where} was changed meanwhile in {', '.join(clash)}, which the schedule "
                                   "changes too: not applied, so nothing is overwritten")
        found.append(item.change(current.model_copy(update={f: getattr(item.after, f) for f in ours})))
    return found


def _differing(a: Resource | None, b: Resource | None) -> list[str]:
    if a is None or b is None:
        return []
    return [name for name in type(a).model_fields if getattr(a, name) != getattr(b, name)]
