"""Talking to a remote: fetch its branch and learn its tip, and send a commit to it with a lease (the update is
made only if the remote branch is still where we last saw it). Policy (what to send, what to do when the remote
moved or was rewritten) lives in `gitstore.git.remote`.

Every network operation goes through an anonymous libgit2 remote (no configured refspecs, so libgit2 never updates
other refs behind our back, even in a `git clone --mirror`); the `origin` remote is still written to the
repository's configuration for people using git there. libgit2's network timeouts (process-wide) are set to the
storage's `timeout` before each operation.

A remote that is a path or a file:// URL is updated without libgit2's local transport, which writes the remote ref
without comparing it (two pushers could overwrite each other): the objects are copied and the remote ref is moved
with the same compare-and-swap (lock file) as local commits, which `git push` into that repository respects too.
Over ssh, git:// and https, receive-pack compares the old id itself; the lease is checked on the id the server
advertised in the same connection (`push_negotiation`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pygit2
from pygit2.enums import CredentialType, FetchPrune, ObjectType

from gitstore.config import StorageConfig
from gitstore.errors import ConflictError, FlagdeckError
from gitstore.git.objects import tree_at
from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import cas_ref

REMOTE_NAME = "origin"
_ZERO = pygit2.Oid(hex="0" * 40)


class RemoteMoved(FlagdeckError):
    """The remote branch is no longer where the local repository last saw it: fetch, integrate, try again."""


class Refused(FlagdeckError):
    """The server refused the update (a hook, a protected branch, or a lost race on its side)."""


def tracking_ref(branch: str) -> str:
    return f"refs/remotes/{REMOTE_NAME}/{branch}"


class _Callbacks(pygit2.RemoteCallbacks):
    """Credentials for ssh/https remotes, the lease check before a push's upload, and the record of server-side
    push refusals (hooks, receive-pack checks), which arrive only here, never as exceptions."""

    MAX_TRIES = 3  # libgit2 asks again after a refused credential; stop rather than loop

    def __init__(self, storage: StorageConfig, expected: pygit2.Oid | None = None):
        super().__init__()
        self.creds = storage.credentials
        self.expected = expected or _ZERO
        self.rejected: str | None = None
        self.tries = 0

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            if update.src != self.expected:
                raise RemoteMoved(f"{update.dst_refname} is at {str(update.src)[:8]} on the remote, not at "
                                  f"{str(self.expected)[:8]}")

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected = f"{refname}: {message}"

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        return valid or self.creds.insecure_ignore_host_key

    def credentials(self, url: str, username_from_url: str | None, allowed_types: CredentialType
                    ) -> pygit2.Username | pygit2.UserPass | pygit2.Keypair:
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


def _network(repo: pygit2.Repository, storage: StorageConfig) -> pygit2.Remote:
    """An anonymous remote at the storage's URL, libgit2's timeouts set; `origin` kept in the configuration."""
    assert storage.remote
    url = storage.remote
    millis = max(1, round(storage.timeout * 1000))
    pygit2.settings.server_connect_timeout = millis
    pygit2.settings.server_timeout = millis
    try:
        if repo.remotes[REMOTE_NAME].url != url:
            repo.remotes.set_url(REMOTE_NAME, url)
    except KeyError:
        try:
            repo.remotes.create(REMOTE_NAME, url)
        except (ValueError, pygit2.GitError):
            pass  # created by another process meanwhile
    return repo.remotes.create_anonymous(url)


def fetch(repo: pygit2.Repository, storage: StorageConfig, extra: tuple[str, ...] = ()) -> pygit2.Oid | None:
    """Fetch the remote branch into `refs/remotes/origin/<branch>` (and the `extra` refspecs in the same connection,
    pruned alike) and return its tip as the server advertised it in this very connection (None: the remote has no
    such branch). Raises pygit2.GitError / OSError."""
    branch = storage.branch
    remote = _network(repo, storage)
    remote.fetch([f"+refs/heads/{branch}:{tracking_ref(branch)}", *extra], prune=FetchPrune.PRUNE,
                 callbacks=_Callbacks(storage))
    wanted = branch_ref(branch)
    return next((head.oid for head in remote.list_heads(connect=False) if head.name == wanted), None)


def local_path(url: str) -> Path | None:
    """The directory of a remote given as a path or a file:// URL (None for ssh, git://, https)."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    return Path(url) if url.startswith("/") else None


