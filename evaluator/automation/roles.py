"""Who may still make a schedule's change or a ramp's step when it runs (issue 17, gap 4): the `automation.roles`
of flagdeck.yaml, read again at each scheduler round (the file is read each round and parsed again only when its
bytes changed), so a user removed or demoted since they scheduled is refused at the time the change would be
committed, not only when they made it.

A schedule or a ramp records its user as `Name <email>` (`by`); the role is looked up by the email, per
environment (a branch environment takes its base's, as everywhere: `gitstore.roles`), and committing needs editor.
No `automation.roles` at all: nothing is checked (a local user without roles is admin everywhere). A flagdeck.yaml
that no longer loads keeps the last roles that did in force, said once in the log."""

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
    """The roles of flagdeck.yaml's `automation.roles`, as the file says now."""

    def __init__(self, path: Path | None, roles: Mapping[str, Mapping[str, str]] | None):
        self.path = path
        self._roles = _lower(roles)
        self._digest: str | None = None
        self._broken: str | None = None  # the error the file fails to load with, said once
        if path is not None:
            self._digest = _digest(path)

    def refresh(self) -> None:
        """Read flagdeck.yaml again when it changed; a file that does not load leaves the roles as they were."""
        if self.path is None:
            return
        digest = _digest(self.path)
        if digest is None or digest == self._digest:
            return
        from evaluator.config import load_evaluator_config

        try:
            roles = load_evaluator_config(self.path).automation.roles
        except (FlagdeckError, ValueError, OSError) as exc:
            if self._broken != str(exc):
                self._broken = str(exc)
                log.warning("scheduler: %s does not load (%s); the roles it had before stay in force",
                            self.path, " ".join(str(exc).split()))
            return
        self._digest, self._broken = digest, None
        if _lower(roles) != self._roles:
            log.warning("scheduler: automation.roles changed in %s", self.path)
        self._roles = _lower(roles)

    def refusal(self, user: str, env: str, what: str) -> str | None:
        """Why `user` may not commit `what` in `env` now (None: they may); `env` a configured environment (a branch
        environment's base)."""
        if self._roles is None:
            return None
        email = email_of(user)
        roles = self._roles.get(email) if email else None
        if roles is None:
            return f"{user} is no longer in automation.roles ({self.path}); {what} needs editor in {env!r}"
        try:
            access.require(roles, env, access.Action.COMMIT, user, what)
        except AccessDenied as exc:
            return f"{exc} (automation.roles, as of now)"
        return None


def _lower(roles: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]] | None:
    return None if roles is None else {email.lower(): dict(scopes) for email, scopes in roles.items()}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
