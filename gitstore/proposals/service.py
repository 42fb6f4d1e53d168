"""Change proposals: a branch environment plus a record (`records.Proposal`) on the proposals branch of the target
environment's repository (`ledger`). What a console, the CLI or a server calls: `Proposals(store)`.

- `propose(env, branch, title)`: the branch (a branch environment of `env`, see `gitstore.branches`) must change
  something; ids are `P-<n>`, sequential per repository (the ledger's compare-and-swap keeps them unique).
- `approve(id)`: by a user other than the author holding at least the policy's `approvers` role in the target
  (`protection.policy`); an approval is for the branch tip it saw, and a branch that moves since voids it.
- `merge(id)`: the resource changes between `merge_base(branch tip, target tip)` and the branch tip, applied on the
  target's tip as one commit of the store (compare-and-swap on the tip read) with `Proposal:` and `Approved-by:`
  trailers; a resource changed on both sides since the base is a `ConflictError` naming it. Then the record says
  merged, and the branch is deleted (unless kept).
- What a proposal is now (`Status`) is worked out on each read: approvals for another tip do not count, and a
  branch whose tip the target already contains (a Git host's pull request merged by hand) is merged.
The store's roles and identity are the acting user's: reading needs viewer in the target, commenting viewer,
proposing and closing editor (closing: or being the author), approving the policy's role, merging editor (admin
when the change creates, renames or deletes a namespace).

The service is built in parts, each in its own module: reading records and working out a status (`reading`, on
`status`), opening (`opening`), review (`review`) and merging (`merging`). The names callers use are all
importable from here.
"""

from __future__ import annotations

from gitstore.proposals.merging import MergeResult, Plan, ProposalMerging, ResourceChange
from gitstore.proposals.opening import ProposalOpening
from gitstore.proposals.review import ProposalReview
from gitstore.proposals.status import Refused, Status, standing_requests

__all__ = ["MergeResult", "Plan", "Proposals", "Refused", "ResourceChange", "Status", "standing_requests"]


class Proposals(ProposalOpening, ProposalReview, ProposalMerging):
    """Proposals over one Store (see the module docstring): opening, review and merging, on the records read."""