def send(repo: pygit2.Repository, storage: StorageConfig, expected: pygit2.Oid | None, new: pygit2.Oid) -> None:
    """Make the remote branch `new`, provided it is still `expected` (None: the remote has no such branch).
    Raises RemoteMoved when it is not, Refused when the server says no, pygit2.GitError / OSError when the remote
    cannot be reached."""
    assert storage.remote
    ref = branch_ref(storage.branch)
    target = local_path(storage.remote)
    if target is not None:
        _send_to_path(repo, target, ref, expected, new)
        return
    recorder = _Callbacks(storage, expected)
    try:
        _network(repo, storage).push([f"{ref}:{ref}"], callbacks=recorder)
    except pygit2.GitError as exc:
        text = str(exc)
        if "not present locally" in text or "non-fastforwardable" in text or "non-fast-forward" in text:
            raise RemoteMoved(text) from None
        raise
    if recorder.rejected:
        raise Refused(recorder.rejected)


def delete(repo: pygit2.Repository, storage: StorageConfig, expected: pygit2.Oid | None) -> None:
    """Delete the remote branch, provided it is still at `expected` (a remote without it: nothing to do). Raises as
    `send`."""
    assert storage.remote
    ref = branch_ref(storage.branch)
    target = local_path(storage.remote)
    if target is not None:
        _delete_at_path(target, ref, expected)
        return
    recorder = _Callbacks(storage, expected)
    try:
        _network(repo, storage).push([f":{ref}"], callbacks=recorder)
    except pygit2.GitError as exc:
        if "non-fast" in str(exc):
            raise RemoteMoved(str(exc)) from None
        raise
    if recorder.rejected:
        raise Refused(recorder.rejected)


def _delete_at_path(path: Path, ref: str, expected: pygit2.Oid | None) -> None:
    try:
        target = pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        raise pygit2.GitError(f"{path}: {exc}") from None
    if tip(target, ref) is None:
        return
    with target.transaction() as txn:  # the same lock-file protocol as `git push` into that repository
        txn.lock_ref(ref)
        current = tip(target, ref)
        if current is None:
            return
        if expected is not None and current != expected:
            raise RemoteMoved(f"{ref} is at {str(current)[:8]} on the remote, not at {str(expected)[:8]}")
        txn.remove(ref)


def _send_to_path(repo: pygit2.Repository, path: Path, ref: str, expected: pygit2.Oid | None,
                  new: pygit2.Oid) -> None:
    try:
        target = pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        raise pygit2.GitError(f"{path}: {exc}") from None
    if not target.is_bare:
        raise Refused(f"{path} is not a bare repository (push to a bare one, as git does)")
    _copy_missing(repo, target, new, expected)
    try:
        cas_ref(target, ref, expected, new, "push (flagdeck)")
    except ConflictError as exc:
        raise RemoteMoved(str(exc)) from None


def _copy_missing(source: pygit2.Repository, target: pygit2.Repository, new: pygit2.Oid,
                  have: pygit2.Oid | None) -> None:
    """Copy every object reachable from commit `new` that `target` lacks (`have`: a commit it holds with all its
    history); trees and blobs before the commits that name them, parents before children."""
    walker = source.walk(new)
    if have is not None and have in source:
        walker.hide(have)
    commits = [commit for commit in walker if commit.id not in target]
    for commit in reversed(commits):
        _copy_tree(source, target, commit.tree_id)
        target.odb.write(ObjectType.COMMIT, commit.read_raw())


def _copy_tree(source: pygit2.Repository, target: pygit2.Repository, tree_id: pygit2.Oid) -> None:
    if tree_id in target:
        return
    tree = tree_at(source, tree_id)
    for entry in tree:
        if entry.type == ObjectType.TREE:
            _copy_tree(source, target, entry.id)
        elif entry.type == ObjectType.BLOB and entry.id not in target:
            target.odb.write(ObjectType.BLOB, source[entry.id].read_raw())
    target.odb.write(ObjectType.TREE, tree.read_raw())
