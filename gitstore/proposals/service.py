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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pygit2

from gitstore import roles as access
from gitstore.errors import AccessDenied, ConflictError, FlagdeckError, NotFoundError, ValidationError
from gitstore.git.tree_edits import conflicting_change
from gitstore.model.changes import Change, commit_message, diff_documents, resource_value
from gitstore.proposals import protection
from gitstore.proposals.ledger import Files, ledger_of
from gitstore.proposals.records import (
    Approval,
    Comment,
    Proposal,
    State,
    dump,
    load,
    now,
    number,
    same_user,
    user_text,
)
from gitstore.results import Author, CommitResult, EnvironmentInfo, SyncState

if TYPE_CHECKING:
    from gitstore.errors import Problem
    from gitstore.model.documents import Document
    from gitstore.store import Store


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


class Proposals:
    def __init__(self, store: Store):
        self.store = store
        self.ledger = ledger_of(store)
        self._fetched: dict[str, float] = {}  # env -> time.monotonic() of its last fetch by `_refresh`

    # -- reading -------------------------------------------------------------------------------------------------
    def all(self, env: str | None = None, state: State | str | None = None) -> list[Status]:
        """Every proposal (of the target `env`), its status now, optionally only those in `state`."""
        wanted = State(state) if state is not None else None
        if env is not None:
            self.store.require(env, access.Action.READ, "reading proposals")
        found = []
        for target in self._targets(env):
            records, _ = self._records(target)
            found += [self._status(p) for p in records.values() if (env is None or p.environment == env)
                      and access.allows(self.store.roles, p.environment, access.Action.READ)]
        return [s for s in sorted(found, key=lambda s: (s.proposal.environment, number(s.id)))
                if wanted is None or s.state is wanted]

    def problems(self, env: str | None = None) -> list[Problem]:
        """Record files that cannot be read (edited by hand): file, line, field."""
        return [p for target in self._targets(env) for p in self._records(target)[1]]

    def unpushed(self) -> list[tuple[str, SyncState]]:
        """(environment, state) of each repository whose proposals branch holds changes the remote never had (its
        remote was down: they are pushed by the next change or listing)."""
        found = []
        for target in self._targets(None):
            if self.store.config.storage_of(target).remote is not None:
                state = self.ledger.sync_state(target)
                if state.ahead:
                    found.append((target, state))
        return found

    def get(self, proposal_id: str) -> Status:
        return self._status(self._find(proposal_id)[1])

    def plan(self, proposal_id: str) -> Plan:
        """The change resource by resource against the target's current state (`Plan.conflicts` among them)."""
        status = self.get(proposal_id)
        if status.branch_tip is None:
            raise Refused(f"{proposal_id}: branch {status.proposal.branch!r} no longer exists")
        return self._plan(status.proposal, status.branch_tip)

    # -- writing -------------------------------------------------------------------------------------------------
    def propose(self, env: str, branch: str, title: str, description: str = "",
                author: Author | None = None) -> Status:
        """A new proposal to merge branch environment `branch` into `env`."""
        if env not in self.store.config.environments:
            raise NotFoundError(f"{env!r} is not a configured environment (a branch cannot be a target)")
        def find() -> EnvironmentInfo | None:
            return next((e for e in self.store.environments() if e.name in (branch, f"{env}/{branch}")
                         and e.base == env), None)

        info = find()
        if info is None and self._refresh(env):  # a branch pushed from another clone
            info = find()
        if info is None:
            raise NotFoundError(f"{env!r} has no branch {branch!r} (create it with `flagdeck branch create --env "
                                f"{env} {branch}`)")
        self.store.require(info.name, access.Action.COMMIT, "proposing")
        title = " ".join(title.split())
        if not title:
            raise ValidationError([_problem("title", "a proposal needs a title")])
        tip, target = self._head(info.name), self._head(env)
        base = self.store.run_on(env, _merge_base, tip, target)
        if tip == base:
            raise Refused(f"branch {branch!r} has no changes against {env}: nothing to propose")
        user = user_text(author or self._me(env))
        key = info.name.rpartition("/")[2]
        when = now()

        def edit(files: Files) -> tuple[dict[str, bytes | None], str, Proposal]:
            records = _parse(files)[0]
            open_one = next((p for p in records.values() if p.environment == env and p.branch == key
                             and p.state in (State.OPEN, State.APPROVED)), None)
            if open_one is not None:
                raise Refused(f"{open_one.id} already proposes branch {key!r} for {env}")
            taken = (number(path.removesuffix(".yaml")) for path in files if "/" not in path)
            new_id = f"P-{max(taken, default=0) + 1}"  # a file broken by hand keeps its number too
            record = Proposal(id=new_id, title=title, description=description.strip(), author=user,
                              environment=env, branch=key, base=base, tip=tip, created=when, updated=when)
            return {_path(new_id): dump(record)}, f"propose {new_id}: {title}\n\n{key} into {env}", record

        record, _ = self.ledger.change(env, edit, author or self.store.identity)
        return self._status(record)

    def promote(self, src_env: str, dst_env: str, namespace: str, flag: str | None = None,
                author: Author | None = None, branch: str | None = None) -> Status:
        """Promotion into an environment as a proposal (the way into a protected one): a branch of `dst_env`
        (`branch`, default `promote-<namespace>[-<flag>]`, numbered when taken) receives the promotion, and is
        proposed."""
        what = f"{namespace}/{flag}" if flag else namespace
        name = branch or self._free_branch(dst_env, f"promote-{what.replace('/', '-')}")
        self.store.branch(dst_env, name, author)
        result = self.store.promote(src_env, name, namespace, flag, author)
        if not result.created:
            self.store.delete_branch(dst_env, name)
            raise Refused(f"{dst_env} already holds {what} as {src_env} has it: nothing to promote")
        return self.propose(dst_env, name, f"Promote {what} from {src_env}",
                            f"Promotes {what} from {src_env} at commit {self._head(src_env)}.", author)

    def free_branch(self, env: str, stem: str) -> str:
        """`stem`, or `stem-2`, `stem-3`…: a branch name of `env` not taken yet."""
        return self._free_branch(env, stem)

    def _free_branch(self, env: str, stem: str) -> str:
        taken = {e.name.rpartition("/")[2] for e in self.store.environments()}
        return next(name for name in (stem if i == 1 else f"{stem}-{i}" for i in range(1, 1000))
                    if name not in taken)

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
            raise ValidationError([_problem("text", "a comment needs some text")])
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

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _targets(self, env: str | None) -> list[str]:
        """One configured environment per repository holding proposals (`env`'s alone when given)."""
        if env is not None:
            self.store.config.environment(env)
            return [env]
        seen: dict[str, str] = {}
        for name, cfg in self.store.config.environments.items():
            seen.setdefault(cfg.storage, name)
        return list(seen.values())

    def _records(self, env: str) -> tuple[dict[str, Proposal], list[Problem]]:
        """Every record on the proposals branch of `env`'s repository (whatever its target: check each's)."""
        return _parse(self.ledger.files(env))

    def _find(self, proposal_id: str) -> tuple[str, Proposal]:
        for target in self._targets(None):
            records, _ = _parse(self.ledger.files(target))
            if proposal_id in records:
                record = records[proposal_id]
                self.store.require(record.environment, access.Action.READ, "reading proposals")
                return target, record
        raise NotFoundError(f"no proposal {proposal_id!r}")

    def _update(self, target: str, proposal_id: str, change: Callable[[Proposal], Proposal], message: str,
                user: Author | None) -> Status:
        def edit(files: Files) -> tuple[dict[str, bytes | None], str, Proposal]:
            records = _parse(files)[0]
            if proposal_id not in records:
                raise NotFoundError(f"no proposal {proposal_id!r}")
            record = change(records[proposal_id]).model_copy(update={"updated": now()})
            return {_path(proposal_id): dump(record)}, message, record

        record, _ = self.ledger.change(target, edit, user or self.store.identity)
        return self._status(record)

    def _status(self, record: Proposal) -> Status:
        env = record.environment
        rule = protection.policy(self.store.config, env)
        if record.state in (State.MERGED, State.CLOSED):  # the approvals of the tip it had then
            kept = tuple(a for a in record.approvals if a.tip == record.tip)
            return Status(record, record.state, None, kept, rule.approvals, rule.approvers)
        branch_tip = self._branch_head(record)
        target = self._head(env)
        seen = branch_tip or record.tip
        if seen != record.base and self.store.run_on(env, _contains, target, seen):
            return Status(record, State.MERGED, branch_tip, (), rule.approvals, rule.approvers,
                          f"{env} contains the branch's tip {seen[:8]} (merged outside Flagdeck)")
        if branch_tip is None:
            return Status(record, State.CLOSED, None, (), rule.approvals, rule.approvers,
                          f"branch {record.branch!r} was deleted")
        valid = tuple(a for a in record.approvals if a.tip == branch_tip)
        note = "the branch moved since: approvals withdrawn" if len(valid) < len(record.approvals) else ""
        requested = standing_requests(record)
        if requested:
            note = f"changes requested by {', '.join(c.user for c in requested)}"
        state = State.APPROVED if valid and len(valid) >= rule.approvals and not requested else State.OPEN
        return Status(record, state, branch_tip, valid, rule.approvals, rule.approvers, note)

    def _plan(self, record: Proposal, branch_tip: str) -> Plan:
        env = record.environment
        target_tip = self._head(env)
        base = self.store.run_on(env, _merge_base, branch_tip, target_tip)
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

    def _head(self, env: str) -> str:
        found = self.store.head(env)
        if found is None:
            raise NotFoundError(f"environment {env!r} has no commits")
        return found

    def _branch_head(self, record: Proposal, fetch: bool = True) -> str | None:
        """The branch's tip; a branch not known here is looked for on the remote once."""
        for key in (f"{record.environment}/{record.branch}", record.branch):
            try:
                found = self.store.head(key)
            except FlagdeckError:
                continue
            if found is not None:
                return found
        if fetch and self._refresh(record.environment):
            return self._branch_head(record, fetch=False)
        return None

    def _refresh(self, env: str) -> bool:
        """Fetch the environment and its branches from the remote (True), if it has one and it answers; at most
        once per poll interval for this object, however many records ask."""
        storage = self.store.config.storage_of(env)
        if storage.remote is None:
            return False
        last = self._fetched.get(env)
        if last is not None and time.monotonic() - last < storage.poll_interval:
            return False
        self._fetched[env] = time.monotonic()
        try:
            self.store.fetch(env)
        except FlagdeckError:
            return False
        return True

    def _me(self, env: str) -> Author:
        if self.store.identity is not None:
            return self.store.identity
        return self.store.run_on(env, self.store._fallback_author)

    def _open(self, status: Status) -> None:
        if status.state in (State.MERGED, State.CLOSED):
            why = f" ({status.note})" if status.note else ""
            raise Refused(f"{status.id} is {status.state.value}{why}")

    def _role(self, env: str, role: str, doing: str) -> None:
        have = access.role_in(self.store.roles, env)
        if have is None or access.ROLES.index(have) < access.ROLES.index(role):
            who = self.store.identity.name if self.store.identity else "this user"
            has = f"is {have}" if have is not None else "has no role"
            raise AccessDenied(f"{who} {has} in {env!r}; {doing} needs {role}")


