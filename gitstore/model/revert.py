"""Reverting a commit, and restoring a version, at the level of resources (flags, segments, namespace metadata).

*Revert commit C* undoes what C changed and nothing else (git's meaning, as the console's `r` promises): each
resource C changed goes back to its value before C, provided it still holds the value C gave it. A resource changed
again since C is a conflict (the error names who changed it); one already back to its value before C is left alone;
when every resource is already back, there is nothing to revert and the error says so. With a flag, only that
flag's change is undone. A commit that created a namespace is undone by deleting it (only while nothing was added
to it since), one that deleted it by creating it again as it was.

*Restore to commit C* puts the namespace (or one flag) back as it was at C, whatever happened since.

Neither rewrites history: the result is one new commit on the tip, made with the usual compare-and-swap.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitstore.errors import ConflictError, FlagdeckError, NotFoundError
from gitstore.model.changes import Change, Kind, apply_to_document, diff_documents, resource_value
from gitstore.model.documents import PROTECTED_NAMESPACE, Document, NamespaceInfo


class NothingToRevert(FlagdeckError):
    """The revert or restore would change nothing: the message says why."""


class RevertConflict(ConflictError):
    """A resource the reverted commit changed holds another value now; `change` names it."""

    def __init__(self, message: str, change: Change):
        super().__init__(message, resource=change.resource)
        self.change = change


@dataclass(frozen=True)
class Undo:
    """What undoing a commit takes: the changes to commit, and the resources already back as before (skipped)."""

    changes: list[Change]
    skipped: list[str]


def _empty(namespace: str) -> Document:
    return Document(namespace=NamespaceInfo(key=namespace))


def made_by(namespace: str, before: Document | None, after: Document | None, flag: str | None) -> list[Change]:
    """The resource changes a commit made to the namespace (only the flag's, with `flag`)."""
    if before is None and after is not None and namespace == PROTECTED_NAMESPACE:
        before = _empty(namespace)
    made = diff_documents(namespace, before, after)
    if flag is not None:
        made = [c for c in made if c.kind is Kind.FLAG and c.key == flag]
    return made


def undo(namespace: str, before: Document | None, after: Document | None, now: Document | None,
         flag: str | None, commit: str) -> Undo:
    """The changes that undo what `commit` (which turned `before` into `after`) did, applied on `now`.
    `RevertConflict` when a resource it changed holds another value now; `NothingToRevert` when there is nothing
    left to undo."""
    short = commit[:8]
    what = f"flag {namespace}/{flag}" if flag else f"namespace {namespace}"
    if before is None and after is not None and namespace == PROTECTED_NAMESPACE:
        before = _empty(namespace)  # "default" always exists: its first file is not a namespace creation
    made = made_by(namespace, before, after, flag)
    if not made:
        raise NothingToRevert(f"commit {short} did not change {what}: nothing to revert")
    if after is None:  # the commit deleted the namespace: create it again as it was
        if now is not None:
            raise RevertConflict(f"namespace {namespace} was created again after {short}",
                                 Change(namespace, Kind.NAMESPACE, namespace, None))
        return Undo(diff_documents(namespace, None, before), [])
    if before is None and flag is None:  # the commit created the namespace: delete it, unless used since
        if now is None:
            raise NothingToRevert(f"namespace {namespace} no longer exists: nothing to revert")
        ours, theirs = _resources(after), _resources(now)
        changed = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        if changed:
            kind, key = changed[0]
            raise RevertConflict(f"namespace {namespace} changed after {short} ({kind.value} {key}), so deleting "
                                 "it would lose more than that commit made", Change(namespace, kind, key, None))
        return Undo([Change(namespace, Kind.NAMESPACE, namespace, None)], [])
    base = before if before is not None else _empty(namespace)
    back: list[Change] = []
    skipped: list[str] = []
    for change in made:
        old = resource_value(base, change.kind, change.key)
        current = resource_value(now, change.kind, change.key)
        if current == old:
            skipped.append(_name(change))
        elif current != change.value:
            raise RevertConflict(f"{_name(change)} was changed again after {short}", change)
        else:
            back.append(Change(namespace, change.kind, change.key, old))
    if not back:
        raise NothingToRevert(f"{what} is already as it was before {short}: nothing to revert")
    if now is None:
        raise NotFoundError(f"namespace {namespace} no longer exists")
    return Undo(diff_documents(namespace, now, apply_to_document(now, back)), skipped)


def revert_message(subject: str, commit: str, namespace: str, flag: str | None, changes: str) -> str:
    """The message of a revert commit, in `git revert`'s form: the subject `Revert "<reverted subject>"` (reverting
    a revert: `Reapply "<its subject>"`, as Git 2.43+ writes), then `This reverts commit <id>.`; then what was
    reverted when only one flag was, and `changes` (the Flipt-form lines of what this commit changes, which the
    console reads to tell when a resource last changed)."""
    inner = subject[len('Revert "'):-1] if subject.startswith('Revert "') and subject.endswith('"') else None
    title = f'Reapply "{inner}"' if inner is not None else f'Revert "{subject}"'
    scope = f"\nOnly flag {namespace}/{flag} was reverted." if flag else ""
    return f"{title}\n\nThis reverts commit {commit}.{scope}\n\n{changes}"


def restore(namespace: str, then: Document | None, now: Document | None, flag: str | None,
            commit: str) -> list[Change]:
    """The changes that put the namespace (or the flag) back as it was at `commit`."""
    short = commit[:8]
    if flag is None:
        changes = diff_documents(namespace, now, then)
        what = f"namespace {namespace}"
    else:
        value = then.flag(flag) if then is not None else None
        if value is None and (now is None or now.flag(flag) is None):
            raise NotFoundError(f"flag {namespace}/{flag} exists neither at {short} nor now")
        changes = [] if (now.flag(flag) if now is not None else None) == value else [
            Change(namespace, Kind.FLAG, flag, value)]
        what = f"flag {namespace}/{flag}"
    if not changes:
        raise NothingToRevert(f"{what} is already as it was at {short}: nothing to restore")
    return changes


def _name(change: Change) -> str:
    return f"{change.kind.value} {change.resource}"


def _resources(doc: Document) -> dict[tuple[Kind, str], object]:
    found: dict[tuple[Kind, str], object] = {(Kind.NAMESPACE, doc.namespace.key): doc.namespace}
    found.update({(Kind.FLAG, f.key): f for f in doc.flags})
    found.update({(Kind.SEGMENT, s.key): s for s in doc.segments})
    return found
