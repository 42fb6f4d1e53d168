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
    """(schedule, commit result); the pending edits are dropped once scheduled (they stay if it fails)."""
    from gitstore.automation import schedules

    store: Any = session.store  # the console's StoreEditor is a Store
    made, result = schedules.schedule_changes(store, session.env, change_set(session), at, message, missed,
                                              session.author_obj(), now=session.clock())
    session.discard_all()
    session.seen[session.env] = session.load()  # one's own commit is no news
    return made, result
