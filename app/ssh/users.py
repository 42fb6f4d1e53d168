"""The SSH users file: which public key belongs to which person, and that person's role per environment (the format
and its reader: `gitstore/users.py`, which the scheduler reads too).

`UserDirectory` reads the file again for each new connection and every second (the server's revocation check), and
takes a new version whenever the content changed (a SHA-256 of the bytes: an edit that keeps size and modification
time counts). A file that is gone or unreadable lets nobody in; a broken edit keeps the last good version in force
and is reported once. `still_allowed` says whether a live session may go on under the current version.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from gitstore.roles import ROLES, role_in
from gitstore.users import UsersFileError, decode, dotted, line_of, parse_entries, read_users_file

__all__ = ["User", "UserDirectory", "UsersFileError", "load_users", "parse_users", "still_allowed"]


@dataclass(frozen=True)
class User:
    """An authenticated person: who commits are authored as, and what they may do."""

    login: str
    name: str
    email: str
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def author(self) -> str:
        """`Name <email>`, the form FLAGDECK_USER carries to the console."""
        return f"{self.name} <{self.email}>"

    def roles_json(self) -> str:
        return json.dumps(self.roles, sort_keys=True)

    def rank(self, scope: str) -> int:
        """The role's rank (index in `ROLES`) in an environment (`"*"`: any environment not named); -1 for none."""
        role = role_in(self.roles, scope)
        return ROLES.index(role) if role is not None else -1


def still_allowed(old: User, new: User | None) -> str | None:
    """Why a session that logged in as `old` must end now that its key belongs to `new` (None: it may go on).

    It goes on only when the key still belongs to the same person with the same name and e-mail (the console commits
    as them) and no environment's role went down; a raised role takes effect at the next login."""
    if new is None:
        return "access revoked"
    if (new.login, new.name, new.email) != (old.login, old.name, old.email):
        return "identity changed"
    for scope in sorted(set(old.roles) | set(new.roles) | {"*"}):
        if new.rank(scope) < old.rank(scope):
            where = "every other environment" if scope == "*" else scope
            return f"role lowered in {where}"
    return None


def parse_users(text: str, filename: str) -> dict[bytes, User]:
    """Parse a users file; return public key blob -> User. Raises `UsersFileError` naming file, line and field."""
    data, parsed = parse_entries(text, filename)
    by_key: dict[bytes, User] = {}
    owner: dict[bytes, str] = {}
    for login, entry in parsed.users.items():
        user = User(login=login, name=entry.name or login, email=entry.email, roles=dict(entry.roles))
        for index, line in enumerate(entry.keys):
            loc = ("users", login, "keys", index)
            where = f"{filename}:{line_of(data, *loc)}: {dotted(loc)}"
            try:
                key = asyncssh.import_public_key(line.strip())
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise UsersFileError(f"{where}: not an OpenSSH public key ({exc})") from None
            if key.algorithm == b"ssh-dss":
                raise UsersFileError(f"{where}: DSA keys are not accepted (deprecated and weak); use ed25519")
            blob = key.public_data
            if blob in owner and owner[blob] != login:
                raise UsersFileError(f"{where}: the same key is already given to user {owner[blob]!r}")
            owner[blob] = login
            by_key[blob] = user
    return by_key


def load_users(path: str | os.PathLike[str]) -> dict[bytes, User]:
    path = Path(path)
    return _parse_bytes(read_users_file(path), path)


def _parse_bytes(data: bytes, path: Path) -> dict[bytes, User]:
    return parse_users(decode(data, path), str(path))


class UserDirectory:
    """Key -> user lookups against a users file, re-read by `refresh` (the server calls it for each new connection
    and every second). A new version is taken whenever the bytes changed; a missing or unreadable file empties the
    directory (nobody gets in); a broken one keeps the last good version."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._digest: bytes | None = None
        self._bad: bytes | None = None  # digest of the broken version last reported (not parsed again)
        self._users: dict[bytes, User] = {}
        self.last_error: str | None = None
        self.refresh(strict=True)

    def refresh(self, strict: bool = False) -> str | None:
        """Re-read the file; take it if its content changed. Returns a newly seen error message (once per distinct
        problem); with `strict` (start-up) raises it instead."""
        try:
            data = read_users_file(self.path)
        except UsersFileError as exc:
            if strict:
                raise
            self._users, self._digest, self._bad = {}, None, None  # gone or unreadable: nobody is let in
            return self._problem(f"{exc}; every login is refused")
        digest = hashlib.sha256(data).digest()
        if digest in (self._digest, self._bad):
            return None
        try:
            users = _parse_bytes(data, self.path)
        except UsersFileError as exc:
            if strict:
                raise
            self._bad = digest
            if self._digest is None:  # nothing good to keep (the file was gone): still nobody
                return self._problem(f"{exc}; every login is refused")
            return self._problem(f"{exc}; the previous version stays in force")
        self._digest, self._bad, self._users, self.last_error = digest, None, users, None
        return None

    def _problem(self, message: str) -> str | None:
        new = message if message != self.last_error else None
        self.last_error = message
        return new

    def lookup(self, key: asyncssh.SSHKey) -> User | None:
        return self._users.get(key.public_data)

    def lookup_blob(self, blob: bytes) -> User | None:
        return self._users.get(blob)

    def __len__(self) -> int:
        return len({u.login for u in self._users.values()})
