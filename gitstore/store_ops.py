"""The store's changes computed from other commits or environments — revert, restore, promote — each committed
through `Store.commit` (or, for a broken file put back whole, the store's own write) so protection, roles and the
compare-and-swap apply as to any edit. `Store.revert/restore/promote` call these."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygit2

from gitstore import roles as access
from gitstore.errors import ConflictError, NotFoundError, Problem, ValidationError
from gitstore.git.objects import commit_at
from gitstore.git.repo import blob_at, commit_of
from gitstore.proposals import protection
from gitstore.results import Author, CommitResult

if TYPE_CHECKING:
    from gitstore.git.snapshot import ParseCache
    from gitstore.model.changes import Change
    from gitstore.model.documents import Document
    from gitstore.store import Store


def under(directory: str, path: str) -> str:
    """A path under an environment's directory ("" = the repository's root)."""
    return f"{directory.strip('/')}/{path}" if directory.strip("/") else path


def check_files_unchanged(base: pygit2.Commit, tip: pygit2.Commit, directory: str,
                          files: dict[str, bytes | None]) -> None:
    """`ConflictError` naming the first of `files` another commit changed between `base` and `tip`."""
    for path in files:
        full = under(directory, path)
        was, now = blob_at(base.tree, full), blob_at(tip.tree, full)
        if (was.id if was else None) != (now.id if now else None):
            raise ConflictError(f"{full} was changed meanwhile", resource=full)


def _commit_facts(repo: pygit2.Repository, commit: str) -> tuple[str, str | None, str]:
    """(full id, first parent's id or None, subject) of a commit named by any revision."""
    found = commit_of(repo, commit)
    return str(found.id), str(found.parent_ids[0]) if found.parent_ids else None, found.message.split("\n")[0]


def _who(repo: pygit2.Repository, since: str, now: str, directory: str, change: Change, cache: ParseCache) -> str:
    from gitstore.git.tree_edits import who_changed

    return who_changed(repo, commit_at(repo, pygit2.Oid(hex=since)), commit_at(repo, pygit2.Oid(hex=now)), directory,
                       change, cache)


def revert(store: Store, env: str, namespace: str, commit: str, flag: str | None = None,
           author: Author | None = None) -> CommitResult:
    """A new commit undoing what `commit` changed in the namespace (or only in one flag): see `gitstore.model.revert`.
    `NothingToRevert` or `ConflictError` say exactly why no commit was made."""
    from gitstore.model.changes import commit_message
    from gitstore.model.revert import RevertConflict, revert_message, undo

    store.require(env, access.Action.COMMIT, "reverting")
    protection.guard(store.config, env, "reverting")
    target, parent, subject = store._run(env, _commit_facts, commit)
    then = _namespace_at(store, env, namespace, target, "after")
    before = _namespace_at(store, env, namespace, parent, "before") if parent else None
    now_snap = store.snapshot(env)
    now = _namespace_at(store, env, namespace, now_snap.commit, "now")
    try:
        plan = undo(namespace, before, then, now, flag, target)
    except RevertConflict as exc:
        directory = store._place(env).env.directory
        who = store._run(env, _who, target, now_snap.commit, directory, exc.change, store.cache)
        raise ConflictError(f"cannot revert {target[:8]}: {exc}; {exc.change.kind.value} {exc.resource} was "
                            f"last changed by {who}. Revert that change first, or restore a version",
                            resource=exc.resource) from None
    message = revert_message(subject, target, namespace, flag, commit_message(plan.changes))
    return store.commit(env, plan.changes, author, now_snap.commit, message)

def restore(store: Store, env: str, namespace: str, commit: str, flag: str | None = None,
            author: Author | None = None) -> CommitResult:
    """A new commit that puts the namespace (or one flag) back as it was at `commit`; `NothingToRevert` when it
    already is."""
    from gitstore.model.changes import commit_message
    from gitstore.model.revert import restore as restore_changes

    store.require(env, access.Action.COMMIT, "restoring")
    admission = protection.guard(store.config, env, "restoring")
    then = store.snapshot(env, commit).namespaces.get(namespace)
    if then is not None and then.document is None:
        raise ValidationError(list(then.problems))  # never "restore" a broken file by deleting it
    old = then.document if then is not None else None
    now_snap = store.snapshot(env)
    current = now_snap.namespaces.get(namespace)
    message = f"Restores {namespace}/{flag if flag else ''}".rstrip("/") + f" to commit {commit}."
    if flag is None and current is not None and current.document is None and then is not None:
        # The file is broken now: put the old file back as it was (a change list cannot be applied to it).
        store.require(env, access.Action.NAMESPACE, "restoring a broken namespace file")
        restore_files = {current.path: None, then.path: pygit2.Oid(hex=then.blob)}
        result = store._run(env, store._commit, env, [], author, now_snap.commit,
                           f"update namespace {namespace}\n\n{message}", restore_files,
                           admission.trailers if admission else ())
        return store._admitted(env, admission, result)
    changes = restore_changes(namespace, old, now_snap.document(namespace), flag, commit)
    return store.commit(env, changes, author, now_snap.commit, f"{commit_message(changes)}\n\n{message}")

def _namespace_at(store: Store, env: str, namespace: str, commit: str, when: str) -> Document | None:
    found = store.snapshot(env, commit).namespaces.get(namespace)
    if found is not None and found.document is None:
        where = {"after": f"at {commit[:8]}", "before": f"before {commit[:8]}", "now": "now"}[when]
        note = Problem(found.path, 0, "", f"the file is invalid {where}, so a change to it cannot be reverted "
                                          "resource by resource (restore a valid version instead)")
        raise ValidationError([note, *found.problems])
    return found.document if found is not None else None

def promote(store: Store, src_env: str, dst_env: str, namespace: str, flag: str | None = None,
            author: Author | None = None) -> CommitResult:
    """Copy a namespace (or one flag and the segments it uses) from `src_env` to `dst_env` as one commit."""
    from gitstore.model.changes import commit_message, promotion_changes, resource_value

    store.require(dst_env, access.Action.PROMOTE)
    protection.guard(store.config, dst_env, f"promoting into {dst_env}")
    src = store.snapshot(src_env)
    source = src.document(namespace)
    if source is None:
        raise NotFoundError(f"namespace {namespace!r} not found (or invalid) in {src_env!r}")
    dst = store.snapshot(dst_env)
    target = dst.document(namespace)
    changes = promotion_changes(namespace, source, target, flag)
    if not changes:
        return CommitResult(dst.commit, created=False)
    what = f"{namespace}/{flag}" if flag else namespace
    created = {c.resource for c in changes if resource_value(target, c.kind, c.key) is None}
    message = f"{commit_message(changes, created)}\n\nPromotes {what} from {src_env} at commit {src.commit}."
    return store.commit(dst_env, changes, author, dst.commit, message)

