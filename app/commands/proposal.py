"""Change proposals from the command line (issue 15): `flagdeck propose`, `proposals`, `proposal show`, `approve`,
`comment`, `merge`, `close` (gitstore.proposals does the work; this file reads options and prints).

The acting user is `--user "Name <email>"` (else `FLAGDECK_USER`, else Git's identity), as for `flagdeck revert`;
their role is `FLAGDECK_ROLES` (unset: admin everywhere), as for every command: the same rule as the console's and
the SSH server's, which hands each person's roles to their console. Exit status: 0 done, 1 refused (one line saying
why: not approved, the author cannot approve, protected, conflict naming the resource), 2 usage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.commands.writing import config_option, json_option, open_as, refusals, user_option

if TYPE_CHECKING:
    from gitstore.proposals.service import Plan, Proposals, Status
    from gitstore.results import Author

STATES = ("open", "approved", "merged", "closed")
@contextmanager
def proposals(config_path: Path | None, user: str | None) -> Iterator[tuple[Proposals, Author | None]]:
    """The proposals of the configured store, opened as the acting user; a refusal exits 1 with one line."""
    from gitstore.proposals.service import Proposals

    store, author = open_as(config_path, user)
    try:
        with refusals():
            found = Proposals(store)
            yield found, author
            for env, state in found.unpushed():
                click.echo(f"warning: {state.ahead} proposal record change(s) of {env}'s repository not pushed yet "
                           f"({state.last_error or 'remote unreachable'}); pushed by the next change or listing",
                           err=True)
    finally:
        store.close()


@click.command("propose")
@click.option("--env", "env", required=True, help="The environment the change is for (the branch's base).")
@click.option("--branch", "branch", required=True, help="The branch environment holding the change.")
@click.option("--title", "title", required=True, help="What the change does.")
@click.option("--description", "description", default="", help="Why, and what reviewers should look at.")
@user_option
@config_option
def propose(env: str, branch: str, title: str, description: str, user: str | None,
            config_path: Path | None) -> None:
    """Propose merging a branch environment into its environment; prints the proposal's id."""
    with proposals(config_path, user) as (found, author):
        status = found.propose(env, branch, title, description, author)
        click.echo(status.id)


