"""The proposals service's ground floor (`ProposalReading`): the records found on each repository's proposals
branch, a proposal's status now (`Status`, from the record, its branch and the target), the branch and target
tips (fetched from a remote at most once per poll interval), and the one record update every action ends with.
Opening, review and merging build on it (`opening`, `review`, `merging`; the whole service is `service.Proposals`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pygit2

from gitstore import roles as access
from gitstore.errors import AccessDenied, FlagdeckError, NotFoundError
from gitstore.proposals import protection
from gitstore.proposals.ledger import Files, ledger_of
from gitstore.proposals.records import Proposal, State, dump, load, now, number
from gitstore.proposals.status import Refused, Status, standing_requests
from gitstore.results import Author, SyncState

if TYPE_CHECKING:
    from gitstore.errors import Problem
    from gitstore.store import Store


class ProposalReading:
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
        return parse_records(self.ledger.files(env))

    def _find(self, proposal_id: str) -> tuple[str, Proposal]:
        for target in self._targets(None):
            records, _ = parse_records(self.ledger.files(target))
            if proposal_id in records:
                record = records[proposal_id]
                self.store.require(record.environment, access.Action.READ, "reading proposals")
                return target, record
        raise NotFoundError(f"no proposal {proposal_id!r}")

    def _update(self, target: str, proposal_id: str, change: Callable[[Proposal], Proposal], message: str,
                user: Author | None) -> Status:
        def edit(files: Files) -> tuple[dict[str, bytes | None], str, Proposal]:
            records = parse_records(files)[0]
            if proposal_id not in records:
                raise NotFoundError(f"no proposal {proposal_id!r}")
            record = change(records[proposal_id]).model_copy(update={"updated": now()})
            return {record_path(proposal_id): dump(record)}, message, record

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


def record_path(proposal_id: str) -> str:
    return f"{proposal_id}.yaml"


def parse_records(files: Files) -> tuple[dict[str, Proposal], list[Problem]]:
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


def problem(field_name: str, message: str) -> Problem:
    from gitstore.errors import Problem

    return Problem("", 0, field_name, message)


def merge_base(repo: pygit2.Repository, a: str, b: str) -> str:
    found = repo.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
    if found is None:
        raise Refused(f"{a[:8]} and {b[:8]} share no history")
    return str(found)


def _contains(repo: pygit2.Repository, target: str, commit: str) -> bool:
    """Whether `target` is `commit` or descends from it."""
    t, c = pygit2.Oid(hex=target), pygit2.Oid(hex=commit)
    return t == c or (c in repo and repo.descendant_of(t, c))
