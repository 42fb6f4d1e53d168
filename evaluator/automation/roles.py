"""Who may still make a schedule's change or a ramp's step when it runs (issue 17, gap 4), read again at each
scheduler round, so a user removed or demoted since they scheduled is refused at the time the change would be
committed, not only when they made it. The roles come from one of two places:

- `automation.roles` in flagdeck.yaml (email -> environment -> role). The file is read each round and parsed again
  only when its bytes changed; a flagdeck.yaml that no longer loads keeps the last roles that did in force, said
  once in the log.
- `automation.users`: a users file in `flagdeck ssh-server`'s format (`gitstore/users.py`), the same file the SSH
  console logs people in with, so one file says who may do what in both. Read each round, parsed again when its
  bytes changed. A broken edit keeps the last good version in force (said once); a file that is gone or unreadable,
  or broken with no good version before it, refuses every schedule and ramp step (fail closed, as the SSH server
  lets nobody in), with the reason in each refusal. An email given to two entries with different roles is refused.

A schedule or a ramp records its user as `Name <email>` (`by`); the role is looked up by the email (any case), per
environment (a branch environment takes its base's, as everywhere: `gitstore.roles`), and committing needs editor.
Neither set: nothing is checked (a local user without roles is admin everywhere)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from gitstore import roles as access
from gitstore.errors import AccessDenied, FlagdeckError

log = logging.getLogger(__name__)
_EMAIL = re.compile(r"<([^<>]+)>\s*$")


def email_of(user: str) -> str | None:
    """The email of `Name <email>` (a schedule's or a ramp's `by`), lower case; None when it has none."""
    found = _EMAIL.search(user)
    return found.group(1).strip().lower() if found else None


class RoleDirectory:
    """The roles of flagdeck.yaml's `automation.roles`, or of the users file `automation.users`, as the file says
    now."""

    def __init__(self, path: Path | None, roles: Mapping[str, Mapping[str, str]] | None, users: Path | None = None):
        self.path, self.users = path, users
        self._roles = _lower(roles) if users is None else {}
        self._digest: str | None = None
        self._broken: str | None = None  # the error the file fails to load with, said once
        self._closed: str | None = None  # why every refusal is given (the users file cannot be used)
        self._bad: str | None = None  # digest of the broken users file last reported (not parsed again)
        self._twice: dict[str, list[str]] = {}  # email -> the users-file entries that give it different roles
        if users is not None:
            self._read_users()
        elif path is not None:
            self._digest = _digest(path)

    def refresh(self) -> None:
        """Read the roles' file again when it changed; a file that does not load leaves the roles as they were."""
        if self.users is not None:
            self._read_users()
            return
        if self.path is None:
            return
        digest = _digest(self.path)
        if digest is None or digest == self._digest:
            return
        from evaluator.config import load_evaluator_config

        try:
            roles = load_evaluator_config(self.path).automation.roles
        except (FlagdeckError, ValueError, OSError) as exc:
            self._say(f"{self.path} does not load ({' '.join(str(exc).split())}); the roles it had before stay in "
                      "force")
            return
        self._digest, self._broken = digest, None
        if _lower(roles) != self._roles:
            log.warning("scheduler: automation.roles changed in %s", self.path)
        self._roles = _lower(roles)

    def _read_users(self) -> None:
        from gitstore.users import UsersFileError, parse_bytes, read_users_file

        assert self.users is not None
        try:
            data = read_users_file(self.users)
        except UsersFileError as exc:
            self._digest, self._bad, self._closed = None, None, str(exc)
            self._say(f"{exc}; every schedule and ramp step is refused until it can be read")
            return
        digest = hashlib.sha256(data).hexdigest()
        if digest in (self._digest, self._bad):
            return
        try:
            _, parsed = parse_bytes(data, self.users)
        except UsersFileError as exc:
            self._bad = digest
            if self._digest is None:
                self._closed = str(exc)
                self._say(f"{exc}; every schedule and ramp step is refused until it is mended")
            else:
                self._say(f"{exc}; the roles it had before stay in force")
            return
        roles: dict[str, dict[str, str]] = {}
        givers: dict[str, list[str]] = {}
        twice: set[str] = set()
        for login, entry in parsed.users.items():
            email = entry.email.lower()
            givers.setdefault(email, []).append(login)
            if roles.setdefault(email, dict(entry.roles)) != dict(entry.roles):
                twice.add(email)
        if self._digest is not None and roles != self._roles:
            log.warning("scheduler: the roles in %s changed", self.users)
        self._digest, self._bad, self._broken, self._closed = digest, None, None, None
        self._roles, self._twice = roles, {email: givers[email] for email in twice}

    def _say(self, problem: str) -> None:
        if self._broken != problem:
            self._broken = problem
            log.warning("scheduler: %s", problem)

    def refusal(self, user: str, env: str, what: str) -> str | None:
        """Why `user` may not commit `what` in `env` now (None: they may); `env` a configured environment (a branch
        environment's base)."""
        if self._closed is not None:
            return f"{self._closed}; {what} is refused until the users file can be used"
        if self._roles is None:
            return None
        email = email_of(user)
        if email in self._twice:
            return (f"{user}: the users file {self.users} gives {email} different roles (entries "
                    f"{', '.join(self._twice[email])}); {what} is refused until one says it")
        roles = self._roles.get(email) if email else None
        if roles is None:
            where = f"automation.roles ({self.path})" if self.users is None else f"the users file {self.users}"
            return f"{user} is no longer in {where}; {what} needs editor in {env!r}"
        try:
            access.require(roles, env, access.Action.COMMIT, user, what)
        except AccessDenied as exc:
            return f"{exc} ({'automation.roles' if self.users is None else self.users.name}, as of now)"
        return None


def _lower(roles: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]] | None:
    return None if roles is None else {email.lower(): dict(scopes) for email, scopes in roles.items()}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
