"""The SSH users file: which public key belongs to which person, and that person's role per environment.

    users:
      alice:
        name: Alice Liddell          # optional, defaults to the entry's key ("alice")
        email: alice@example.com
        keys: ["ssh-ed25519 AAAAC3Nza... alice@laptop"]
        roles: {"*": editor}         # environment name or "*" -> viewer | editor | admin

`UserDirectory` reads the file again for each new connection and every second (the server's revocation check), and
takes a new version whenever the content changed (a SHA-256 of the bytes: an edit that keeps size and modification
time counts). A file that is gone or unreadable lets nobody in; a broken edit keeps the last good version in force
and is reported once. `still_allowed` says whether a live session may go on under the current version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from gitstore.format.yamlio import node_line  # line of a pydantic error's location in a ruamel tree
from gitstore.roles import ROLES, role_in

Role = Literal["viewer", "editor", "admin"]
MAX_FILE_BYTES = 1 << 20  # a users file is a few kilobytes; anything this large is a mistake
LOGIN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"  # also names the person's state directory: no '/', no leading '.'


class UsersFileError(Exception):
    """The users file cannot be used; the message names the file, line and field."""


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str = Field(min_length=3, pattern=r"^[^\s<>@]+@[^\s<>@]+$")
    keys: list[str] = Field(min_length=1)
    roles: dict[str, Role] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c in value for c in "<>\n")):
            raise ValueError("name must be non-empty and contain no '<', '>' or newline")
        return value


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: dict[str, UserEntry] = Field(default_factory=dict)

    @field_validator("users")
    @classmethod
    def _plain_logins(cls, value: dict[str, UserEntry]) -> dict[str, UserEntry]:
        for login in value:
            if not re.match(LOGIN, login):
                raise ValueError(f"user name {login!r} must be letters, digits and . _ @ + - (not first), "
                                 "at most 128 characters")
        return value


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


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_users(text: str, filename: str) -> dict[bytes, User]:
    """Parse a users file; return public key blob -> User. Raises `UsersFileError` naming file, line and field."""
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        raise UsersFileError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise UsersFileError(f"{filename}:1: expected a mapping with a 'users' key")
    try:
        parsed = UsersFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        raise UsersFileError(
            f"{filename}:{node_line(data, tuple(loc))}: {_dotted(loc)}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None
    by_key: dict[bytes, User] = {}
    owner: dict[bytes, str] = {}
    for login, entry in parsed.users.items():
        user = User(login=login, name=entry.name or login, email=entry.email, roles=dict(entry.roles))
        for index, line in enumerate(entry.keys):
            loc = ("users", login, "keys", index)
            where = f"{filename}:{node_line(data, tuple(loc))}: {_dotted(loc)}"
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


def read_users_file(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read users file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsersFileError(f"{path}: users file larger than {MAX_FILE_BYTES} bytes")
    return data


def load_users(path: str | os.PathLike[str]) -> dict[bytes, User]:
    path = Path(path)
    return _parse_bytes(read_users_file(path), path)


def _parse_bytes(data: bytes, path: Path) -> dict[bytes, User]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsersFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_users(text, str(path))


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
