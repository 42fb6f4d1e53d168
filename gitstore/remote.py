"""Keeping a local repository in step with its remote: fetch, fast-forward, replay unpushed commits on a moved
remote, and push (never forced). Runs on the repository's thread; `SyncTracker` records what happened.

The local branch may hold commits the remote does not have yet (the remote was unreachable): they are pushed on
the next commit or the next poll. When the remote moved meanwhile they are replayed on it, resource by resource
(`gitstore.writes.conflicting_change`); if a replayed change collides with a remote one, the local commits are kept
under `refs/flagdeck/conflicts/<branch>/<time>`, the branch follows the remote and `ConflictError` is raised.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pygit2
from pygit2.enums import CredentialType, FetchPrune

from gitstore.changes import diff_documents
from gitstore.config import StorageConfig
from gitstore.errors import ConflictError, SyncError
from gitstore.repo import blob_at, branch_ref, build_tree, cas_ref, make_commit, tip
from gitstore.results import Author, SyncState
from gitstore.snapshot import FEATURE_FILES, ParseCache
from gitstore.writer import apply_changes
from gitstore.writes import conflicting_change

REMOTE_NAME = "origin"
PUSH_ATTEMPTS = 5


@dataclass
class SyncTracker:
    storage: StorageConfig
    reachable: bool | None = None
    last_error: str | None = None
    last_fetch: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, fetched: bool = False) -> None:
        with self._lock:
            self.reachable, self.last_error = True, None
            if fetched:
                self.last_fetch = datetime.now(UTC)

    def fail(self, error: str, reachable: bool | None = False) -> None:
        with self._lock:
            self.last_error = error
            if reachable is not None:
                self.reachable = reachable

    def state(self, repo: pygit2.Repository, ref: str) -> SyncState:
        ahead = behind = 0
        local, upstream = tip(repo, ref), tip(repo, tracking_ref(self.storage.branch))
        if self.storage.remote and local is not None:
            if upstream is None:
                ahead = sum(1 for _ in repo.walk(local))
            else:
                ahead, behind = repo.ahead_behind(local, upstream)
        with self._lock:
            return SyncState(self.storage.remote, ahead, behind, self.reachable, self.last_error, self.last_fetch)


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials for ssh/https remotes, and the record of server-side push refusals (hooks, receive-pack
    checks), which arrive only here, never as exceptions."""

    MAX_TRIES = 3  # libgit2 asks again after a refused credential; stop rather than loop

    def __init__(self, storage: StorageConfig) -> None:
        super().__init__()
        self.creds = storage.credentials
        self.rejected: str | None = None
        self.tries = 0

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected = f"{refname}: {message}"

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        return valid or self.creds.insecure_ignore_host_key

    def credentials(self, url: str, username_from_url: str | None, allowed_types: CredentialType):  # noqa: ANN201
        self.tries += 1
        if self.tries > self.MAX_TRIES:
            raise pygit2.GitError(f"authentication to {url} failed")
        user = self.creds.username or username_from_url or "git"
        if allowed_types & CredentialType.SSH_KEY:
            key = self.creds.ssh_key or next((k for k in _DEFAULT_KEYS if k.is_file()), None)
            if key is None and os.environ.get("SSH_AUTH_SOCK"):
                return pygit2.KeypairFromAgent(user)
            if key is not None:
                public = Path(f"{key}.pub")
                return pygit2.Keypair(user, str(public) if public.is_file() else None, str(key), "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and self.creds.token_env:
            token = os.environ.get(self.creds.token_env)
            if token:
                return pygit2.UserPass(user, token)
        if allowed_types & CredentialType.USERNAME:
            return pygit2.Username(user)
        raise pygit2.GitError(f"no credentials for {url} (see `credentials` of the storage in flagdeck.yaml)")


_DEFAULT_KEYS = [Path.home() / ".ssh" / name for name in ("id_ed25519", "id_ecdsa", "id_rsa")]


def tracking_ref(branch: str) -> str:
    return f"refs/remotes/{REMOTE_NAME}/{branch}"


def _remote(repo: pygit2.Repository, storage: StorageConfig) -> pygit2.Remote:
    """The `origin` remote at the storage's URL, with libgit2's network timeouts set to the storage's `timeout`
    (process-wide in libgit2; set before each operation, which runs on the repository's own thread)."""
    assert storage.remote
    url = storage.remote
    millis = max(1, round(storage.timeout * 1000))
    pygit2.settings.server_connect_timeout = millis
    pygit2.settings.server_timeout = millis
    try:
        found = repo.remotes[REMOTE_NAME]
    except KeyError:
        return repo.remotes.create(REMOTE_NAME, url)
    if found.url != url:
        repo.remotes.set_url(REMOTE_NAME, url)
        found = repo.remotes[REMOTE_NAME]
    return found


def fetch(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker) -> None:
    assert storage.remote
    branch = storage.branch
    try:
        _remote(repo, storage).fetch([f"+refs/heads/{branch}:{tracking_ref(branch)}"],
                                     prune=FetchPrune.NO_PRUNE, callbacks=_Callbacks(storage))
    except (pygit2.GitError, OSError) as exc:
        tracker.fail(f"fetch from {storage.remote} failed: {exc}")
        raise SyncError(f"fetch from {storage.remote} failed: {exc}") from None
    tracker.ok(fetched=True)


def integrate(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache) -> None:
    """Bring the local branch up to the fetched remote tip: fast-forward, or replay local-only commits on it."""
    ref, upstream_ref = branch_ref(storage.branch), tracking_ref(storage.branch)
    local, upstream = tip(repo, ref), tip(repo, upstream_ref)
    if upstream is None or local == upstream:
        return
    if local is None:
        cas_ref(repo, ref, None, upstream, "flagdeck: from remote")
    elif repo.descendant_of(upstream, local):
        cas_ref(repo, ref, local, upstream, "flagdeck: fast-forward to remote")
    elif not repo.descendant_of(local, upstream):
        try:
            replayed = replay(repo, local, upstream, cache)
        except ConflictError as exc:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            parked = f"refs/flagdeck/conflicts/{storage.branch}/{stamp}"
            repo.create_reference(parked, local)
            cas_ref(repo, ref, local, upstream, "flagdeck: follow remote after a conflict")
            message = f"{exc}; the local commits were kept as {parked} and the branch follows the remote"
            tracker.fail(message, reachable=None)
            raise ConflictError(message, resource=exc.resource) from None
        cas_ref(repo, ref, local, replayed, "flagdeck: replay local commits on the remote")


def _changed_paths(repo: pygit2.Repository, old: pygit2.Tree, new: pygit2.Tree) -> set[str]:
    paths = set()
    for delta in repo.diff(old, new).deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return paths


def _blob_id(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    entry = blob_at(tree, path)
    return entry.id if entry is not None else None


def _replay_path(repo: pygit2.Repository, commit: pygit2.Commit, onto: pygit2.Commit, path: str,
                 cache: ParseCache) -> tuple[bool, bytes | None]:
    """(changed?, new bytes or None for a deletion) for one path of `commit` replayed on `onto`."""
    parent = commit.parents[0]
    before, ours, theirs = (_blob_id(c.tree, path) for c in (parent, commit, onto))
    if theirs == before:
        return True, repo[ours].data if ours is not None else None
    if theirs == ours:
        return False, None
    parts = path.split("/")
    if len(parts) < 2 or parts[-1] not in FEATURE_FILES or ours is None or theirs is None:
        raise ConflictError(f"{path} was changed on the remote as well", resource=path)
    docs = [cache.get(str(oid), path, lambda o=oid: repo[o].data).document if oid else None
            for oid in (before, ours, theirs)]
    namespace = parts[-2]
    changes = diff_documents(namespace, docs[0], docs[1])
    clash = conflicting_change(docs[0], docs[2], changes)
    if clash is not None:
        raise ConflictError(f"{clash.kind.value} {clash.resource} was changed on the remote as well",
                            resource=clash.resource)
    if not changes:
        return False, None
    text = apply_changes(repo[theirs].data.decode("utf-8"), path, changes, docs[2])
    return True, text.encode("utf-8")


def replay(repo: pygit2.Repository, local: pygit2.Oid, upstream: pygit2.Oid, cache: ParseCache) -> pygit2.Oid:
    """Re-create each local-only commit (oldest first) on top of `upstream`, keeping authors and messages."""
    base = repo.merge_base(local, upstream)
    pending = []
    for commit in repo.walk(local):
        if commit.id == base:
            break
        pending.append(commit)
    walker_tip = repo[upstream]
    for commit in reversed(pending):
        if not commit.parents:
            continue  # a local root (the `add initial README` of a repository made while offline): theirs wins
        edits = {}
        for path in _changed_paths(repo, commit.parents[0].tree, commit.tree):
            changed, data = _replay_path(repo, commit, walker_tip, path, cache)
            if changed:
                edits[path] = data
        tree = build_tree(repo, walker_tip.tree, edits)
        if tree == walker_tip.tree_id:
            continue  # already upstream
        author = Author(commit.author.name, commit.author.email)
        committer = Author(commit.committer.name, commit.committer.email)
        new = make_commit(repo, tree, [walker_tip.id], author, commit.message, committer, commit.author.time)
        walker_tip = repo[new]
    return walker_tip.id


def push(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache) -> None:
    assert storage.remote
    ref, upstream_ref = branch_ref(storage.branch), tracking_ref(storage.branch)
    for _ in range(PUSH_ATTEMPTS):
        local, upstream = tip(repo, ref), tip(repo, upstream_ref)
        if local is None or local == upstream:
            return
        recorder = _Callbacks(storage)
        try:
            _remote(repo, storage).push([f"{ref}:{ref}"], callbacks=recorder)
        except (pygit2.GitError, OSError) as exc:
            text = str(exc)
            if "not present locally" in text or "non-fastforwardable" in text or "non-fast-forward" in text:
                fetch(repo, storage, tracker)
                integrate(repo, storage, tracker, cache)
                continue
            tracker.fail(f"push to {storage.remote} failed: {exc}")
            raise SyncError(f"push to {storage.remote} failed: {exc}") from None
        if recorder.rejected:
            fetch(repo, storage, tracker)
            if tip(repo, upstream_ref) != upstream:
                integrate(repo, storage, tracker, cache)
                continue
            tracker.fail(f"the remote refused the push: {recorder.rejected}", reachable=True)
            raise SyncError(f"the remote refused the push: {recorder.rejected}")
        if tip(repo, upstream_ref) != local:
            repo.references.create(upstream_ref, local, force=True)
        tracker.ok()
        return
    raise ConflictError(f"the remote kept moving; gave up pushing after {PUSH_ATTEMPTS} attempts", resource=ref)


def sync(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
         push_too: bool) -> None:
    fetch(repo, storage, tracker)
    integrate(repo, storage, tracker, cache)
    if push_too:
        push(repo, storage, tracker, cache)


def try_sync(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache,
             push: bool) -> bool:
    """`sync`, with failures recorded in the tracker instead of raised; True when it went through."""
    try:
        sync(repo, storage, tracker, cache, push)
    except (SyncError, ConflictError):
        return False
    return True


def try_push(repo: pygit2.Repository, storage: StorageConfig, tracker: SyncTracker, cache: ParseCache) -> bool:
    """Push after a commit: False when the remote cannot be reached (the commit stays local, to be pushed later);
    `ConflictError` when the remote holds a colliding change."""
    try:
        push(repo, storage, tracker, cache)
    except SyncError:
        return False
    return True
