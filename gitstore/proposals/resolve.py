"""Resolving a proposal's conflicts as a Git host's "resolve conflicts" does: a merge of the target into the branch.

`resolve(proposals, id, chosen)` writes one commit on the branch whose parents are the branch tip and the target's
tip, and whose tree is the target's with the branch's changes applied, each conflicting resource set to the version
chosen (`chosen`: resource name, e.g. "flag default/x" -> value, None = deleted). The merge base of branch and
target becomes the target's tip, so the proposal has no conflict left; its approvals were for the old tip and are
withdrawn (the reviewers see the resolution). A conflict not in `chosen` keeps the target's version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pygit2

from gitstore import roles as access
from gitstore.errors import NotFoundError
from gitstore.git.refs import branch_ref
from gitstore.git.repo import build_tree, cas_ref, make_commit, write_blob
from gitstore.git.tree_edits import edit_tree
from gitstore.model.changes import Change

if TYPE_CHECKING:
    from gitstore.proposals.service import Proposals
    from gitstore.results import Author


def resolve(proposals: Proposals, proposal_id: str, chosen: dict[str, Any], author: Author | None = None) -> str:
    """The merge commit's id (see the module docstring)."""
    store = proposals.store
    status = proposals.get(proposal_id)
    record = status.proposal
    env = record.environment
    info = next((e for e in store.environments() if e.name in (record.branch, f"{env}/{record.branch}")
                 and e.base == env), None)
    if info is None:
        raise NotFoundError(f"{proposal_id}: branch {record.branch!r} no longer exists")
    store.require(info.name, access.Action.COMMIT, "resolving a conflict")
    plan = proposals.plan(proposal_id)
    changes: list[Change] = []
    for item in plan.changes:
        value = (chosen.get(item.name, item.target) if item.conflict else item.change.value)
        if value != item.target:
            changes.append(Change(item.change.namespace, item.change.kind, item.change.key, value))
    who = author or proposals._me(env)
    names = ", ".join(c.name for c in plan.conflicts) or "nothing"
    message = (f"merge {env} into {record.branch} to resolve {proposal_id}\n\nResolved: {names} (changed in "
               f"{env} since {plan.base[:8]}).")
    directory = info.directory or ""

    def write(repo: pygit2.Repository) -> str:
        target = repo.get(pygit2.Oid(hex=plan.target_tip))
        assert isinstance(target, pygit2.Commit)
        edits = edit_tree(repo, target, directory, changes, store.cache) if changes else None
        blobs = {path: write_blob(repo, data) if data is not None else None
                 for path, data in (edits.files.items() if edits else ())}
        tree = build_tree(repo, target.tree, blobs)
        new = make_commit(repo, tree, [pygit2.Oid(hex=plan.branch_tip), target.id], who, message)
        cas_ref(repo, branch_ref(info.branch), pygit2.Oid(hex=plan.branch_tip), new, f"resolve {proposal_id}")
        return str(new)

    commit = store.run_on(env, write)
    if store.config.storage_of(env).remote is not None:
        from gitstore.errors import FlagdeckError

        try:
            store.push(info.name)
        except FlagdeckError:
            pass  # the next sync pushes it; the commit stands
    return commit
