"""Scheduled changes, to be committed at a time, kept in `.flagdeck/schedules.yaml` on the environment's branch
(`gitstore.automation.records`). A schedule carries either a `FlagPatch` for one flag (`flagdeck schedule`: what it
sets, applied to the flag as it is when it runs) or a change set (`changes`: any edit the console can stage, flags
and segments of one or several namespaces, with each resource as it was when scheduled, checked again when it runs:
`gitstore.automation.changeset`).

Scheduling is a commit (editor; a protected environment admits it only through its protection: an admin breaking
glass), and so is cancelling. At its time a scheduler (`run_due`, called by every `flagdeck serve` replica) makes
the change a commit authored by `SCHEDULER` with `Schedule: <id>` and `On-behalf-of: <user>` trailers, and marks the
schedule done in that same commit, based on the tip it read the schedule at: a replica that read it pending too
finds the file changed and its commit refused (`ConflictError`), so the change lands once. A schedule found due
more than `late_after` after its time was missed (the scheduler was down): it runs late or is skipped, per its
`missed:` (else the configured default), and its record and commit say which. A change that no longer applies
(the flag deleted, a variant gone, a resource of a change set changed meanwhile in the fields it sets, a result that
does not validate) marks the schedule failed, with why, in a commit of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from gitstore.automation.changeset import ChangedMeanwhile, ScheduledChange, replay
from gitstore.automation.changeset import describe as describe_changes
from gitstore.automation.patch import FlagPatch, PatchError
from gitstore.automation.records import (
    SCHEDULER,
    Loaded,
    RecordFile,
    admitted,
    age,
    places,
    user_text,
    utcnow,
)
from gitstore.automation.writes import patched
from gitstore.errors import ConflictError, FlagdeckError, NotFoundError, ValidationError
from gitstore.proposals.records import Record

if TYPE_CHECKING:
    from gitstore.model.changes import Change
    from gitstore.results import Author, CommitResult
    from gitstore.store import Store

log = logging.getLogger(__name__)
Missed = Literal["run", "skip"]


class ScheduleState(StrEnum):
    PROPOSED = "proposed"  # on a proposal's branch: its merge into a protected environment makes it pending
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Schedule(Record):
    """`namespace`, `flag` and `set` (a patch of one flag), or `changes` (a change set; `namespace` and `flag` then
    name its first resource, for listings)."""

    id: str
    namespace: str
    flag: str
    set: FlagPatch | None = None
    changes: tuple[ScheduledChange, ...] = ()
    message: str = ""  # a change set's commit message (the one written in the review), else Flipt's form
    at: datetime
    missed: Missed | None = None  # None: the scheduler's default (`automation.missed`)
    by: str
    created: datetime
    state: ScheduleState = ScheduleState.PENDING
    ran_at: datetime | None = None  # when it ran, was skipped, failed or was cancelled
    note: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.set is None) == (not self.changes):
            raise ValueError("a schedule has either set (one flag) or changes (a change set)")
        return self

    def what(self) -> str:
        if self.set is not None:
            return f"{self.namespace}/{self.flag}: {self.set.describe()}"
        return describe_changes(self.changes)

    def target(self) -> str:
        """`default/new-ui`, or `default/new-ui +2` for a change set of three resources."""
        more = f" +{len(self.changes) - 1}" if len(self.changes) > 1 else ""
        return f"{self.namespace}/{self.flag}{more}"


class ScheduleFile(Record):
    schedules: tuple[Schedule, ...] = Field(default_factory=tuple)


SCHEDULES: RecordFile[Schedule] = RecordFile(".flagdeck/schedules.yaml", ScheduleFile, "schedules", "S")


@dataclass(frozen=True)
class Outcome:
    """What the scheduler did with one due schedule."""

    env: str
    schedule: Schedule  # as recorded after
    commit: str | None


def schedule(store: Store, env: str, namespace: str, flag: str, patch: FlagPatch, at: datetime,
             missed: Missed | None = None, author: Author | None = None, now: datetime | None = None,
             proposed: bool = False) -> tuple[Schedule, CommitResult]:
    """Record a schedule (one commit); refused now when the change does not apply to the flag as it is.
    `proposed`: recorded as such on a proposal's branch (`gitstore.automation.proposed`)."""
    if patch.empty():
        raise ValidationError([])

    def check() -> None:
        patched(store.snapshot(env), env, namespace, flag, patch)  # applies now (PatchError, NotFoundError)

    return _record(store, env, at, author, now, check, dict(namespace=namespace, flag=flag, set=patch, missed=missed),
                   proposed)


