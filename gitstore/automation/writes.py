"""One flag written in one commit through `Store.commit` (so the store's validation, roles, protection and
compare-and-swap apply): set what a `FlagPatch` names, create, delete. Used by `flagdeck flag`, and by schedules
and ramps (which add their record files and trailers to the same commit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitstore.automation.patch import FlagPatch, apply
from gitstore.errors import ConflictError, NotFoundError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType, Variant

if TYPE_CHECKING:
    from gitstore.results import Author, CommitResult
    from gitstore.store import Snapshot, Store


def flag_of(snap: Snapshot, env: str, namespace: str, key: str) -> Flag:
    """The flag as it is in the snapshot; `NotFoundError` naming the environment, namespace and flag."""
    doc = snap.document(namespace)
    if doc is None:
        found = snap.namespaces.get(namespace)
        why = "is invalid" if found is not None else "does not exist"
        raise NotFoundError(f"namespace {namespace!r} {why} in {env!r}")
    flag = doc.flag(key)
    if flag is None:
        raise NotFoundError(f"flag {namespace}/{key} does not exist in {env!r}")
    return flag


def patched(snap: Snapshot, env: str, namespace: str, key: str, patch: FlagPatch) -> Change | None:
    """The change that applies `patch` to the flag as it is in `snap`; None when the flag already is so."""
    flag = flag_of(snap, env, namespace, key)
    new = apply(flag, patch, f"{env} {namespace}/{key}")
    return None if new == flag else Change(namespace, Kind.FLAG, key, new)


def set_flag(store: Store, env: str, namespace: str, key: str, patch: FlagPatch,
             author: Author | None = None) -> CommitResult:
    """One commit setting what `patch` names (`created` False: the flag already was so)."""
    from gitstore.results import CommitResult

    snap = store.snapshot(env)
    change = patched(snap, env, namespace, key, patch)
    if change is None:
        return CommitResult(snap.commit, created=False)
    return store.commit(env, [change], author, snap.commit)


def new_flag(key: str, name: str | None, boolean: bool, enabled: bool, description: str | None,
             variants: tuple[str, ...]) -> Flag:
    """A flag to create: a boolean flag, or a variant flag with these variant keys."""
    return Flag(key=key, name=name or key, type=FlagType.BOOLEAN if boolean else FlagType.VARIANT, enabled=enabled,
                description=description or None, variants=tuple(Variant(key=v) for v in variants))


def create_flag(store: Store, env: str, namespace: str, flag: Flag, author: Author | None = None) -> CommitResult:
    """One commit creating the flag; `ConflictError` when the key is taken."""
    snap = store.snapshot(env)
    doc = snap.document(namespace)
    if doc is not None and doc.flag(flag.key) is not None:
        raise ConflictError(f"flag {namespace}/{flag.key} already exists in {env!r}", resource=f"{namespace}/{flag.key}")
    return store.commit(env, [Change(namespace, Kind.FLAG, flag.key, flag)], author, snap.commit)


def delete_flag(store: Store, env: str, namespace: str, key: str, author: Author | None = None) -> CommitResult:
    """One commit deleting the flag; `NotFoundError` when it does not exist."""
    snap = store.snapshot(env)
    flag_of(snap, env, namespace, key)
    return store.commit(env, [Change(namespace, Kind.FLAG, key, None)], author, snap.commit)
