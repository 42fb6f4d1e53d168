"""Opening proposals (`ProposalOpening`): `propose` a branch environment for its base, `promote` into an
environment as a proposal (a branch of it receives the promotion), and free branch names for both."""

from __future__ import annotations

from gitstore import roles as access
from gitstore.errors import NotFoundError, ValidationError
from gitstore.proposals.ledger import Files
from gitstore.proposals.reading import ProposalReading, merge_base, parse_records, problem, record_path
from gitstore.proposals.records import Proposal, State, dump, now, number, user_text
from gitstore.proposals.status import Refused, Status
from gitstore.results import Author, EnvironmentInfo


class ProposalOpening(ProposalReading):
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
            raise ValidationError([problem("title", "a proposal needs a title")])
        tip, target = self._head(info.name), self._head(env)
        base = self.store.run_on(env, merge_base, tip, target)
        if tip == base:
            raise Refused(f"branch {branch!r} has no changes against {env}: nothing to propose")
        user = user_text(author or self._me(env))
        key = info.name.rpartition("/")[2]
        when = now()

        def edit(files: Files) -> tuple[dict[str, bytes | None], str, Proposal]:
            records = parse_records(files)[0]
            open_one = next((p for p in records.values() if p.environment == env and p.branch == key
                             and p.state in (State.OPEN, State.APPROVED)), None)
            if open_one is not None:
                raise Refused(f"{open_one.id} already proposes branch {key!r} for {env}")
            taken = (number(path.removesuffix(".yaml")) for path in files if "/" not in path)
            new_id = f"P-{max(taken, default=0) + 1}"  # a file broken by hand keeps its number too
            record = Proposal(id=new_id, title=title, description=description.strip(), author=user,
                              environment=env, branch=key, base=base, tip=tip, created=when, updated=when)
            return {record_path(new_id): dump(record)}, f"propose {new_id}: {title}\n\n{key} into {env}", record

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