@click.command("proposals")
@click.option("--env", "env", default=None, help="Only proposals for this environment.")
@click.option("--state", "state", type=click.Choice(STATES), default=None, help="Only proposals in this state.")
@json_option
@config_option
def listing(env: str | None, state: str | None, as_json: bool, config_path: Path | None) -> None:
    """List change proposals, newest last, with their state now."""
    with proposals(config_path, None) as (found, _):
        statuses = found.all(env, state)
        if as_json:
            click.echo(json.dumps([status_json(s) for s in statuses], indent=2))
            return
        for problem in found.problems(env):
            click.echo(f"warning: {problem}", err=True)
        if not statuses:
            click.echo("no proposals")
            return
        rows = [(s.id, s.state.value, f"{s.proposal.branch} -> {s.proposal.environment}",
                 f"{len(s.approvals)}/{s.required}", s.proposal.author.split(" <")[0], s.proposal.title)
                for s in statuses]
        rows.insert(0, ("ID", "STATE", "BRANCH -> TARGET", "APPROVALS", "AUTHOR", "TITLE"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            click.echo("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[5]]))


@click.group("proposal")
def group() -> None:
    """Show one change proposal."""


@group.command("show")
@click.argument("proposal_id", metavar="ID")
@json_option
@config_option
def show(proposal_id: str, as_json: bool, config_path: Path | None) -> None:
    """The proposal, its approvals and comments, and its change resource by resource against the target."""
    from gitstore.errors import FlagdeckError

    with proposals(config_path, None) as (found, _):
        status = found.get(proposal_id)
        plan, why = None, ""
        if status.branch_tip is not None and status.state.value in ("open", "approved"):
            try:
                plan = found.plan(proposal_id)
            except FlagdeckError as exc:
                why = str(exc)
        if as_json:
            out = status_json(status)
            out["changes"] = [change_json(c) for c in plan.changes] if plan else None
            out["records"] = plan.records if plan else None
            out["target_tip"] = plan.target_tip if plan else None
            out["merge_base"] = plan.base if plan else None
            out["mergeable"] = bool(plan and not plan.conflicts and len(status.approvals) >= status.required)
            click.echo(json.dumps(out, indent=2))
            return
        for line in describe(status, plan, why):
            click.echo(line)


def _acting(name: str, verb: str, doc: str) -> Callable[[Callable[..., Status]], click.Command]:
    """A command `flagdeck NAME ID --user ...` that runs `act(proposals, id, author)` and prints
    `<verb> ID: <state now>`."""
    def wrap(act: Callable[..., Status]) -> click.Command:
        @click.command(name, help=doc)
        @click.argument("proposal_id", metavar="ID")
        @user_option
        @config_option
        def command(proposal_id: str, user: str | None, config_path: Path | None) -> None:
            with proposals(config_path, user) as (found, author):
                status = act(found, proposal_id, author)
                click.echo(f"{verb} {proposal_id}: {status.state.value}")
        return command
    return wrap


@_acting("approve", "approved", "Approve a proposal (its branch's current tip) as a user other than its author.")
def approve(found: Proposals, proposal_id: str, author: Author | None) -> Status:
    return found.approve(proposal_id, author)


@_acting("close", "closed", "Close a proposal without merging it (its branch stays).")
def close(found: Proposals, proposal_id: str, author: Author | None) -> Status:
    return found.close(proposal_id, author)


@click.command("comment")
@click.argument("proposal_id", metavar="ID")
@click.argument("text")
@click.option("--request-changes", is_flag=True, help="The comment asks the author for changes.")
@user_option
@config_option
def comment(proposal_id: str, text: str, request_changes: bool, user: str | None, config_path: Path | None) -> None:
    """Comment on a proposal (--request-changes: ask its author for changes)."""
    with proposals(config_path, user) as (found, author):
        found.comment(proposal_id, text, author, request_changes)
        click.echo(f"commented on {proposal_id}")


@click.command("merge")
@click.argument("proposal_id", metavar="ID")
@click.option("--keep-branch", is_flag=True, help="Keep the branch environment after merging.")
@user_option
@config_option
def merge(proposal_id: str, keep_branch: bool, user: str | None, config_path: Path | None) -> None:
    """Merge an approved proposal: its branch's changes as one commit on the target environment."""
    with proposals(config_path, user) as (found, author):
        result = found.merge(proposal_id, author, keep_branch)
        status = result.status.proposal
        kept = "" if result.branch_deleted else f"; branch {status.branch} kept"
        click.echo(f"merged {proposal_id} into {status.environment} as {result.commit.commit[:8]}{kept}")
        if result.branch_error:
            click.echo(f"warning: branch {status.branch} not deleted: {result.branch_error}", err=True)
        if result.commit.pushed is False:
            click.echo("warning: the merge is not pushed yet (the remote is unreachable); it is pushed later",
                       err=True)


# -- output --------------------------------------------------------------------------------------------------------
def status_json(status: Status) -> dict[str, Any]:
    record = status.proposal.model_dump(mode="json")
    valid = {(a.user, a.tip) for a in status.approvals}
    record["recorded_state"] = record.pop("state")
    record["approvals"] = [{**a, "valid": (a["user"], a["tip"]) in valid} for a in record["approvals"]]
    return {**record, "state": status.state.value, "branch_tip": status.branch_tip,
            "required_approvals": status.required, "approvers": status.approvers, "note": status.note or None}


def change_json(change: Any) -> dict[str, Any]:
    proposed = change.change.value
    return {"resource": change.change.resource, "kind": change.change.kind.value,
            "action": "delete" if proposed is None else "create" if change.target is None else "update",
            "target": _plain(change.target), "proposed": _plain(proposed), "conflict": change.conflict}


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True) if value is not None else None


def describe(status: Status, plan: Plan | None, why: str) -> Iterator[str]:
    record = status.proposal
    yield f"{record.id}  {status.state.value}  {record.title}"
    yield f"  {record.branch} -> {record.environment}, by {record.author}, created {record.created:%Y-%m-%d %H:%M}Z"
    if status.note:
        yield f"  note: {status.note}"
    if record.merged_commit:
        yield f"  merged as {record.merged_commit[:8]} by {record.merged_by}"
    if record.closed_by:
        yield f"  closed by {record.closed_by}"
    for line in record.description.splitlines():
        yield f"  | {line}"
    tip = f" for tip {status.branch_tip[:8]}" if status.branch_tip else ""
    yield f"Approvals: {len(status.approvals)} of {status.required} ({status.approvers}){tip}"
    for approval in record.approvals:
        void = "" if approval in status.approvals else " (withdrawn: the branch moved)"
        yield f"  {approval.user} approved {approval.tip[:8]} at {approval.at:%Y-%m-%d %H:%M}Z{void}"
    if plan is not None:
        yield f"Changes against {record.environment} ({plan.target_tip[:8]}; merge base {plan.base[:8]}):"
        for change in plan.changes:
            data = change_json(change)
            mark = "CONFLICT " if change.conflict else ""
            yield f"  {mark}{data['action']} {data['kind']} {data['resource']}" + (
                f": {change.name} was changed in {record.environment} as well" if change.conflict else "")
            yield from (f"      {line}" for line in _fields(data["target"], data["proposed"]))
        for line in plan.records:
            yield f"  adds {line}"
        if not plan.changes and not plan.records:
            yield "  (none)"
    elif why:
        yield f"Changes: cannot be shown: {why}"
    if record.comments:
        yield "Comments:"
    for entry in record.comments:
        tag = " [changes requested]" if entry.changes_requested else ""
        yield f"  {entry.user} at {entry.at:%Y-%m-%d %H:%M}Z{tag}: {entry.text}"


def _fields(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Iterator[str]:
    """`field: old -> new` for each top-level field an update changes (lists and maps: `changed`)."""
    if old is None or new is None:
        return
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, list | dict) or isinstance(after, list | dict):
            yield f"{key}: changed"
        else:
            yield f"{key}: {json.dumps(before)} -> {json.dumps(after)}"
