"""What changed when a branch moved underneath the console, and who changed it: the resources that differ between
the snapshot on screen and the new one, and the authors of the commits in between that touched those namespaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitstore.model.changes import diff_documents

if TYPE_CHECKING:
    from gitstore.protocols import StoreEditor

HISTORY_LOOKBACK = 50  # commits per namespace read to find the authors


@dataclass(frozen=True)
class BranchMove:
    env: str
    old: str  # commit shown before ("" when nothing was loaded)
    new: str
    authors: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # "flag default/new-ui", "namespace beta", ...
    invalid: list[str] = field(default_factory=list)  # namespaces that no longer load

    def text(self) -> str:
        """`production moved to 1a2b3c4d by Bob Builder: flag default/search-ranking, segment default/beta`."""
        who = f" by {', '.join(self.authors)}" if self.authors else ""
        what = ", ".join(self.resources[:6]) + (f" and {len(self.resources) - 6} more"
                                                if len(self.resources) > 6 else "")
        text = f"{self.env} moved to {self.new[:8]}{who}: {what or 'no flag or segment changed'}"
        if self.invalid:
            text += f"; now invalid: {', '.join(self.invalid)}"
        return text


def _blob(snap: Any, ns: str) -> str | None:
    found = snap.namespaces.get(ns) if snap else None
    return found.blob if found is not None else None


def touched_namespaces(old: Any, new: Any) -> list[str]:
    """Namespaces whose file differs between two snapshots (sorted); an unchanged blob is an unchanged document."""
    names = sorted(set(old.namespaces if old else ()) | set(new.namespaces))
    return [ns for ns in names if _blob(old, ns) != _blob(new, ns)]


def changed_resources(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """Resource names that differ between two snapshots (sorted by namespace), and namespaces now invalid. Only
    the namespaces whose file changed are compared."""
    resources: list[str] = []
    invalid: list[str] = []
    for ns in touched_namespaces(old, new):
        before = old.document(ns) if old else None
        now = new.document(ns)
        if now is None and ns in new.namespaces:
            invalid.append(ns)
            continue
        resources += [f"{c.kind.value} {c.resource}" for c in diff_documents(ns, before, now)]
    return resources, invalid


def authors_between(store: StoreEditor, env: str, old: Any, new: Any, namespaces: list[str]) -> list[str]:
    """Authors (newest first, each once) of the commits after `old` that touched the namespaces. Blocking.
    A namespace's history is read from the tip back to `old`'s commit or to commits older than it."""
    authors: list[str] = []
    for ns in namespaces:
        for entry in store.history(env, ns, limit=HISTORY_LOOKBACK, diffs=False):
            if old is not None and (entry.commit == old.commit or (
                    old.committed_at is not None and entry.time < old.committed_at)):
                break
            if entry.author_name not in authors:
                authors.append(entry.author_name)
    return authors


def describe_move(store: StoreEditor, env: str, old: Any, new: Any) -> BranchMove:
    """Blocking (reads history): the move from snapshot `old` to snapshot `new` of `env`."""
    resources, invalid = changed_resources(old, new)
    namespaces = touched_namespaces(old, new)
    authors = authors_between(store, env, old, new, namespaces) if namespaces else []
    return BranchMove(env, old.commit if old else "", new.commit, authors, resources, invalid)
