"""Reviewing proposals (`ProposalReview`): approve (for the branch tip seen, by a user other than the author with
the policy's role), comment or request changes, close."""

from __future__ import annotations

from gitstore import roles as access
from gitstore.errors import ValidationError
from gitstore.proposals.reading import ProposalReading, problem
from gitstore.proposals.records import Approval, Comment, Proposal, State, now, same_user, user_text
from gitstore.proposals.status import Refused, Status
from gitstore.results import Author


class ProposalReview(ProposalReading):
    def approve(self, proposal_id: str, user: Author | None = None) -> Status:
        target, record = self._find(proposal_id)
        self._refresh(record.environment)  # approve the branch's tip as the remote has it
        status = self._status(record)
        self._open(status)
        me = user_text(user or self._me(record.environment))
        if same_user(me, record.author):
            raise Refused(f"{proposal_id}: the author cannot approve their own proposal")
        self._role(record.environment, status.approvers, "approving")
        tip = status.branch_tip
        assert tip is not None

        def change(p: Proposal) -> Proposal:
            _still_open(p)
            kept = tuple(a for a in p.approvals if not same_user(a.user, me))
            approvals = (*kept, Approval(user=me, tip=tip, at=now()))
            valid = sum(1 for a in approvals if a.tip == tip)
            state = State.APPROVED if valid >= max(status.required, 1) else State.OPEN
            return p.model_copy(update={"approvals": approvals, "state": state, "tip": tip})

        return self._update(target, proposal_id, change, f"approve {proposal_id} at {tip[:8]}", user)

    def comment(self, proposal_id: str, text: str, user: Author | None = None,
                changes_requested: bool = False) -> Status:
        target, record = self._find(proposal_id)
        text = text.strip()
        if not text:
            raise ValidationError([problem("text", "a comment needs some text")])
        me = user_text(user or self._me(record.environment))
        entry = Comment(user=me, text=text, at=now(), changes_requested=changes_requested)
        what = "request changes on" if changes_requested else "comment on"
        return self._update(target, proposal_id, lambda p: p.model_copy(update={"comments": (*p.comments, entry)}),
                            f"{what} {proposal_id}", user)

    def close(self, proposal_id: str, user: Author | None = None) -> Status:
        target, record = self._find(proposal_id)
        self._open(self._status(record))
        me = user_text(user or self._me(record.environment))
        if not same_user(me, record.author):
            self.store.require(record.environment, access.Action.COMMIT, "closing another's proposal")

        def change(p: Proposal) -> Proposal:
            _still_open(p)
            return p.model_copy(update={"state": State.CLOSED, "closed_by": me})

        return self._update(target, proposal_id, change, f"close {proposal_id}", user)


def _still_open(record: Proposal) -> None:
    """Refused when the record was merged or closed since it was read (in another clone, say)."""
    if record.state in (State.MERGED, State.CLOSED):
        raise Refused(f"{record.id} is {record.state.value}")
