"""The SSH users file: which public key belongs to which person, and that person's role per environment.

    users:
      alice:
        name: Alice Liddell          # optional, defaults to the entry's key ("alice")
        email: alice@example.com
        keys: ["ssh-ed25519 AAAAC3Nza... alice@laptop"]
        roles: {"*": editor}         # environment name or "*" -> viewer | editor | admin

`UserDirectory` re-reads the file for each new connection when its modification time or size changed, so edits
take effect without a restart; a broken edit keeps the last good version in force and is reported once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from gitstore.yamlio import node_line  # line of a pydantic error's location in a ruamel tree

Role = Literal["viewer", "editor", "admin"]


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
            blob = key.public_data
            if blob in owner and owner[blob] != login:
                raise UsersFileError(f"{where}: the same key is already given to user {owner[blob]!r}")
            owner[blob] = login
            by_key[blob] = user
    return by_key


def load_users(path: str | os.PathLike[str]) -> dict[bytes, User]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read users file: {exc.strerror or exc}") from None
    return parse_users(text, str(path))


class UserDirectory:
    """Key -> user lookups against a users file, re-read when it changes (checked on every lookup)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._users: dict[bytes, User] = {}
        self.last_error: str | None = None
        self.refresh(strict=True)

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def refresh(self, strict: bool = False) -> str | None:
        """Re-read the file if it changed. Returns a newly seen error message (the last good users stay in force);
        with `strict` (start-up) raises it instead."""
        stamp = self._current_stamp()
        if stamp is not None and stamp == self._stamp:
            return None
        try:
            users = load_users(self.path)
        except UsersFileError as exc:
            if strict:
                raise
            message = str(exc)
            self._stamp = stamp
            new = message if message != self.last_error else None
            self.last_error = message
            return new
        self._stamp = stamp
        self._users = users
        self.last_error = None
        return None

    def lookup(self, key: asyncssh.SSHKey) -> User | None:
        return self._users.get(key.public_data)

    def __len__(self) -> int:
        return len({u.login for u in self._users.values()})
