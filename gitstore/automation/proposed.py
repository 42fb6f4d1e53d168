"""Schedules and ramps in a protected environment go in through a proposal, with the rules every proposal has
(`gitstore.proposals`: approvals by the policy's role, not by the author; changes requested block it; merging needs
editor; every step a commit of the ledger).

Opening one (`open_proposal`): a branch environment of the target (`schedule-<namespace>-<flag>`, numbered when
taken) receives the record in its `.flagdeck/` file with state `proposed` (so no scheduler ever carries it out
there), and the branch is proposed. Reviewers see the record in the proposal's plan (`Plan.records`), and approve
the branch's tip as for any proposal.

Merging it (`carried`, called by `Proposals.merge`): the records the branch added since the merge base with state
`proposed` are added to the target's file, in the merge's one commit (with `Proposal:` and `Approved-by:` trailers),
beside any resource change the branch also makes: a schedule becomes `pending` (renumbered if its id was taken in
the target meanwhile), a ramp `running` from the merge, with the flag as it is at the merge as its "before" and its
steps planned again on it (refused, with why, when they no longer apply, or when the flag has a ramp already)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from gitstore.automation.records import RecordFile, utcnow
from gitstore.errors import FlagdeckError, ValidationError

if TYPE_CHECKING:
    from gitstore.proposals.service import Status
    from gitstore.results import Author
    from gitstore.store import Store

T = TypeVar("T")


@dataclass(frozen=True)
class Carried:
    """What merging a proposal adds to the target's record files: path (under the environment's directory) ->
    the file's new bytes, and one line for each record added."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def open_proposal(store: Store, env: str, stem: str, author: Author | None, write: Callable[[str], T],
                  title_of: Callable[[T], tuple[str, str]]) -> tuple[T, Status]:
    """A branch of `env`, `write(branch environment)` on it (the record, as proposed), then the proposal
    (`title_of(what write returned) -> (title, description)`); the branch is deleted again when either fails."""
    from gitstore.proposals.service import Proposals

    proposals = Proposals(store)
    name = proposals.free_branch(env, stem)
    info = store.branch(env, name, author)
    try:
        made = write(info.name)
        title, description = title_of(made)
        return made, proposals.propose(env, name, title, description, author)
    except BaseException:
        with contextlib.suppress(FlagdeckError):
            store.delete_branch(env, name)
        raise


def stem_of(kind: str, namespace: str, flag: str) -> str:
    """`schedule-default-new-ui`: a branch name's stem."""
    return "-".join(part for part in (kind, namespace, flag) if part)


def title_of(kind: str, env: str) -> Callable[[Any], tuple[str, str]]:
    """The proposal's title and description for a proposed record (or a (record, commit) pair)."""
    def title(made: Any) -> tuple[str, str]:
        record = made[0] if isinstance(made, tuple) else made
        at = getattr(record, "at", None)
        when = f" at {at.strftime('%Y-%m-%d %H:%M')}Z" if at is not None else ""
        return (f"{kind.capitalize()} {record.what()}{when}",
                f"Adds {kind} {record.id} to {env} once approved and merged: {_what(record)}, by {record.by}.")
    return title


def carried(store: Store, env: str, base: str, branch_tip: str, target_tip: str, proposal: str,
            now: datetime | None = None) -> Carried:
    """The records a proposal's branch adds (see the module docstring), as the target's files will hold them."""
    from gitstore.automation.ramps import RAMPS
    from gitstore.automation.schedules import SCHEDULES

    now = now or utcnow()
    found = Carried()
    activations: tuple[tuple[RecordFile[Any], Callable[..., Any]], ...] = (
        (SCHEDULES, _pending), (RAMPS, _running))
    for records, activate in activations:
        try:
            before = {r.id for r in records.read_at(store, env, base)}
            new = [r for r in records.read_at(store, env, branch_tip) if r.id not in before
                   and r.state == "proposed"]
        except ValidationError:  # a file broken by hand on the branch or at the base adds nothing
            continue
        if not new:
            continue
        items = list(records.read_at(store, env, target_tip))
        for record in new:
            if any(i.id == record.id for i in items):
                record = record.model_copy(update={"id": records.next_id(tuple(items))})
            record = activate(store, env, target_tip, tuple(items), record, proposal, now)
            items.append(record)
            found.lines.append(f"{records.field.removesuffix('s')} {record.id}: {_what(record)}")
        found.files[records.path] = records.data(tuple(items))
    return found


def _what(record: Any) -> str:
    at = getattr(record, "at", None)
    return record.what() + (f" at {at.isoformat()}" if at is not None else "")  # type: ignore[no-any-return]


def _pending(store: Store, env: str, target_tip: str, items: tuple[Any, ...], record: Any, proposal: str,
             now: datetime) -> Any:
    from gitstore.automation.schedules import ScheduleState

    return record.model_copy(update={"state": ScheduleState.PENDING, "note": f"via proposal {proposal}"})


def _running(store: Store, env: str, target_tip: str, items: tuple[Any, ...], record: Any, proposal: str,
             now: datetime) -> Any:
    from gitstore.automation.ramps import Event, RampState, check_free, plan
    from gitstore.automation.writes import flag_of

    check_free(items, env, record.namespace, record.flag)
    current = flag_of(store.snapshot(env, target_tip), env, record.namespace, record.flag)
    percentages = [s.threshold if s.threshold is not None else (s.distribution or {}).get(record.variant, 0.0)
                   for s in record.steps]
    rule = record.steps[0].rule if record.steps else None
    _, steps = plan(current, percentages, record.variant, rule, f"{env} {record.namespace}/{record.flag}")
    return record.model_copy(update={
        "state": RampState.RUNNING, "before": current, "steps": steps, "next_at": now, "step": 0,
        "events": (*record.events, Event(at=now, text=f"started: proposal {proposal} merged"))})
