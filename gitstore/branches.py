"""Branch environments, as Flipt v2 has them (`internal/storage/environments/git`): a branch NAME of environment ENV
is the Git branch `flipt/ENV/NAME` in ENV's repository (same directory), created from ENV's tip. It is an
environment of its own whose key is NAME (also accepted as `ENV/NAME`) and whose base is ENV; a branch cannot be
branched, and a NAME equal to another environment's or branch's key is refused.

Branches are found in the refs: local ones (`refs/heads/flipt/ENV/*`) and fetched ones
(`refs/remotes/origin/flipt/ENV/*`). With a remote, every sync of a storage fetches `refs/heads/flipt/*` alongside
its branch (`BranchSync`), brings each branch in step as `gitstore.git.remote` does an environment's branch (a
branch another clone pushed appears here; one deleted on the remote, with no local commit it never had, is deleted
here), and a writer pushes the branches' local commits. A branch is one more `StorageConfig` (its base storage's,
with `branch: flipt/ENV/NAME`), so the sync, commit and history code paths treat it as any environment's branch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

import pygit2

from gitstore.config import Config, EnvironmentConfig, StorageConfig
from gitstore.errors import ConfigError, ConflictError, FlagdeckError, NotFoundError, SyncError
from gitstore.git import remote, transport
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import cas_ref
from gitstore.git.snapshot import ParseCache
from gitstore.git.transport import tracking_ref
from gitstore.results import BranchInfo

PREFIX = "flipt"
REFSPEC = f"+refs/heads/{PREFIX}/*:{tracking_ref(PREFIX)}/*"  # fetched with every sync of a storage
_LOCAL = f"refs/heads/{PREFIX}/"
_FETCHED = f"{tracking_ref(PREFIX)}/"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME = 100
log = logging.getLogger(__name__)


class BranchNameError(FlagdeckError):
    """A branch name Git or Flagdeck cannot use (the message says why)."""


def git_branch(env: str, name: str) -> str:
    """The Git branch of branch `name` of environment `env`: `flipt/ENV/NAME`."""
    return f"{PREFIX}/{env}/{name}"


def check_name(name: str) -> str:
    """`name` stripped, or `BranchNameError` saying what is wrong with it."""
    name = name.strip()
    if not name:
        raise BranchNameError("a branch needs a name")
    if len(name) > MAX_NAME:
        raise BranchNameError(f"branch name {name[:20]!r}... is longer than {MAX_NAME} characters")
    if "/" in name:
        raise BranchNameError(f"branch name {name!r} contains '/' (the key ENV/NAME names a branch of ENV)")
    if not _NAME.match(name) or name.endswith((".", ".lock")) or ".." in name \
            or not pygit2.reference_is_valid_name(branch_ref(git_branch("env", name))):
        raise BranchNameError(f"branch name {name!r} is not allowed: use letters, digits, '.', '_' and '-', "
                              "starting with a letter or digit (not ending in '.' or '.lock', no '..')")
    return name


@dataclass(frozen=True)
class Found:
    """A branch environment found in the refs: its base environment and name, and where its Git branch is."""

    env: str
    name: str
    storage: str  # the base environment's storage (its repository)

    @property
    def branch(self) -> str:
        return git_branch(self.env, self.name)

    @property
    def ref(self) -> str:
        return branch_ref(self.branch)


def branches_in(repo: pygit2.Repository) -> dict[str, set[str]]:
    """Environment name -> the names of its branches in `repo`, local or fetched (one pass over the refs)."""
    found: dict[str, set[str]] = {}
    for ref in repo.listall_references():
        if ref.startswith(_LOCAL):
            rest = ref[len(_LOCAL):]
        elif ref.startswith(_FETCHED):
            rest = ref[len(_FETCHED):]
        else:
            continue
        env, sep, name = rest.partition("/")
        if sep and name and "/" not in name:
            found.setdefault(env, set()).add(name)
    return found


def names_in(repo: pygit2.Repository, env: str) -> list[str]:
    """The names of `env`'s branches in `repo`, local or fetched, sorted."""
    return sorted(branches_in(repo).get(env, ()))


def discover(config: Config, repo_of: Callable[[str, Callable[[pygit2.Repository], dict[str, set[str]]]],
                                               dict[str, set[str]]]) -> dict[str, Found]:
    """Every branch environment by key (NAME; `ENV/NAME` for a name two environments use). `repo_of(storage, fn)`
    runs `fn(repo)` on that storage's repository."""
    listed = {name: repo_of(name, branches_in) for name in {env.storage for env in config.environments.values()}}
    return keyed(config, [Found(env, name, cfg.storage) for env, cfg in config.environments.items()
                          for name in sorted(listed[cfg.storage].get(env, ()))])


