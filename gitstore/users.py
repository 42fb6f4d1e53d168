"""The users file's people: name, email and role per environment, as `flagdeck ssh-server` reads them (with their
public keys, `app/ssh/users.py`) and as the scheduler reads them for the roles a schedule's user still has when it
runs (`automation.users`, `evaluator/automation/roles.py`). One format, one reader:

    users:
      alice:
        name: Alice Liddell          # optional, defaults to the entry's key ("alice")
        email: alice@example.com
        keys: ["ssh-ed25519 AAAAC3Nza... alice@laptop"]
        roles: {"*": editor}         # environment name or "*" -> viewer | editor | admin

Every error names the file, line and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


def dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_users_file(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read users file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UsersFileError(f"{path}: users file larger than {MAX_FILE_BYTES} bytes")
    return data


def decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsersFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_entries(text: str, filename: str) -> tuple[Any, UsersFile]:
    """(the ruamel document, for line numbers; the checked entries) of a users file's text; `UsersFileError` naming
    file, line and field."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    from gitstore.format.yamlio import node_line

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
        return data, UsersFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        raise UsersFileError(
            f"{filename}:{node_line(data, tuple(loc))}: {dotted(loc)}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None


def parse_bytes(data: bytes, path: Path) -> tuple[Any, UsersFile]:
    """`parse_entries` of a users file's bytes as read (`read_users_file`)."""
    return parse_entries(decode(data, path), str(path))


def line_of(document: Any, *loc: int | str) -> int:
    from gitstore.format.yamlio import node_line

    return node_line(document, tuple(loc))
