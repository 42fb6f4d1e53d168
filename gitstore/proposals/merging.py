"""Merging proposals (`ProposalMerging`): the plan (the resource changes between the merge base and the branch
tip, each against the target's value now, conflicts marked, the schedules and ramps carried) and the merge: one
commit of the store on the target's tip with `Proposal:` and `Approved-by:` trailers, then the record says merged
and the branch is deleted (unless kept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitstore import roles as access
from gitstore.errors import ConflictError, FlagdeckError, ValidationError
from gitstore.git.tree_edits import conflicting_change
from gitstore.model.changes import Change, commit_message, diff_documents, resource_value
from gitstore.proposals import protection
from gitstore.proposals.reading import ProposalReading, merge_base
from gitstore.proposals.records import Proposal, State, user_text
from gitstore.proposals.status import Refused, Status
from gitstore.results import Author, CommitResult

if TYPE_CHECKING:
    from gitstore.model.documents import Document


@dataclass(frozen=True)
class ResourceChange:
    """One resource the merge would change: the change, the target's value now, and whether the target changed it
    too since the base (a conflict)."""

    change: Change
    target: object | None
    conflict: bool

    @property
    def name(self) -> str:
        return f"{self.change.kind.value} {self.change.resource}"


@dataclass(frozen=True)
class Plan:
    """What merging takes: tips read, the merge base, the changes resource by resource."""

    branch_tip: str
    target_tip: str
    base: str
    changes: list[ResourceChange] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    """The schedules and ramps merging adds to the target (`gitstore.automation.proposed`), one line each."""

    @property
    def conflicts(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.conflict]


@dataclass(frozen=True)
class MergeResult:
    status: Status
    commit: CommitResult
    branch_deleted: bool
    branch_error: str | None = None  # why the branch could not be deleted (the merge stands)


class ProposalMerging(ProposalReading):
    def plan(self, proposal_id: str) -> Plan:
        """The change resource by resource against the target's current state (`Plan.conflicts` among them)."""
        status = self.get(proposal_id)
        if status.branch_tip is None:
            raise Refused(f"{proposal_id}: branch {status.proposal.branch!r} no longer exists")
        return self._plan(status.proposal, status.branch_tip)

    def merge(self, proposal_id: str, user: Author | None = None, keep_branch: bool = False) -> MergeResult:
        target, record = self._find(proposal_id)
        env = record.environment
        self._refresh(env)  # merge the branch as the remote has it
        status = self._status(record)
        self._open(status)
        tip = status.branch_tip
        assert tip is not None
        if len(status.approvals) < status.required:
            raise Refused(f"{proposal_id} is not approved: {len(status.approvals)} of {status.required} "
                          f"approval(s) by a user with role {status.approvers} for the branch's tip {tip[:8]}"
                          + (f" ({status.note})" if status.note else ""))
        for request in status.changes_requested:
            raise Refused(f"{proposal_id}: {request.user} requested changes ({request.text!r}); their approval "
                          "lifts it")
        plan = self._plan(record, tip)
        if plan.conflicts:
            names = ", ".join(c.name for c in plan.conflicts)
            first = plan.conflicts[0]
            raise ConflictError(f"{proposal_id} conflicts with {env}: {names} changed on both since "
                                f"{plan.base[:8]}", resource=first.change.resource)
        changes = [c.change for c in plan.changes if c.target != c.change.value]
        carried = self._carried(record, plan)  # the schedules and ramps it adds
        if not changes and not carried.files:
            raise Refused(f"{proposal_id}: {env} already holds every change of branch {record.branch!r}: nothing "
                          "to merge (close it)")
        self.store.require(env, access.action_of(changes), "merging")
        created = {c.change.resource for c in plan.changes if c.target is None and c.change.value is not None}
        trailers = (("Proposal", proposal_id), *(("Approved-by", a.user) for a in status.approvals))
        subject = commit_message(changes, created) if changes else "; ".join(carried.lines)
        adds = "".join(f"\nAdds {line}." for line in carried.lines) if changes else ""
        message = protection.with_trailers(
            f"{subject}\n\nMerges proposal {proposal_id} ({record.title}) from branch {record.branch} at {tip}.{adds}",
            trailers)
        with protection.admitted(protection.Admission(env)):
            result = self.store.commit(env, changes, user, plan.target_tip, message, files=carried.files or None)
        me = user_text(user or self._me(env))
        merged = self._update(target, proposal_id, lambda p: p.model_copy(update={
            "state": State.MERGED, "merged_commit": result.commit, "merged_by": me, "tip": tip}),
            f"merge {proposal_id} as {result.commit[:8]}", user)
        if keep_branch:
            return MergeResult(merged, result, False)
        try:
            self.store.delete_branch(env, record.branch)
        except FlagdeckError as exc:
            return MergeResult(merged, result, False, str(exc))
        return MergeResult(merged, result, True)

    def _plan(self, record: Proposal, branch_tip: str) -> Plan:
        env = record.environment
        target_tip = self._head(env)
        base = self.store.run_on(env, merge_base, branch_tip, target_tip)
        at_base, at_tip, now_ = (self.store.snapshot(env, c) for c in (base, branch_tip, target_tip))
        changes: list[ResourceChange] = []
        for namespace in sorted(set(at_base.namespaces) | set(at_tip.namespaces)):
            old, new = at_base.namespaces.get(namespace), at_tip.namespaces.get(namespace)
            if (old.digest if old else None) == (new.digest if new else None):
                continue
            before = _document(old, "at the merge base")
            after = _document(new, f"on branch {record.branch}")
            current = _document(now_.namespaces.get(namespace), f"in {env}")
            for change in diff_documents(namespace, before, after):
                value = resource_value(current, change.kind, change.key)
                clash = conflicting_change(before, current, [change]) is not None
                changes.append(ResourceChange(change, value, clash))
        plan = Plan(branch_tip, target_tip, base, changes)
        plan.records.extend(self._carried(record, plan).lines)
        return plan

    def _carried(self, record: Proposal, plan: Plan) -> Any:
        """The schedules and ramps the branch adds (`gitstore.automation.proposed.carried`)."""
        from gitstore.automation.proposed import carried

        return carried(self.store, record.environment, plan.base, plan.branch_tip, plan.target_tip, record.id)


def _document(found: object | None, where: str) -> Document | None:
    if found is None:
        return None
    document = found.document  # type: ignore[attr-defined]
    if document is None:
        raise ValidationError([*found.problems])  # type: ignore[attr-defined]
    return document  # type: ignore[no-any-return]