def keyed(config: Config, found: Iterable[Found]) -> dict[str, Found]:
    items = list(found)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.name] = counts.get(item.name, 0) + 1
    return {item.name if counts[item.name] == 1 and item.name not in config.environments
            else f"{item.env}/{item.name}": item for item in items}


def lookup(config: Config, known: Mapping[str, Found], key: str) -> Found | None:
    """The branch a key names (NAME or ENV/NAME), None when `known` has none."""
    found = known.get(key)
    if found is not None:
        return found
    env, sep, name = key.partition("/")
    if sep and env in config.environments:
        return next((f for f in known.values() if f.env == env and f.name == name), None)
    return None


def head_of(repo: pygit2.Repository, branch: str) -> pygit2.Oid | None:
    """A branch's tip: the local branch, else the fetched one (a clone that has not brought it in step yet)."""
    return tip(repo, branch_ref(branch)) or tip(repo, tracking_ref(branch))


def storage_of(base: StorageConfig, found: Found) -> StorageConfig:
    """The branch as a storage of its own: its base's repository and remote, its own Git branch."""
    return base.model_copy(update={"branch": found.branch})


def name_problem(value: str, taken: Collection[str]) -> str | None:
    """What is wrong with `value` as a new branch's name, for a dialog to show as it is typed (`check_name`'s rules
    and no key in `taken`; the store checks again when it creates the branch), or None."""
    try:
        name = check_name(value)
    except BranchNameError as exc:
        return str(exc)
    return f"{name!r} is already an environment's key" if name in taken else None


def check_new(config: Config, known: Mapping[str, Found], env: str, name: str) -> str:
    """The name checked for a new branch of `env` (a configured environment), or the error saying why not."""
    if env not in config.environments:
        base = lookup(config, known, env)
        if base is not None:
            raise ConflictError(f"{env!r} is a branch of {base.env!r}; a branch cannot be branched (branch "
                                f"{base.env!r} instead)", resource=env)
        raise ConfigError(f"unknown environment {env!r} (configured: {', '.join(config.environments)})")
    name = check_name(name)
    if name in config.environments:
        raise ConflictError(f"{name!r} is already an environment's key; choose another branch name", resource=name)
    other = next((f for f in known.values() if f.name == name), None)
    if other is not None:
        where = "already exists" if other.env == env else f"is already a branch of {other.env!r}"
        raise ConflictError(f"branch {name!r} {where}", resource=name)
    return name


def create(repo: pygit2.Repository, base: StorageConfig, branch: str, why: str) -> pygit2.Oid:
    """Create the Git branch `branch` at the base's tip; ConflictError when it exists (here or fetched)."""
    start = tip(repo, branch_ref(base.branch))
    if start is None:
        raise NotFoundError(f"{base.branch} has no commits to branch from")
    if tip(repo, tracking_ref(branch)) is not None:
        raise ConflictError(f"{branch} already exists on {base.remote}", resource=branch)
    try:
        cas_ref(repo, branch_ref(branch), None, start, f"flagdeck: {why}")
    except ConflictError:
        raise ConflictError(f"{branch} already exists", resource=branch) from None
    return start


def info(repo: pygit2.Repository, key: str, found: Found, base: StorageConfig) -> BranchInfo | None:
    """Where a branch stands against its base's tip (None when it has vanished meanwhile)."""
    head, base_tip = head_of(repo, found.branch), tip(repo, branch_ref(base.branch))
    if head is None:
        return None
    ahead, behind, merge_base = 0, 0, None
    if base_tip is not None:
        ahead, behind = repo.ahead_behind(head, base_tip)
        found_base = repo.merge_base(head, base_tip)
        merge_base = str(found_base) if found_base is not None else None
    return BranchInfo(key, found.branch, found.env, str(head), ahead, behind, merge_base)


