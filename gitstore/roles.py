"""Who may do what, decided in one place. The store refuses (`Store.require`), the console shows or hides actions
and the SSH server hands a person's roles to their console: all of them ask `allows`.

Roles map an environment name, or `"*"` for every environment not named, to `viewer`, `editor` or `admin`:

| action      | what it covers                                                          | needs  |
|-------------|-------------------------------------------------------------------------|--------|
| `read`      | browse, evaluate, export, history                                       | viewer |
| `commit`    | create, change and delete flags and segments; revert a flag's change    | editor |
| `namespace` | create a namespace, change its name or description, delete it          | admin  |
| `promote`   | copy a flag or a namespace into this environment from another          | admin  |
| `repair`    | `flagdeck doctor --fix`: remove stale locks, repair the work tree       | admin  |
| `break-glass` | write to a protected environment without a proposal (recorded)        | admin  |

A revert is a commit like any other: reverting a change that created, renamed or deleted a namespace needs admin.
An environment with no role (not named, and no `"*"`) grants nothing: it cannot even be read. No roles at all
(`None`, a local user without `FLAGDECK_ROLES`) means admin everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from gitstore.errors import AccessDenied

if TYPE_CHECKING:  # (the changes import the document models: reading commands ask for roles, never for these)
    from gitstore.model.changes import Change

ROLES = ("viewer", "editor", "admin")
NO_ACCESS = "no access"


class Action(StrEnum):
    READ = "read"
    COMMIT = "commit"
    NAMESPACE = "namespace"
    PROMOTE = "promote"
    REPAIR = "repair"
    BREAK_GLASS = "break-glass"


NEEDED: dict[Action, str] = {
    Action.READ: "viewer",
    Action.COMMIT: "editor",
    Action.NAMESPACE: "admin",
    Action.PROMOTE: "admin",
    Action.REPAIR: "admin",
    Action.BREAK_GLASS: "admin",
}
_WORDS = {Action.READ: "reading", Action.COMMIT: "committing", Action.NAMESPACE: "changing a namespace",
          Action.PROMOTE: "promoting", Action.REPAIR: "repairing the repository",
          Action.BREAK_GLASS: "breaking glass"}

Roles = Mapping[str, str] | None


def check_roles(roles: Roles) -> dict[str, str] | None:
    """The roles as a plain dict; `ValueError` naming the scope whose role is not one of ROLES."""
    if roles is None:
        return None
    for scope, role in roles.items():
        if role not in ROLES:
            raise ValueError(f"role for {scope!r} must be one of {', '.join(ROLES)}, not {role!r}")
    return dict(roles)


def parse_roles(text: str | None) -> dict[str, str] | None:
    """`FLAGDECK_ROLES`: JSON such as {"*": "editor"} or {"staging": "editor", "production": "viewer"}; None when
    unset or empty. `ValueError` with a message meant for the user otherwise."""
    if not text:
        return None
    try:
        roles = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"FLAGDECK_ROLES is not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(roles, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in roles.items()):
        raise ValueError('FLAGDECK_ROLES must be a JSON object of strings, e.g. {"*": "editor"}')
    return check_roles(roles)


def role_in(roles: Roles, env: str) -> str | None:
    """The role in `env`: its own, else `"*"`'s, else None (no access). Without roles: admin."""
    if roles is None:
        return "admin"
    return roles.get(env, roles.get("*"))


def allows(roles: Roles, env: str, action: Action | str) -> bool:
    role = role_in(roles, env)
    return role is not None and ROLES.index(role) >= ROLES.index(NEEDED[Action(action)])


def require(roles: Roles, env: str, action: Action | str, who: str = "this user", what: str | None = None) -> None:
    """`AccessDenied` naming who, their role, the environment and the role the action needs."""
    action = Action(action)
    if allows(roles, env, action):
        return
    role = role_in(roles, env)
    has = f"is {role}" if role is not None else "has no role"
    raise AccessDenied(f"{who} {has} in {env!r}; {what or _WORDS[action]} needs {NEEDED[action]}")


def action_of(changes: Iterable[Change]) -> Action:
    """What a commit of `changes` needs: any namespace change (create, rename, delete) is `namespace`."""
    from gitstore.model.changes import Kind

    return Action.NAMESPACE if any(c.kind is Kind.NAMESPACE for c in changes) else Action.COMMIT
