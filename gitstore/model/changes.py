"""What a write asks for: resource-level changes, so a write can be rebased onto a moved branch and applied to the
file as a minimal textual edit; the differences between two documents, and what a promotion copies."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from gitstore.errors import NotFoundError
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment


class Kind(StrEnum):
    FLAG = "flag"
    SEGMENT = "segment"
    NAMESPACE = "namespace"


@dataclass(frozen=True)
class Change:
    """Create, replace or delete one resource of one namespace.

    - FLAG / SEGMENT: `value` is the whole new resource (create if its key is new, replace otherwise); `None` deletes
      the resource named `key`. A rename is a delete of the old key plus a create of the new one.
    - NAMESPACE: `value` is the new `NamespaceInfo` (create the namespace file if missing, else update its name and
      description); `None` deletes the namespace file.
    `key` is the resource's key before the change (for a namespace, the namespace key).
    """

    namespace: str
    kind: Kind
    key: str
    value: Flag | Segment | NamespaceInfo | None

    @property
    def resource(self) -> str:
        """Flipt's resource name, as used in commit messages: `default/new-ui`, or the namespace key."""
        return self.namespace if self.kind is Kind.NAMESPACE else f"{self.namespace}/{self.key}"

    @property
    def verb(self) -> str:
        return "delete" if self.value is None else "update"

    def message_line(self, created: bool = False) -> str:
        """`update flag default/new-ui` (Flipt's commit message form); `create ...` for a new resource."""
        verb = "create" if created and self.value is not None else self.verb
        return f"{verb} {self.kind.value} {self.resource}"


def commit_message(changes: list[Change], created: Collection[str] = ()) -> str:
    """Flipt's form: one change -> its line; several -> `updated multiple resources` plus one line each.
    `created` names the resources (`Change.resource`) that did not exist before, so their verb is `create`."""
    lines = [c.message_line(c.resource in created) for c in changes]
    if len(lines) == 1:
        return lines[0]
    return "updated multiple resources\n\n" + "\n".join(lines)


def resource_value(doc: Document | None, kind: Kind, key: str) -> Flag | Segment | NamespaceInfo | None:
    """The current value of one resource in a document (None when the document or the resource is absent)."""
    if doc is None:
        return None
    if kind is Kind.FLAG:
        return doc.flag(key)
    if kind is Kind.SEGMENT:
        return doc.segment(key)
    return doc.namespace


def diff_documents(namespace: str, old: Document | None, new: Document | None) -> list[Change]:
    """The resource-level changes that turn `old` into `new` (None = the namespace file is absent).

    Used to replay a commit on a moved branch, to revert and to promote: each change is then applied as a minimal
    edit. Order: namespace first when it appears, then segments created or changed (flags may reference them),
    flags, and deletions of segments last (after the flags that referenced them are gone)."""
    if new is None:
        return [] if old is None else [Change(namespace, Kind.NAMESPACE, namespace, None)]
    changes: list[Change] = []
    if old is None or old.namespace != new.namespace:
        changes.append(Change(namespace, Kind.NAMESPACE, namespace, new.namespace))
    old_segments = {s.key: s for s in old.segments} if old is not None else {}
    old_flags = {f.key: f for f in old.flags} if old is not None else {}
    new_segments = {s.key: s for s in new.segments}
    new_flags = {f.key: f for f in new.flags}
    changes += [Change(namespace, Kind.SEGMENT, k, v) for k, v in new_segments.items() if old_segments.get(k) != v]
    changes += [Change(namespace, Kind.FLAG, k, None) for k in old_flags if k not in new_flags]
    changes += [Change(namespace, Kind.FLAG, k, v) for k, v in new_flags.items() if old_flags.get(k) != v]
    changes += [Change(namespace, Kind.SEGMENT, k, None) for k in old_segments if k not in new_segments]
    return changes


def apply_to_document(doc: Document | None, changes: list[Change]) -> Document:
    """The document with the changes applied at model level (no validation; the loader checks the result)."""
    if doc is None:
        doc = Document(namespace=NamespaceInfo(key=changes[0].namespace))
    for change in changes:
        if change.kind is Kind.NAMESPACE:
            if isinstance(change.value, NamespaceInfo):
                doc = doc.model_copy(update={"namespace": change.value})
            continue
        attr = "flags" if change.kind is Kind.FLAG else "segments"
        items = list(getattr(doc, attr))
        index = next((i for i, item in enumerate(items) if item.key == change.key), None)
        if change.value is None:
            if index is not None:
                items.pop(index)
        elif index is None:
            items.append(change.value)
        else:
            items[index] = change.value
        doc = doc.model_copy(update={attr: tuple(items)})
    return doc


def promotion_changes(namespace: str, source: Document, target: Document | None, flag: str | None) -> list[Change]:
    """What makes `target` hold `source`'s namespace, or only `source`'s flag plus the segments that flag uses."""
    if flag is None:
        return diff_documents(namespace, target, source)
    value = source.flag(flag)
    if value is None:
        raise NotFoundError(f"flag {namespace}/{flag} not found in the source environment")
    used = value.segment_keys()
    changes: list[Change] = []
    if target is None:
        changes.append(Change(namespace, Kind.NAMESPACE, namespace, source.namespace))
    for segment in source.segments:
        if segment.key in used and (target is None or target.segment(segment.key) != segment):
            changes.append(Change(namespace, Kind.SEGMENT, segment.key, segment))
    if target is None or target.flag(flag) != value:
        changes.append(Change(namespace, Kind.FLAG, flag, value))
    return changes
