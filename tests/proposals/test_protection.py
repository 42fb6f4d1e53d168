"""Protected environments: flagdeck.yaml's `protect:` is checked with file:line errors, every direct write path of
the store is refused with a message saying how to propose, and an admin can break glass (trailer + audit record)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from gitstore.config import load_config
from gitstore.errors import AccessDenied, ConfigError, ProtectedEnvironment, ValidationError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import NamespaceInfo
from gitstore.proposals import protection
from gitstore.proposals.audit import audit
from gitstore.store import Store

from .conftest import ALICE, BOB, message, open_as, toggle


@pytest.mark.parametrize(("policy", "error"), [
    ("protect: {approvals: -1}", ":10: environments.production.protect.approvals: Input should be greater than"),
    ("protect: {proposals: maybe}", ":10: environments.production.protect.proposals: Input should be 'required'"),
    ("protect: {approvers: root}", ":10: environments.production.protect.approvers: Input should be 'viewer'"),
    ("protect: {approval: 2}", ":10: environments.production.protect.approval: unknown key"),
    ("protect: {approvals: '2'}", ":10: environments.production.protect.approvals: Input should be a valid integer"),
])
def test_bad_policies_are_named_by_file_line_and_key(config: Path, policy: str, error: str) -> None:
    config.write_text(config.read_text().replace(
        "protect: {proposals: required, approvals: 1, approvers: admin}", policy))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert f"{config}{error}" in str(caught.value)


def test_policies_as_written(config: Path) -> None:
    loaded = load_config(config)
    assert protection.protected(loaded, "production") and not protection.protected(loaded, "staging")
    assert protection.policy(loaded, "production").approvals == 1
    assert protection.policy(loaded, "staging") == protection.UNPROTECTED
    config.write_text(config.read_text().replace(
        "protect: {proposals: required, approvals: 1, approvers: admin}", "protect: true"))
    assert load_config(config).environments["production"].protect == protection.ProtectConfig()
    config.write_text(config.read_text().replace("protect: true", "protect: {proposals: optional, approvals: 2}"))
    loaded = load_config(config)
    assert not protection.protected(loaded, "production") and protection.policy(loaded, "production").approvals == 2


def test_every_direct_write_to_a_protected_environment_is_refused(admin: Store) -> None:
    head = admin.head("production")
    flag_change = toggle(admin, "production")
    attempts = {
        "commit": lambda: admin.commit("production", [flag_change]),
        "namespace create": lambda: admin.commit("production", [Change("ops", Kind.NAMESPACE, "ops",
                                                                       NamespaceInfo(key="ops", name="Ops"))]),
        "namespace delete": lambda: admin.commit("production", [Change("default", Kind.NAMESPACE, "default", None)]),
        "revert": lambda: admin.revert("production", "default", head),
        "restore": lambda: admin.restore("production", "default", head, flag="new-checkout"),
        "promote": lambda: admin.promote("staging", "production", "default", "new-checkout"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ProtectedEnvironment) as caught:
            attempt()
        text = str(caught.value)
        assert "production is protected" in text and "flagdeck propose --env production" in text, what
        assert isinstance(caught.value, AccessDenied)
    assert "promoting into production refused" in _error(attempts["promote"])
    assert "reverting refused" in _error(attempts["revert"])
    assert admin.head("production") == head  # nothing was committed
    assert admin.commit("staging", [toggle(admin, "staging")]).created  # staging is not protected


def _error(attempt: object) -> str:
    try:
        attempt()  # type: ignore[operator]
    except ProtectedEnvironment as exc:
        return str(exc)
    raise AssertionError("not refused")


def test_break_glass_is_for_admins_and_leaves_a_trailer_and_an_audit_record(config: Path) -> None:
    with open_as(config, ALICE, {"*": "editor"}) as editor:
        with pytest.raises(AccessDenied, match="Alice Example is editor in 'production'; breaking glass needs admin"):
            with editor.break_glass("production", "site down"):
                pass
    with open_as(config, BOB) as admin:
        with pytest.raises(ValidationError, match="breaking glass needs a reason"):
            with admin.break_glass("production", "  "):
                pass
        with admin.break_glass("production", "checkout down,\n nobody to approve"):
            result = admin.commit("production", [toggle(admin, "production")])
        assert message(admin, "production").endswith("\n\nBreak-glass: checkout down, nobody to approve")
        with pytest.raises(ProtectedEnvironment):  # the glass is whole again after the block
            admin.commit("production", [toggle(admin, "production")])
        with admin.break_glass("staging", "wrong environment"):  # admits staging only
            with pytest.raises(ProtectedEnvironment):
                admin.commit("production", [toggle(admin, "production")])
        (entry,) = audit(admin, "production")
        assert (entry.environment, entry.commit, entry.user, entry.reason) == (
            "production", result.commit, "Bob Example <bob@example.com>", "checkout down, nobody to approve")
        assert audit(admin, "staging") == []


def test_cli_revert_into_a_protected_environment_exits_1_saying_how_to_propose(config: Path) -> None:
    with Store(load_config(config)) as store:
        head = store.head("production")
    result = CliRunner().invoke(main, ["revert", "--config", str(config), "--env", "production", head],
                                env={"FLAGDECK_USER": "Bob Example <bob@example.com>", "FLAGDECK_ROLES": ""})
    assert result.exit_code == 1
    assert "reverting refused: production is protected" in result.output


def test_an_admin_is_refused_too_and_branches_of_protected_environments_are_not_protected(config: Path) -> None:
    loaded = load_config(config)
    assert protection.guard(loaded, "staging") is None
    assert protection.guard(loaded, "a-branch-key") is None  # not a configured environment: never protected
    with pytest.raises(ProtectedEnvironment):
        protection.guard(loaded, "production")
    assert BOB.name  # admins are refused as well: see test_every_direct_write_to_a_protected_environment_is_refused


def test_cli_revert_breaks_glass_for_an_admin(config: Path) -> None:
    with Store(load_config(config)) as store:
        head = store.head("production")
    env = {"FLAGDECK_USER": "Bob Example <bob@example.com>"}
    args = ["revert", "--config", str(config), "--env", "production", "--flag", "new-checkout", "--restore", head]
    with Store(load_config(config)) as store, store.break_glass("production", "setup"):
        store.commit("production", [toggle(store, "production")])
    result = CliRunner().invoke(main, [*args, "--break-glass", "incident 7"], env={**env, "FLAGDECK_ROLES":
                                                                                   '{"*": "editor"}'})
    assert result.exit_code == 1 and "breaking glass needs admin" in result.output
    result = CliRunner().invoke(main, [*args, "--break-glass", "incident 7"], env={**env, "FLAGDECK_ROLES": ""})
    assert result.exit_code == 0, result.output
    with Store(load_config(config)) as store:
        assert message(store, "production").endswith("\n\nBreak-glass: incident 7")
        assert [e.reason for e in audit(store, "production")] == ["setup", "incident 7"]
