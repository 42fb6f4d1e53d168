"""Breaking glass: an admin writes to a protected environment without a proposal, for incidents when nobody can
approve. Each commit made inside `break_glass` carries a `Break-glass: <reason>` trailer, and leaves an audit
record `audit/<UTC time>-<commit>.yaml` (`records.BreakGlass`: environment, commit, user, reason, time) on the
proposals branch of the environment's repository, pushed with the proposal records (`gitstore.proposals.ledger`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gitstore import roles as access
from gitstore.errors import FlagdeckError, Problem, ValidationError
from gitstore.proposals.ledger import Files, ledger_of
from gitstore.proposals.protection import Admission, admitted
from gitstore.proposals.records import BreakGlass, dump, load, now, user_text

if TYPE_CHECKING:
    from gitstore.store import Store

AUDIT_DIR = "audit"
log = logging.getLogger(__name__)


@contextlib.contextmanager
def break_glass(store: Store, env: str, reason: str) -> Iterator[Admission]:
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError([Problem("", 0, "reason", "breaking glass needs a reason (it is recorded)")])
    store.require(env, access.Action.BREAK_GLASS)
    user = user_text(store.identity) if store.identity else None
    ledger = ledger_of(store)

    def record(target: str, commit: str) -> None:
        who = user or store.run_on(target, lambda repo: user_text(store._fallback_author(repo)))
        entry = BreakGlass(environment=target, commit=commit, user=who, reason=reason, at=now())
        path = f"{AUDIT_DIR}/{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{commit[:12]}.yaml"  # in order

        def edit(files: Files) -> tuple[dict[str, bytes | None], str, None]:
            return {path: dump(entry)}, f"break glass in {target} ({commit[:8]})\n\n{reason}", None

        try:
            ledger.change(target, edit, store.identity)
        except (FlagdeckError, OSError) as exc:  # the commit stands, and carries its Break-glass trailer
            log.warning("the audit record of break-glass commit %s in %s was not written: %s", commit, target, exc)

    with admitted(Admission(env, (("Break-glass", reason),), record)) as admission:
        yield admission


def audit(store: Store, env: str) -> list[BreakGlass]:
    """The break-glass records of an environment, oldest first."""
    found = []
    for path, data in sorted(ledger_of(store).files(env).items()):
        if path.startswith(f"{AUDIT_DIR}/"):
            entry, _ = load(BreakGlass, path, data)
            if isinstance(entry, BreakGlass) and entry.environment == env:
                found.append(entry)
    return found
