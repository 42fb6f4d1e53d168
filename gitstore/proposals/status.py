"""What a proposal is now (`Status`, worked out on each read from the record, the branch and the target), the
requests for changes that stand, and `Refused`: what the proposals service answers when it cannot act."""

from __future__ import annotations

from dataclasses import dataclass

from gitstore.errors import FlagdeckError
from gitstore.proposals.records import Approval, Comment, Proposal, State, same_user


class Refused(FlagdeckError):
    """The proposal cannot do that now (not approved, the author approving, already merged...): the message says
    why."""


@dataclass(frozen=True)
class Status:
    """A proposal as it is now: `state` worked out from the record, the branch and the target; `approvals` those
    that count (for the branch's current tip), `required` how many the target's policy asks, of whom."""

    proposal: Proposal
    state: State
    branch_tip: str | None
    approvals: tuple[Approval, ...]
    required: int
    approvers: str
    note: str = ""  # why the state differs from the record's, e.g. "the branch moved: approvals withdrawn"

    @property
    def id(self) -> str:
        return self.proposal.id

    @property
    def changes_requested(self) -> tuple[Comment, ...]:
        """The requests for changes that stand: each reviewer's latest, unless they approved since (which lifts
        it). While one stands the proposal is not approved and cannot be merged."""
        return standing_requests(self.proposal)


def standing_requests(record: Proposal) -> tuple[Comment, ...]:
    latest: dict[str, Comment] = {}
    for comment in record.comments:
        if comment.changes_requested:
            latest[comment.user.lower()] = comment
    return tuple(c for c in latest.values()
                 if not any(same_user(a.user, c.user) and a.at >= c.at for a in record.approvals))
