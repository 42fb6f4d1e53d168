"""The console session's edit side (`SessionEdits`): the documents as the user sees them (the loaded snapshot with
the pending edits applied), the edits waiting for review (`Pending`), their diffs and their commit. Methods marked
*blocking* reach Git and are called from workers only; the rest are cheap enough for the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.session_loading import SessionLoading, plain_flags_of
from gitstore.model.changes import Change, Kind, apply_to_document, commit_message, resource_value
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment

if TYPE_CHECKING:
    from gitstore.results import CommitResult

Resource = Flag | Segment | NamespaceInfo


@dataclass
class Pending:
    """One resource change waiting for review: the change, the value it replaces, the commit it was made on."""

    env: str
    change: Change
    before: Resource | None
    based_on: str | None

    @property
    def title(self) -> str:
        verb = "create" if self.before is None and self.change.value is not None else self.change.verb
        return f"{verb} {self.change.kind.value} {self.change.resource}"


class SessionEdits(SessionLoading):
    # ----- documents as the user sees them (snapshot + pending) ----------------------------------------------
    def namespace_keys(self, env: str | None = None) -> list[str]:
        env = env or self.env
        snap = self.snapshots.get(env)
        keys = set(snap.namespaces) if snap else set()
        for p in self.pending_for(env):
            if p.change.kind is Kind.NAMESPACE:
                (keys.add if p.change.value is not None else keys.discard)(p.change.key)
        return sorted(keys)

    def base_document(self, env: str | None = None, namespace: str | None = None) -> Document | None:
        snap = self.snapshots.get(env or self.env)
        ns = snap.namespaces.get(namespace or self.namespace) if snap else None
        return ns.document if ns else None

    def document(self, env: str | None = None, namespace: str | None = None) -> Document | None:
        """The namespace document with this session's pending edits applied (None when it does not exist)."""
        env, namespace = env or self.env, namespace or self.namespace
        doc = self.base_document(env, namespace)
        changes = [p.change for p in self.pending_for(env) if p.change.namespace == namespace]
        if any(c.kind is Kind.NAMESPACE and c.value is None for c in changes):
            return None
        return apply_to_document(doc, changes) if changes else doc

    def plain_flags(self, env: str | None = None, namespace: str | None = None) -> list[dict[str, Any]] | None:
        """The namespace's flags as the file's checked plain data, while its document is not built and no edit of
        it is pending (the flag list's first screen: 100,000 flags shown without building 700,000 models); None
        otherwise (read `document()`). Never modify them."""
        env, namespace = env or self.env, namespace or self.namespace
        if any(p.change.namespace == namespace for p in self.pending_for(env)):
            return None
        return plain_flags_of(self.snapshots.get(env), namespace)

    def find(self, kind: Kind, key: str, namespace: str | None = None) -> Resource | None:
        return resource_value(self.document(namespace=namespace), kind, key)

    # ----- pending edits --------------------------------------------------------------------------------------
    def pending_for(self, env: str | None = None) -> list[Pending]:
        env = env or self.env
        return [p for p in self.pending if p.env == env]

    def is_pending(self, kind: Kind, key: str, namespace: str | None = None) -> bool:
        namespace = namespace or self.namespace
        return any(
            p.change.kind is kind and p.change.key == key and p.change.namespace == namespace
            for p in self.pending_for()
        )

    def stage(self, change: Change) -> None:
        """Add an edit; a second edit of the same resource folds into the first; an edit back to the original
        value drops it."""
        if not self.can_edit():
            raise PermissionError(f"role {self.role()!r} cannot edit environment {self.env!r}")
        snap = self.snapshots.get(self.env)
        for i, p in enumerate(self.pending):
            c = p.change
            if (p.env, c.namespace, c.kind, c.key) == (self.env, change.namespace, change.kind, change.key):
                if change.value == p.before:
                    del self.pending[i]
                else:
                    self.pending[i] = Pending(self.env, change, p.before, p.based_on)
                return
        before = self._base_value(change)
        if change.value != before:
            self.pending.append(Pending(self.env, change, before, snap.commit if snap else None))

    def _base_value(self, change: Change) -> Resource | None:
        return resource_value(self.base_document(self.env, change.namespace), change.kind, change.key)

    def discard(self, pending: Pending) -> None:
        self.pending.remove(pending)

    def discard_all(self, env: str | None = None) -> None:
        env = env or self.env
        self.pending = [p for p in self.pending if p.env != env]

    def file_diffs(self, env: str | None = None) -> list[Any]:
        """CPU (run it in a worker): per namespace with pending edits, the diff the commit will make to its file
        (`app.insight.file_diff`), in namespace order."""
        from app.insight.file_diff import file_diff

        env = env or self.env
        snap = self.snapshots.get(env)
        directory = self.info(env).directory or ""
        by_namespace: dict[str, list[Change]] = {}
        for p in self.pending_for(env):
            by_namespace.setdefault(p.change.namespace, []).append(p.change)
        return [file_diff(snap, directory, ns, changes) for ns, changes in sorted(by_namespace.items())]

    def proposed_message(self, env: str | None = None) -> str:
        items = self.pending_for(env)
        created = {p.change.resource for p in items if p.before is None}
        return commit_message([p.change for p in items], created) if items else ""

    def commit(self, message: str | None = None) -> CommitResult:
        """Blocking: commit this environment's pending edits as one commit; they stay pending if it fails."""
        items = self.pending_for()
        if not items:
            raise ValueError("nothing to commit")
        based_on = next((p.based_on for p in items if p.based_on), None)
        result = self.store.commit(
            self.env, [p.change for p in items], author=self.author_obj(), based_on=based_on,
            message=message or None,
        )
        self.pending = [p for p in self.pending if p not in items]
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result


def break_glass_commit(session: SessionEdits, reason: str, message: str | None = None) -> CommitResult:
    """Blocking: commit the session's pending edits directly to its protected environment, breaking glass
    (`store.break_glass`, admins only): the commit carries `Break-glass: <reason>` and leaves an audit record."""
    with session.store.break_glass(session.env, reason):
        return session.commit(message)


def resource_text(kind: Kind, value: Resource | None) -> str:
    """One resource as the YAML it will have in the file (empty when absent)."""
    if value is None:
        return ""
    from gitstore.format.models import dump_document

    if kind is Kind.FLAG:
        text = dump_document(Document(flags=(value,)))
    elif kind is Kind.SEGMENT:
        text = dump_document(Document(segments=(value,)))
    else:
        text = dump_document(Document(namespace=value))
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("flags:", "segments:", "namespace:"))), 0)
    return "\n".join(lines[start:]) + "\n"
