"""What a write asks for: resource-level changes, so a write can be rebased onto a moved branch and applied to the
file as a minimal textual edit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gitstore.documents import Flag, NamespaceInfo, Segment


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

    def message_line(self) -> str:
        """`update flag default/new-ui` (Flipt's commit message form)."""
        return f"{self.verb} {self.kind.value} {self.resource}"


def commit_message(changes: list[Change]) -> str:
    """Flipt's form: one change -> its line; several -> `updated multiple resources` plus one line each."""
    if len(changes) == 1:
        return changes[0].message_line()
    return "updated multiple resources\n\n" + "\n".join(c.message_line() for c in changes)
