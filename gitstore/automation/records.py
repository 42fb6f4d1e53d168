"""The files schedules and ramps are kept in: `<directory>/.flagdeck/schedules.yaml` and `.flagdeck/ramps.yaml` on
the environment's own branch. Flipt reads only `*/features.yaml|yml|json` one level below the directory (and
Flagdeck's loader the same), and a directory without such a file is disregarded, so these files change nothing
Flipt or the evaluator serves. Being on the environment's branch, a record changes in the same commit as the flag
it acts on (a schedule is marked done by the commit that carries its change), and the store's compare-and-swap on
the branch is the lock that makes it happen once (`Store.commit(files=...)`).

Read with the proposals' record reader (`gitstore.proposals.records.load`: an unreadable file is reported with
file, line and field, and nothing in it runs)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

import pygit2

from gitstore.errors import ConflictError, NotFoundError, Problem, ValidationError
from gitstore.git.objects import blob_bytes, commit_at
from gitstore.git.repo import blob_at
from gitstore.proposals import protection
from gitstore.proposals.records import Record, dump, load
from gitstore.results import Author, CommitResult

if TYPE_CHECKING:
    from gitstore.model.changes import Change
    from gitstore.store import Store

SCHEDULER = Author("Flagdeck scheduler", "scheduler@flagdeck.invalid")
"""The author of the commits schedules and ramps make (the user they act for is in `On-behalf-of:`)."""
ATTEMPTS = 5
R = TypeVar("R", bound=Record)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Loaded(Generic[R]):
    """The records of one environment as of `commit` (the tip they were read at)."""

    env: str
    commit: str
    items: tuple[R, ...]
    problems: tuple[Problem, ...] = ()


class RecordFile(Generic[R]):
    """One YAML file of records (`<list name>: [...]`) under each environment's directory."""

    def __init__(self, path: str, holder: type[Record], field: str, prefix: str):
        self.path, self.holder, self.field, self.prefix = path, holder, field, prefix

    def full_path(self, store: Store, env: str) -> str:
        """The file's path in the repository; a branch environment's is its base's (the same directory)."""
        found = store.config.environments.get(env)
        if found is not None:
            directory = found.directory
        else:
            info = next((e for e in store.environments() if env in (e.name, f"{e.base}/{e.name}")), None)
            if info is None:
                store.config.environment(env)  # ConfigError naming the configured ones
            directory = info.directory if info is not None else ""
        directory = (directory or "").strip("/")
        return f"{directory}/{self.path}" if directory else self.path

    def read_at(self, store: Store, env: str, commit: str) -> tuple[R, ...]:
        """The records as of a commit of the environment's repository (none when the file is absent);
        `ValidationError` (file, line, field) when it cannot be read."""
        path = self.full_path(store, env)
        data = store.run_on(env, _read_blob, commit, path)
        if data is None:
            return ()
        found, problems = load(self.holder, path, data)
        if found is None:
            raise ValidationError(list(problems))
        return tuple(getattr(found, self.field))

    def read(self, store: Store, env: str) -> Loaded[R]:
        """The records at the branch tip (reading needs viewer)."""
        snap = store.snapshot(env)
        path = self.full_path(store, env)
        data = store.run_on(env, _read_blob, snap.commit, path)
        if data is None:
            return Loaded(env, snap.commit, ())
        found, problems = load(self.holder, path, data)
        if found is None:
            return Loaded(env, snap.commit, (), tuple(problems))
        return Loaded(env, snap.commit, tuple(getattr(found, self.field)))

    def inherited(self, store: Store, env: str, fork: str | None) -> set[str]:
        """The ids a branch environment's file held where the branch left its base (`fork`): records that are the
        base's to carry out, not the branch's (none for a configured environment: `fork` None)."""
        return {r.id for r in self.read_at(store, env, fork)} if fork is not None else set()  # type: ignore[attr-defined]

    def every(self, store: Store, env: str | None = None) -> list[tuple[str, R]]:
        """(environment, record) of one environment, or of every configured one and its branch environments; a
        branch environment's records inherited from its base are left out (they are the base's)."""
        found: list[tuple[str, R]] = []
        for key, fork in places(store, env):
            inherited = self.inherited(store, key, fork)
            found += [(key, r) for r in self.read(store, key).items if r.id not in inherited]  # type: ignore[attr-defined]
        return found

    def find(self, store: Store, record_id: str, env: str | None = None) -> tuple[str, R]:
        """(environment, record) of an id; `NotFoundError`, or `ConflictError` when several environments have it."""
        found = [(e, r) for e, r in self.every(store, env) if r.id == record_id]  # type: ignore[attr-defined]
        noun = self.field.removesuffix("s")
        if not found:
            raise NotFoundError(f"no {noun} {record_id}" + (f" in {env!r}" if env else ""))
        if len(found) > 1:
            raise ConflictError(f"{record_id} is a {noun} of {', '.join(e for e, _ in found)}: say which with --env")
        return found[0]

    def data(self, items: tuple[R, ...]) -> bytes:
        header = (f"# Written by Flagdeck ({self.field}); Flipt does not read this directory. Change it with the "
                  "flagdeck commands or the console.\n").encode()
        return header + dump(self.holder.model_validate({self.field: items}))

    def next_id(self, items: tuple[R, ...]) -> str:
        numbers = [int(i.id.split("-", 1)[1]) for i in items if i.id.split("-", 1)[-1].isdigit()]  # type: ignore[attr-defined]
        return f"{self.prefix}-{max(numbers, default=0) + 1}"

    def commit(self, store: Store, loaded: Loaded[R], items: tuple[R, ...], message: str,
               changes: list[Change] | None = None, author: Author | None = None,
               trailers: tuple[tuple[str, str], ...] = ()) -> CommitResult:
        """One commit writing `items` (and `changes`) on the tip `loaded` was read at; `ConflictError` naming the
        file when another writer changed it meanwhile."""
        if loaded.problems:
            raise ValidationError(list(loaded.problems))
        return store.commit(loaded.env, list(changes or []), author, loaded.commit, message,
                            files={self.path: self.data(items)}, trailers=trailers)

    def change(self, store: Store, env: str, edit: Callable[[Loaded[R]], tuple[tuple[R, ...], str, list[Change]]],
               author: Author | None = None, trailers: tuple[tuple[str, str], ...] = ()) -> CommitResult:
        """Read, edit, commit; again from the new tip when another writer changed the file meanwhile."""
        for attempt in range(ATTEMPTS):
            loaded = self.read(store, env)
            items, message, changes = edit(loaded)
            try:
                return self.commit(store, loaded, items, message, changes, author, trailers)
            except ConflictError as exc:
                if exc.resource != self.full_path(store, env) or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")


