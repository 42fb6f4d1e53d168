"""A proposal's record: what is proposed, by whom, for which environment, and what reviewers said. Stored as YAML
(`<id>.yaml`) on the proposals branch (`gitstore.proposals.ledger`); each change of it is one commit there."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gitstore.errors import Problem
from gitstore.results import Author

ID_PATTERN = re.compile(r"^P-([1-9][0-9]*)$")
AUTHOR_PATTERN = re.compile(r"^\s*(.+?)\s*<\s*([^<>\s]+)\s*>\s*$")


class State(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    MERGED = "merged"
    CLOSED = "closed"


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Approval(Record):
    user: str
    tip: str  # the branch tip approved: any other tip voids the approval
    at: datetime


class Comment(Record):
    user: str
    text: str
    at: datetime
    changes_requested: bool = False


class Proposal(Record):
    id: str
    title: str = Field(min_length=1)
    description: str = ""
    author: str
    environment: str  # the target
    branch: str  # the branch environment's key
    state: State = State.OPEN  # as last written; what it is now is `gitstore.proposals.status.Status`
    base: str  # merge base of the branch and the target when proposed
    tip: str  # the branch tip when the record was last written
    approvals: tuple[Approval, ...] = ()
    comments: tuple[Comment, ...] = ()
    created: datetime
    updated: datetime
    merged_commit: str | None = None
    merged_by: str | None = None
    closed_by: str | None = None


class BreakGlass(Record):
    """The audit record of one commit made by breaking glass."""

    environment: str
    commit: str
    user: str
    reason: str
    at: datetime


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def user_text(author: Author) -> str:
    return f"{author.name} <{author.email}>"


def parse_user(text: str) -> Author:
    match = AUTHOR_PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a user of the form 'Name <email>'")
    return Author(match.group(1), match.group(2))


def same_user(a: str, b: str) -> bool:
    """Users are the same person when their emails are (case aside); a bare name compares as it is."""
    def email(text: str) -> str:
        match = AUTHOR_PATTERN.match(text)
        return (match.group(2) if match else text).strip().lower()
    return email(a) == email(b)


def number(proposal_id: str) -> int:
    match = ID_PATTERN.match(proposal_id)
    return int(match.group(1)) if match else 0


def dump(record: Record) -> bytes:
    """The record as YAML, keys in the model's order."""
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    out = StringIO()
    yaml.dump(record.model_dump(mode="json", exclude_defaults=False), out)
    return out.getvalue().encode("utf-8")


@functools.lru_cache(maxsize=4096)
def load(model: type[Record], path: str, data: bytes) -> tuple[Record | None, list[Problem]]:
    """The record in a file, or None and the problems (file, line, field) that make it unreadable. Read fast
    (yaml_rs), and again with ruamel for the line numbers only when it is unreadable; remembered by content (a
    listing or a change reads every record of the branch)."""
    import yaml_rs
    from pydantic import ValidationError as PydanticError

    try:
        return model.model_validate(yaml_rs.loads(data.decode("utf-8"), parse_datetime=False)), []
    except (PydanticError, UnicodeDecodeError, ValueError, yaml_rs.YAMLDecodeError):
        return None, _problems(model, path, data)


def _problems(model: type[Record], path: str, data: bytes) -> list[Problem]:
    from pydantic import ValidationError as PydanticError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from gitstore.format.yamlio import node_line, to_plain

    try:
        document = YAML(typ="rt").load(data.decode("utf-8"))
        model.model_validate(to_plain(document))
    except (YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem(path, mark.line + 1 if mark is not None else 0, "", f"not valid YAML: {exc}")]
    except PydanticError as exc:
        return [Problem(path, node_line(document, tuple(err["loc"])), ".".join(str(p) for p in err["loc"]),
                        err["msg"]) for err in exc.errors()]
    return [Problem(path, 0, "", "cannot be read")]


_RANK = {State.OPEN: 0, State.APPROVED: 1, State.CLOSED: 2, State.MERGED: 3}


def merge(base: Proposal | None, ours: Proposal, theirs: Proposal) -> Proposal:
    """One record from two versions changed apart (on two clones, one of them offline): approvals and comments of
    both (one approval per user, the latest), the furthest state (merged > closed > approved > open), and for the
    title and description the side that changed them."""
    def changed(name: str) -> Proposal:
        return ours if base is None or getattr(ours, name) != getattr(base, name) else theirs

    approvals: dict[str, Approval] = {}
    for approval in sorted((*theirs.approvals, *ours.approvals), key=lambda a: a.at):
        approvals[approval.user.lower()] = approval
    comments = {(c.user, c.at, c.text): c for c in (*theirs.comments, *ours.comments)}
    last = max(ours, theirs, key=lambda p: p.updated)
    final = max(ours, theirs, key=lambda p: _RANK[p.state])
    return theirs.model_copy(update={
        "title": changed("title").title, "description": changed("description").description,
        "state": final.state, "merged_commit": final.merged_commit or last.merged_commit,
        "merged_by": final.merged_by or last.merged_by, "closed_by": ours.closed_by or theirs.closed_by,
        "tip": last.tip, "updated": last.updated,
        "approvals": tuple(sorted(approvals.values(), key=lambda a: a.at)),
        "comments": tuple(sorted(comments.values(), key=lambda c: c.at)),
    })
