"""Pending edits whose resource changed on the branch meanwhile. A conflict keeps three values: what the edit was
made on (`base`), the edit (`mine`) and the branch's value now (`theirs`). The user keeps mine, takes theirs, or
merges field by field; the store's `ConflictError` stays the last guard for anything missed here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.session import Session
from app.session_edits import Pending, Resource
from gitstore.model.changes import Change, resource_value


@dataclass
class Conflict:
    pending: Pending
    theirs: Resource | None
    commit: str  # the commit holding `theirs`
    authors: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return conflict_key(self.pending)

    @property
    def base(self) -> Resource | None:
        return self.pending.before

    @property
    def mine(self) -> Resource | None:
        return self.pending.change.value

    def headline(self) -> str:
        who = f" by {', '.join(self.authors)}" if self.authors else ""
        change = self.pending.change
        return f"{change.kind.value} {change.resource} changed in {self.commit[:8]}{who}"


def conflict_key(p: Pending) -> tuple[str, str, str, str]:
    return (p.env, p.change.namespace, p.change.kind.value, p.change.key)


def find_conflicts(pending: list[Pending], snapshot: Any, authors: list[str] | None = None) -> list[Conflict]:
    """Pending edits whose resource in `snapshot` is neither what they were made on nor what they want."""
    found = []
    for p in pending:
        theirs = resource_value(snapshot.document(p.change.namespace), p.change.kind, p.change.key)
        if theirs != p.before and theirs != p.change.value:
            found.append(Conflict(p, theirs, snapshot.commit, list(authors or [])))
    return found


@dataclass
class FieldChoice:
    """One top-level field where mine and theirs differ; `theirs` says which side the merge takes."""

    name: str
    mine: str
    theirs_text: str
    theirs: bool
    both_changed: bool  # changed on both sides since the base (a real conflict, not just one side's edit)

    def label(self) -> str:
        side = "theirs" if self.theirs else "mine  "
        mark = "  ⚠ both changed" if self.both_changed else ""
        return f"[{side}] {self.name}: mine {_short(self.mine)} │ theirs {_short(self.theirs_text)}{mark}"


def _short(text: str, width: int = 36) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _text(value: Any) -> str:
    dumped = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    if isinstance(dumped, list | tuple) and dumped and hasattr(value[0], "model_dump"):
        dumped = [v.model_dump(mode="json", exclude_defaults=True) for v in value]
    return json.dumps(dumped, ensure_ascii=False, sort_keys=True, default=str)


def field_choices(conflict: Conflict) -> list[FieldChoice]:
    """The fields that differ between mine and theirs, each preset as a three-way merge would: the side that changed
    it since the base wins; when both changed it, mine. Empty when either side deletes the resource."""
    mine, theirs, base = conflict.mine, conflict.theirs, conflict.base
    if mine is None or theirs is None or type(mine) is not type(theirs):
        return []
    choices = []
    for name in type(mine).model_fields:
        m, t = getattr(mine, name), getattr(theirs, name)
        if m == t:
            continue
        b = getattr(base, name) if base is not None and type(base) is type(mine) else None
        mine_changed, theirs_changed = m != b, t != b
        choices.append(FieldChoice(name, _text(m), _text(t), theirs_changed and not mine_changed,
                                   mine_changed and theirs_changed))
    return choices


def merged_value(conflict: Conflict, choices: list[FieldChoice]) -> Resource:
    """Mine with the fields chosen from theirs; validated again as a whole resource (ValueError if not valid)."""
    mine, theirs = conflict.mine, conflict.theirs
    if mine is None or theirs is None:
        raise ValueError("a deleted resource cannot be merged field by field: keep mine or take theirs")
    data, other = mine.model_dump(), theirs.model_dump()
    data.update({c.name: other[c.name] for c in choices if c.theirs})
    try:
        return type(mine).model_validate(data)
    except Exception as exc:  # pydantic's ValidationError: say which field
        raise ValueError(f"the merged {conflict.pending.change.kind.value} is not valid: {exc}") from None


def _replace(session: Session, old: Pending, new: Pending | None) -> None:
    index = session.pending.index(old)
    if new is None:
        del session.pending[index]
    else:
        session.pending[index] = new


def resolve(session: Session, conflict: Conflict, value: Resource | None, keep: bool = True) -> None:
    """Settle a conflict: the edit now stands on theirs. `keep=False` (take theirs) drops the edit; so does a merged
    value equal to theirs."""
    p = conflict.pending
    if not keep or value == conflict.theirs:
        _replace(session, p, None)
        return
    change = Change(p.change.namespace, p.change.kind, p.change.key, value)
    _replace(session, p, Pending(p.env, change, conflict.theirs, conflict.commit))


def already_applied(pending: list[Pending], snapshot: Any) -> list[Pending]:
    """Pending edits that the branch now holds exactly (someone made the same change): nothing left to commit."""
    return [p for p in pending if p.change.value != p.before and
            resource_value(snapshot.document(p.change.namespace), p.change.kind, p.change.key) == p.change.value]


def rebase_pending(session: Session, env: str, commit: str) -> None:
    """Once no conflict is open, every pending edit of `env` stands on `commit` (their resources are unchanged)."""
    for p in session.pending_for(env):
        p.based_on = commit