def places(store: Store, env: str | None = None) -> list[tuple[str, str | None]]:
    """(environment, fork) of `env`, or of every configured environment, each followed by its branch environments
    (`gitstore.branches`): `fork` is the base's commit a branch environment left it at, None for a configured one."""
    if env in store.config.environments:
        return [(env, None)]
    found: list[tuple[str, str | None]] = []
    for base in store.config.environments:
        if env is None:
            found.append((base, None))
        found += [(b.key, b.merge_base) for b in store.branches(base) if env in (None, b.key, f"{base}/{b.key}")]
    return found if found or env is None else [(env, None)]  # unknown: reading it names the configured ones


def admitted(store: Store, env: str) -> contextlib.AbstractContextManager[object]:
    """The scheduler's commits to a protected environment are admitted: a schedule or a ramp got onto its branch
    only through its protection (a proposal, or an admin breaking glass), which is where the change was reviewed."""
    if not protection.protected(store.config, env):
        return contextlib.nullcontext()
    return protection.admitted(protection.Admission(env))


def _read_blob(repo: pygit2.Repository, commit: str, path: str) -> bytes | None:
    entry = blob_at(commit_at(repo, pygit2.Oid(hex=commit)).tree, path)
    return blob_bytes(repo, entry.id) if entry is not None else None


def user_text(author: Author | None) -> str:
    return f"{author.name} <{author.email}>" if author is not None else "unknown"


def age(delta_seconds: float) -> str:
    """`3h12m`, `5m`, `40s`: how late, how long."""
    seconds = int(abs(delta_seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