def standing_requests(record: Proposal) -> tuple[Comment, ...]:
    latest: dict[str, Comment] = {}
    for comment in record.comments:
        if comment.changes_requested:
            latest[comment.user.lower()] = comment
    return tuple(c for c in latest.values()
                 if not any(same_user(a.user, c.user) and a.at >= c.at for a in record.approvals))


def _still_open(record: Proposal) -> None:
    """Refused when the record was merged or closed since it was read (in another clone, say)."""
    if record.state in (State.MERGED, State.CLOSED):
        raise Refused(f"{record.id} is {record.state.value}")


def _path(proposal_id: str) -> str:
    return f"{proposal_id}.yaml"


def _parse(files: Files) -> tuple[dict[str, Proposal], list[Problem]]:
    records: dict[str, Proposal] = {}
    problems: list[Problem] = []
    for path, data in files.items():
        if "/" in path or not number(path.removesuffix(".yaml")):
            continue
        record, found = load(Proposal, path, data)
        problems += found
        if isinstance(record, Proposal):
            records[record.id] = record
    return records, problems


def _problem(field_name: str, message: str) -> Problem:
    from gitstore.errors import Problem

    return Problem("", 0, field_name, message)


def _document(found: object | None, where: str) -> Document | None:
    if found is None:
        return None
    document = found.document  # type: ignore[attr-defined]
    if document is None:
        raise ValidationError([*found.problems])  # type: ignore[attr-defined]
    return document  # type: ignore[no-any-return]


def _merge_base(repo: pygit2.Repository, a: str, b: str) -> str:
    found = repo.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
    if found is None:
        raise Refused(f"{a[:8]} and {b[:8]} share no history")
    return str(found)


def _contains(repo: pygit2.Repository, target: str, commit: str) -> bool:
    """Whether `target` is `commit` or descends from it."""
    t, c = pygit2.Oid(hex=target), pygit2.Oid(hex=commit)
    return t == c or (c in repo and repo.descendant_of(t, c))
