"""The console's "schedule instead of commit": the environment's pending edits become a schedule of that change set
(`gitstore.automation.schedules.schedule_changes`, one commit of the records file), each resource with the value it
had when staged, so the scheduler checks it again when it runs. Blocking: run it in a worker."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from app.session import Session
    from gitstore.automation.changeset import ScheduledChange

Missed = Literal["run", "skip"]


def change_set(session: Session) -> tuple[ScheduledChange, ...]:
    """The pending edits of the session's environment as a change set (`FlagdeckError` for a namespace edit)."""
    from gitstore.automation import changeset

    return tuple(changeset.of(p.change, p.before) for p in session.pending_for())  # type: ignore[arg-type]


def schedule_pending(session: Session, at: datetime, missed: Missed | None, message: str) -> tuple[Any, Any]:
    """(schedule, commit result); in a protected environment (schedule, proposal status): the schedule is proposed
    (`gitstore.automation.proposed`), and merging the approved proposal adds it. The pending edits are dropped
    once scheduled or proposed (they stay if it fails)."""
    from gitstore.automation import proposed, schedules
    from gitstore.proposals.protection import protected

    store: Any = session.store  # the console's StoreEditor is a Store
    env, author, changes = session.env, session.author_obj(), change_set(session)

    def write(target: str, as_proposed: bool) -> tuple[Any, Any]:
        return schedules.schedule_changes(store, target, changes, at, message, missed, author, now=session.clock(),
                                          proposed=as_proposed)

    if protected(store.config, env):
        first = changes[0] if changes else None
        stem = proposed.stem_of("schedule", first.namespace, first.key) if first else "schedule"
        (made, _), outcome = proposed.open_proposal(store, env, stem, author, lambda branch: write(branch, True),
                                                    proposed.title_of("schedule", env))
        session.environments()  # the new branch
    else:
        made, outcome = write(env, False)
    session.discard_all()
    session.seen[env] = session.load()  # one's own commit is no news
    return made, outcome