# -- keeping branches in step with the remote -----------------------------------------------------------------
@dataclass
class BranchSync:
    """The branches of one storage, synced with its remote alongside the storage's branch (`remote.sync`'s
    `extra`): `refspecs` fetched with it, then `integrate` (within the sync's turn) and `push`."""

    storage: StorageConfig
    envs: tuple[str, ...]  # the environments kept in this storage
    tracker: Callable[[StorageConfig], remote.SyncTracker]
    cache: ParseCache
    refspecs: tuple[str, ...] = (REFSPEC,)

    def _branches(self, repo: pygit2.Repository) -> list[StorageConfig]:
        listed = branches_in(repo)
        return [self.storage.model_copy(update={"branch": git_branch(env, name)})
                for env in self.envs for name in sorted(listed.get(env, ()))]

    def integrate(self, repo: pygit2.Repository) -> None:
        """Bring every branch in step with what was just fetched (see the module docstring)."""
        for storage in self._branches(repo):
            branch = storage.branch
            tracker = self.tracker(storage)
            tracker.ok(fetched=True)  # fetched with its base's branch, in the same connection
            fetched = tip(repo, tracking_ref(branch))
            synced, local = tip(repo, remote.synced_ref(branch)), tip(repo, branch_ref(branch))
            try:
                if fetched is None and synced is not None:
                    if local is None or local == synced or repo.descendant_of(synced, local):
                        _drop(repo, branch, local, synced)
                        log.info("branch %s was deleted on %s: deleted here too", branch, storage.remote)
                        continue
                base = tip(repo, tracking_ref(self.storage.branch))  # its commits were on the remote too
                remote.integrate(repo, storage, tracker, self.cache, fetched, frozenset({base} if base else ()))
            except (ConflictError, SyncError) as exc:  # recorded in its tracker; the other branches go on
                log.warning("branch %s: %s", branch, exc)

    def push(self, repo: pygit2.Repository) -> None:
        """Push each branch's commits the remote never had (a branch created here: all of it)."""
        failed: list[str] = []
        for storage in self._branches(repo):
            try:
                remote.push(repo, storage, self.tracker(storage), self.cache)
            except (ConflictError, SyncError) as exc:
                failed.append(f"{storage.branch}: {exc}")
        if failed:
            raise SyncError("; ".join(failed))


def _drop(repo: pygit2.Repository, branch: str, local: pygit2.Oid | None, synced: pygit2.Oid | None) -> None:
    """Delete a branch's local, synced and tracking refs (each only if still where it was seen)."""
    for ref, seen in ((branch_ref(branch), local), (remote.synced_ref(branch), synced),
                      (tracking_ref(branch), tip(repo, tracking_ref(branch)))):
        if seen is None:
            continue
        try:
            with repo.transaction() as txn:
                txn.lock_ref(ref)
                if tip(repo, ref) != seen:
                    raise ConflictError(f"{ref} moved while it was being deleted", resource=ref)
                txn.remove(ref)
        except (pygit2.GitError, KeyError) as exc:
            raise ConflictError(f"{ref} could not be deleted: {exc}", resource=ref) from None


def delete(repo: pygit2.Repository, storage: StorageConfig, push_too: bool) -> None:
    """Delete a branch: on the remote first (when `push_too`; the remote's copy would otherwise bring it back at the
    next fetch), then its local refs. `SyncError` when the remote cannot be reached (nothing is deleted)."""
    branch = storage.branch
    if storage.remote and push_too:
        expected = tip(repo, remote.synced_ref(branch)) or tip(repo, tracking_ref(branch))
        try:
            transport.delete(repo, storage, expected)
        except transport.RemoteMoved as exc:
            raise ConflictError(f"{branch} moved on {storage.remote} meanwhile ({exc}); fetch and look again",
                                resource=branch) from None
        except (transport.Refused, pygit2.GitError, OSError) as exc:
            raise SyncError(f"cannot delete {branch} on {storage.remote}: {exc}; nothing was deleted") from None
    _drop(repo, branch, tip(repo, branch_ref(branch)), tip(repo, remote.synced_ref(branch)))


# -- resolving an environment key ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """Where an environment key's data is: a configured environment, or a branch (`base` set) with its base's
    directory and a storage of its own (`storage_of`) in its base's repository (`storage_name`)."""

    key: str
    env: EnvironmentConfig
    storage_name: str
    storage: StorageConfig
    base: str | None = None


def resolve(config: Config, known: Mapping[str, Found], key: str) -> Place | None:
    """The place of a configured environment or a known branch (NAME or ENV/NAME); None when neither."""
    env = config.environments.get(key)
    if env is not None:
        return Place(key, env, env.storage, config.storage[env.storage])
    found = lookup(config, known, key)
    if found is None:
        return None
    base = config.environments[found.env]
    canonical = next((k for k, f in known.items() if f == found), key)
    return Place(canonical, base, base.storage, storage_of(config.storage[base.storage], found), found.env)


def unknown(config: Config, known: Mapping[str, Found], key: str) -> ConfigError:
    branches = f"; branches: {', '.join(sorted(known))}" if known else ""
    return ConfigError(f"unknown environment {key!r} (configured: {', '.join(config.environments)}{branches})")
