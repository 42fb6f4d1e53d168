"""Roles are decided once (`gitstore.roles`): the store refuses exactly what the console hides. Issue 11 #8."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.session import Session
from gitstore import roles as access
from gitstore.config import load_config
from gitstore.errors import AccessDenied
from gitstore.model.changes import Change, Kind
from gitstore.roles import Action
from gitstore.store import Store

from .conftest import BOB, put_flag

ROLE_MAPS = [None, {"*": "viewer"}, {"*": "editor"}, {"*": "admin"}, {"staging": "editor"},
             {"staging": "admin", "production": "viewer"}, {"production": "editor", "*": "viewer"}]


def test_what_each_role_may_do() -> None:
    table = {role: [a.value for a in Action if access.allows({"*": role}, "x", a)] for role in access.ROLES}
    assert table == {"viewer": ["read"], "editor": ["read", "commit"],
                     "admin": ["read", "commit", "namespace", "promote", "repair", "break-glass"]}
    assert access.role_in(None, "anything") == "admin"
    assert access.role_in({"staging": "editor"}, "production") is None
    assert not any(access.allows({"staging": "editor"}, "production", a) for a in Action)
    assert access.role_in({"staging": "viewer", "*": "admin"}, "staging") == "viewer"  # a named env wins over "*"
    with pytest.raises(ValueError, match="role for '\\*' must be one of viewer, editor, admin, not 'owner'"):
        access.check_roles({"*": "owner"})
    with pytest.raises(ValueError, match="FLAGDECK_ROLES is not JSON"):
        access.parse_roles("{editor}")


def test_an_editor_cannot_rename_a_namespace(demo_config: Path) -> None:
    config = load_config(demo_config)
    with Store(config, roles={"*": "editor"}, identity=BOB) as store:
        info = store.snapshot("staging").document("default").namespace.model_copy(update={"name": "Renamed"})
        with pytest.raises(AccessDenied, match="Bob Example is editor in 'staging'; changing a namespace needs admin"):
            store.commit("staging", [Change("default", Kind.NAMESPACE, "default", info)])
        assert store.snapshot("staging").document("default").namespace.name != "Renamed"
    with Store(config, roles={"staging": "admin"}) as store:
        assert store.commit("staging", [Change("default", Kind.NAMESPACE, "default", info)]).created


@pytest.mark.parametrize("roles", ROLE_MAPS)
def test_the_console_offers_exactly_what_the_store_allows(demo_config: Path, roles: dict[str, str] | None) -> None:
    config = load_config(demo_config)
    with Store(config, roles=roles) as store:
        session = Session(store, roles=roles)
        for env in ("staging", "production"):
            allowed = {}
            for action, attempt in ((Action.READ, lambda e=env: store.snapshot(e)),
                                    (Action.COMMIT, lambda e=env: store.commit(e, [put_flag("probe")])),
                                    (Action.NAMESPACE, lambda e=env: store.commit(e, [Change(
                                        "other", Kind.NAMESPACE, "other", None)])),
                                    (Action.PROMOTE, lambda e=env: store.promote(
                                        "production" if e == "staging" else "staging", e, "default"))):
                try:
                    attempt()
                    allowed[action] = True
                except AccessDenied:
                    allowed[action] = False
                except Exception:  # noqa: BLE001 - allowed, failed for another reason (no such namespace)
                    allowed[action] = True
            assert allowed == {Action.READ: session.can_read(env), Action.COMMIT: session.can_edit(env),
                               Action.NAMESPACE: session.is_admin(env), Action.PROMOTE: session.can(Action.PROMOTE,
                                                                                                    env)}, env
            assert session.role(env) == (access.role_in(roles, env) or "no access")


def test_no_role_is_shown_as_no_access_and_the_console_opens_where_it_may_read(demo_config: Path) -> None:
    roles = {"staging": "editor"}
    with Store(load_config(demo_config), roles=roles) as store:
        session = Session(store, env="production", roles=roles)
        assert session.role("production") == "no access"  # was "viewer", while the store refused to read it
        session.open()
        assert session.env == "staging" and session.can_edit()