def schedule_changes(store: Store, env: str, changes: tuple[ScheduledChange, ...], at: datetime,
                     message: str = "", missed: Missed | None = None, author: Author | None = None,
                     now: datetime | None = None, proposed: bool = False) -> tuple[Schedule, CommitResult]:
    """Record a schedule of a change set (one commit): each change's `before` must be the resource as it is now
    (a change staged on an older state is refused with the resource named: review it again)."""
    if not changes:
        raise FlagdeckError("nothing to schedule: no changes")

    def check() -> None:
        replay_checked(store, env, changes, strict=True)

    first = changes[0]
    return _record(store, env, at, author, now, check, dict(namespace=first.namespace, flag=first.key,
                                                             changes=changes, message=message.strip(),
                                                             missed=missed), proposed)


def replay_checked(store: Store, env: str, changes: tuple[ScheduledChange, ...], strict: bool = False) -> list[Change]:
    """The change set's changes on the environment as it is now; `strict`: each resource must be exactly as its
    `before` (no rebase), as when it is scheduled."""
    snap = store.snapshot(env)
    if strict:
        from gitstore.model.changes import Kind, resource_value

        for item in changes:
            if resource_value(snap.document(item.namespace), Kind(item.kind), item.key) != item.before:
                raise ChangedMeanwhile(f"{item.kind} {item.resource} changed in {env!r} since the edit was staged: "
                                       "review it again")
    return replay(snap, env, changes)


def _record(store: Store, env: str, at: datetime, author: Author | None, now: datetime | None,
            check: Callable[[], None], fields: dict[str, Any], proposed: bool) -> tuple[Schedule, CommitResult]:
    check_time(at, now)
    now = now or utcnow()
    who = user_text(author or store.identity)
    made: list[Schedule] = []

    def edit(loaded: Loaded[Schedule]) -> tuple[tuple[Schedule, ...], str, list[Change]]:
        check()
        state = ScheduleState.PROPOSED if proposed else ScheduleState.PENDING
        made[:] = [Schedule(id=SCHEDULES.next_id(loaded.items), at=at, by=who, created=now, state=state, **fields)]
        return (*loaded.items, made[0]), f"schedule {made[0].id}: {made[0].what()} at {at.isoformat()}", []

    result = SCHEDULES.change(store, env, edit, author)
    return made[0], result


def check_time(at: datetime, now: datetime | None = None) -> None:
    """A schedule's time has a timezone and is not in the past (a minute's grace)."""
    if at.tzinfo is None:
        raise FlagdeckError("the time needs a timezone (e.g. 2026-12-24T18:00:00Z)")
    now = now or utcnow()
    if at < now.replace(second=0) and (now - at).total_seconds() > 60:
        raise FlagdeckError(f"{at.isoformat()} is in the past")


def cancel(store: Store, schedule_id: str, env: str | None = None, author: Author | None = None,
           now: datetime | None = None) -> tuple[str, Schedule, CommitResult]:
    """Cancel a pending schedule (one commit; its record stays, cancelled)."""
    env, _ = SCHEDULES.find(store, schedule_id, env)
    done: list[Schedule] = []

    def edit(loaded: Loaded[Schedule]) -> tuple[tuple[Schedule, ...], str, list[Change]]:
        items = []
        for item in loaded.items:
            if item.id == schedule_id:
                if item.state is not ScheduleState.PENDING:
                    raise FlagdeckError(f"{schedule_id} is {item.state.value}, not pending: nothing to cancel")
                item = item.model_copy(update={"state": ScheduleState.CANCELLED, "ran_at": now or utcnow(),
                                               "note": f"cancelled by {user_text(author or store.identity)}"})
                done.append(item)
            items.append(item)
        return tuple(items), f"unschedule {schedule_id}: {done[-1].what()}", []

    result = SCHEDULES.change(store, env, edit, author)
    return env, done[-1], result


def listing(store: Store, env: str | None = None) -> list[tuple[str, Schedule]]:
    """Every schedule of the environment (or of every configured environment), by time."""
    return sorted(SCHEDULES.every(store, env), key=lambda pair: (pair[1].at, pair[0], pair[1].id))


def problems(store: Store, env: str | None = None) -> list[str]:
    return [str(p) for e, _ in places(store, env) for p in SCHEDULES.read(store, e).problems]


def run_due(store: Store, env: str, now: datetime, late_after: float, default_missed: Missed = "run",
            refusal: Callable[[Schedule], str | None] | None = None,
            only: Callable[[Schedule], bool] | None = None) -> list[Outcome]:
    """Carry out every schedule of `env` due at `now`, one commit each (see the module docstring); a schedule
    another replica carried out first is left to it. `refusal(schedule)`: why its user may not make the change
    now (their role checked when it runs: the schedule is then marked failed with that reason), None if they may.
    `only(schedule)`: False leaves it alone (a branch environment's schedules inherited from its base)."""
    outcomes: list[Outcome] = []
    handled: set[str] = set()
    while True:
        loaded = SCHEDULES.read(store, env)
        due = [s for s in loaded.items if s.state is ScheduleState.PENDING and s.at <= now and s.id not in handled
               and (only is None or only(s))]
        if not due:
            return outcomes
        item = min(due, key=lambda s: (s.at, s.id))
        handled.add(item.id)
        try:
            denied = refusal(item) if refusal is not None else None
            outcome = carry_out(store, loaded, item, now, late_after, item.missed or default_missed, denied)
        except ConflictError as exc:
            log.info("schedule %s of %s: %s; another replica got there first, or will next time", item.id, env, exc)
            continue
        log.warning("schedule %s of %s: %s", item.id, env, outcome.schedule.note)
        outcomes.append(outcome)


def carry_out(store: Store, loaded: Loaded[Schedule], item: Schedule, now: datetime, late_after: float,
             missed: Missed, denied: str | None = None) -> Outcome:
    env = loaded.env
    late = (now - item.at).total_seconds()
    late_note = f"missed by {age(late)} (missed: {missed})" if late > late_after else ""
    trailers = (("Schedule", item.id), ("On-behalf-of", item.by))
    changes: list[Change] = []
    if late_note and missed == "skip":
        state, note = ScheduleState.SKIPPED, f"skipped: {late_note}"
    elif denied:
        state, note = ScheduleState.FAILED, f"failed: refused when it ran: {denied}"
    else:
        try:
            changes = _changes_of(store, env, item)
        except (NotFoundError, PatchError, ChangedMeanwhile) as exc:
            state, note = ScheduleState.FAILED, f"failed: {exc}"
        else:
            state = ScheduleState.DONE
            note = "ran" + (f" late: {late_note}" if late_note else " on time") + ("" if changes else "; already so")
    try:
        return _commit(store, loaded, item, now, state, note, changes, trailers)
    except ValidationError as exc:  # the change set would leave the environment invalid: fail, naming why
        return _commit(store, loaded, item, now, ScheduleState.FAILED, f"failed: {' '.join(str(exc).split())}",
                       [], trailers)


def _changes_of(store: Store, env: str, item: Schedule) -> list[Change]:
    if item.set is not None:
        change = patched(store.snapshot(env), env, item.namespace, item.flag, item.set)
        return [change] if change is not None else []
    return replay_checked(store, env, item.changes)


def _commit(store: Store, loaded: Loaded[Schedule], item: Schedule, now: datetime, state: ScheduleState, note: str,
            changes: list[Change], trailers: tuple[tuple[str, str], ...]) -> Outcome:
    from gitstore.model.changes import commit_message

    env = loaded.env
    updated = item.model_copy(update={"state": state, "ran_at": now, "note": note})
    items = tuple(updated if s.id == item.id else s for s in loaded.items)
    if not changes:
        subject = f"schedule {item.id} {state.value}"
    elif item.message:
        subject = item.message
    else:
        subject = commit_message(changes, {c.resource for c in item.changes if c.before is None})
    message = f"{subject}\n\nSchedule {item.id} by {item.by}, {item.what()}, at {item.at.isoformat()}: {note}."
    with admitted(store, env):
        result = SCHEDULES.commit(store, loaded, items, message, changes, SCHEDULER, trailers)
    return Outcome(env, updated, result.commit)

