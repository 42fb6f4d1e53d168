"""Proposals on one repository: propose a branch, the approval rules (not the author, the policy's role, an
approval is for one tip), merge as one commit with trailers, a conflict names the resource, a pull request merged
by hand shows as merged."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitstore.errors import AccessDenied, ConflictError, NotFoundError, ProtectedEnvironment
from gitstore.model.changes import Change, Kind
from gitstore.proposals.records import State
from gitstore.proposals.service import Proposals, Refused
from gitstore.store import Store

from .conftest import ALICE, BOB, CAROL, message, open_as, toggle


def branch_with_change(store: Store, name: str = "fix", key: str = "new-checkout") -> str:
    """A branch of production holding one change (a flag toggled); the branch's key."""
    store.branch("production", name, ALICE)
    store.commit(name, [toggle(store, name, key)], ALICE)
    return name


def enabled(store: Store, env: str, key: str = "new-checkout") -> bool:
    return store.snapshot(env).document("default").flag(key).enabled


def test_propose_approve_merge(config: Path) -> None:
    with open_as(config, ALICE, {"*": "editor"}) as alice_store, open_as(config, BOB) as bob_store:
        alice, bob = Proposals(alice_store), Proposals(bob_store)
        was = enabled(alice_store, "production")
        with pytest.raises(ProtectedEnvironment):  # alice cannot write to production directly
            alice_store.commit("production", [toggle(alice_store, "production")])
        branch_with_change(alice_store)
        status = alice.propose("production", "fix", "Turn the new checkout around", "Because.")
        assert (status.id, status.state, status.required, status.approvers) == ("P-1", State.OPEN, 1, "admin")
        assert status.proposal.author == "Alice Example <alice@example.com>"
        with pytest.raises(Refused, match="P-1 already proposes branch 'fix'"):
            alice.propose("production", "fix", "again")
        (change,) = bob.plan("P-1").changes
        assert (change.name, change.conflict, change.target.enabled) == ("flag default/new-checkout", False, was)
        with pytest.raises(Refused, match="P-1 is not approved: 0 of 1 approval"):
            alice.merge("P-1")
        with pytest.raises(Refused, match="the author cannot approve their own proposal"):
            alice.approve("P-1")
        with pytest.raises(AccessDenied, match="is editor in 'production'; approving needs admin"):
            alice.approve("P-1", CAROL)  # another user, but with alice's (editor) role
        approved = bob.approve("P-1")
        assert approved.state is State.APPROVED and [a.user for a in approved.approvals] == [
            "Bob Example <bob@example.com>"]
        bob.comment("P-1", "Looks right.")
        merged = alice.merge("P-1")  # the author merges once approved
        assert merged.branch_deleted and merged.status.state is State.MERGED
        assert enabled(alice_store, "production") is not was
        assert alice_store.head("production") == merged.commit.commit
        text = message(alice_store, "production")
        assert text.startswith("update flag default/new-checkout\n\nMerges proposal P-1 (Turn the new checkout "
                               "around) from branch fix at ")
        assert text.endswith("\n\nProposal: P-1\nApproved-by: Bob Example <bob@example.com>")
        assert "fix" not in {e.name for e in alice_store.environments()}
        status = bob.get("P-1")
        assert status.state is State.MERGED and status.proposal.merged_commit == merged.commit.commit
        assert [c.text for c in status.proposal.comments] == ["Looks right."]
        with pytest.raises(Refused, match="P-1 is merged"):
            bob.merge("P-1")
        assert [s.id for s in bob.all("production", State.MERGED)] == ["P-1"]
        assert bob.all("production", State.OPEN) == []


def test_a_new_tip_withdraws_the_approval(config: Path) -> None:
    with open_as(config, ALICE, {"*": "editor"}) as alice_store, open_as(config, BOB) as bob_store:
        alice, bob = Proposals(alice_store), Proposals(bob_store)
        branch_with_change(alice_store)
        alice.propose("production", "fix", "Toggle")
        assert bob.approve("P-1").state is State.APPROVED
        alice_store.commit("fix", [toggle(alice_store, "fix", "maintenance-mode")], ALICE)  # after approval
        status = bob.get("P-1")
        assert status.state is State.OPEN and status.approvals == ()
        assert status.note == "the branch moved since: approvals withdrawn"
        with pytest.raises(Refused, match="P-1 is not approved: 0 of 1"):
            alice.merge("P-1")
        assert bob.approve("P-1").state is State.APPROVED  # approving the new tip
        result = alice.merge("P-1", keep_branch=True)
        assert not result.branch_deleted and "fix" in {e.name for e in alice_store.environments()}
        assert enabled(alice_store, "production", "maintenance-mode") is True


def test_a_resource_changed_on_both_sides_is_a_conflict_naming_it(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        proposals.approve("P-1")
        head = store.head("production")
        flag = store.snapshot("production").document("default").flag("new-checkout")
        renamed = Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"name": "Checkout v2"}))
        with store.break_glass("production", "hotfix meanwhile"):  # production changes the same flag otherwise
            store.commit("production", [renamed])
        plan = proposals.plan("P-1")
        assert [(c.name, c.conflict) for c in plan.changes] == [("flag default/new-checkout", True)]
        with pytest.raises(ConflictError, match="P-1 conflicts with production: flag default/new-checkout changed "
                                                "on both since") as caught:
            proposals.merge("P-1")
        assert caught.value.resource == "default/new-checkout"
        assert store.head("production") != head and proposals.get("P-1").state is State.APPROVED  # nothing merged


def test_the_same_change_on_both_sides_is_no_conflict(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        proposals.approve("P-1")
        with store.break_glass("production", "the same fix by hand"):
            store.commit("production", [toggle(store, "production")])
        assert [(c.name, c.conflict) for c in proposals.plan("P-1").changes] == [("flag default/new-checkout", False)]
        with pytest.raises(Refused, match="production already holds every change of branch 'fix': nothing to merge"):
            proposals.merge("P-1")


def test_changes_on_both_sides_to_other_resources_merge(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        proposals.approve("P-1")
        with store.break_glass("production", "another flag meanwhile"):
            store.commit("production", [toggle(store, "production", "maintenance-mode")])
        before = enabled(store, "production")
        proposals.merge("P-1")
        assert enabled(store, "production") is not before
        assert enabled(store, "production", "maintenance-mode") is True  # kept


def test_a_branch_merged_by_hand_shows_as_merged(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        repo = pygit2.Repository(str(config.parent / "repo"))
        tip = repo.references["refs/heads/flipt/production/fix"].target
        repo.references["refs/heads/main"].set_target(tip)  # a Git host fast-forwarded its pull request
        status = proposals.get("P-1")
        assert status.state is State.MERGED and "merged outside Flagdeck" in status.note
        with pytest.raises(Refused, match="P-1 is merged"):
            proposals.approve("P-1")


def test_refusals(config: Path) -> None:
    with open_as(config, BOB) as store, open_as(config, CAROL, {"*": "viewer"}) as viewer_store:
        proposals, viewer = Proposals(store), Proposals(viewer_store)
        store.branch("production", "empty", ALICE)
        with pytest.raises(Refused, match="branch 'empty' has no changes against production: nothing to propose"):
            proposals.propose("production", "empty", "Nothing")
        with pytest.raises(NotFoundError, match="'production' has no branch 'nope'"):
            proposals.propose("production", "nope", "Nothing")
        with pytest.raises(NotFoundError, match="no proposal 'P-9'"):
            proposals.get("P-9")
        branch_with_change(store)
        with pytest.raises(AccessDenied, match="proposing needs editor"):
            viewer.propose("production", "fix", "Toggle")
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        viewer.comment("P-1", "A viewer may comment", changes_requested=True)
        with pytest.raises(AccessDenied, match="closing another's proposal needs editor"):
            viewer.close("P-1")
        assert proposals.close("P-1").state is State.CLOSED
        with pytest.raises(Refused, match="P-1 is closed"):
            proposals.merge("P-1")
        assert proposals.propose("production", "fix", "Again", author=ALICE).id == "P-2"  # the first was closed


def test_each_user_lists_the_proposals_of_the_environments_they_may_read(config: Path) -> None:
    with open_as(config, BOB) as store, open_as(config, CAROL, {"staging": "viewer"}) as staging_only:
        branch_with_change(store)
        store.branch("staging", "tweak", ALICE)
        store.commit("tweak", [toggle(store, "tweak")], ALICE)
        Proposals(store).propose("production", "fix", "Production change", author=ALICE)
        Proposals(store).propose("staging", "tweak", "Staging change", author=ALICE)
        assert [s.id for s in Proposals(store).all()] == ["P-1", "P-2"]
        assert [s.id for s in Proposals(staging_only).all()] == ["P-2"]
        with pytest.raises(AccessDenied, match="has no role in 'production'; reading proposals needs viewer"):
            Proposals(staging_only).all("production")
        with pytest.raises(AccessDenied):
            Proposals(staging_only).get("P-1")


def test_promotion_into_a_protected_environment_as_a_proposal(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        staging = store.snapshot("staging").document("default")
        assert staging.flag("new-checkout") != store.snapshot("production").document("default").flag("new-checkout")
        status = proposals.promote("staging", "production", "default", "new-checkout", ALICE)
        assert (status.id, status.proposal.branch, status.proposal.title) == (
            "P-1", "promote-default-new-checkout", "Promote default/new-checkout from staging")
        assert proposals.promote("staging", "production", "default", "new-checkout", ALICE).proposal.branch == \
            "promote-default-new-checkout-2"
        proposals.approve("P-1")
        proposals.merge("P-1")
        assert store.snapshot("production").document("default").flag("new-checkout") == staging.flag("new-checkout")
        assert message(store, "production").startswith("update flag default/new-checkout\n\nMerges proposal P-1")


def test_a_record_broken_by_hand_is_named_by_file_line_and_field(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        text = proposals.ledger.files("production")["P-1.yaml"].decode()
        broken = text.replace("state: open", "state: pending")
        line = broken.splitlines().index("state: pending") + 1
        proposals.ledger.change("production", lambda files: ({"P-1.yaml": broken.encode(),
                                                              "P-2.yaml": b"id: [unclosed\n"}, "by hand", None))
        problems = [str(p) for p in proposals.problems()]
        assert problems[0] == f"P-1.yaml:{line}: state: Input should be 'open', 'approved', 'merged' or 'closed'"
        assert problems[1].startswith("P-2.yaml:2: not valid YAML")
        assert proposals.all() == []  # the others are still listed; these two cannot be
        store.branch("production", "next", ALICE)
        store.commit("next", [toggle(store, "next", "maintenance-mode")], ALICE)
        assert proposals.propose("production", "next", "Next", author=ALICE).id == "P-3"


def test_a_request_for_changes_stands_until_its_reviewer_approves(config: Path) -> None:
    with open_as(config, BOB) as store:
        proposals = Proposals(store)
        branch_with_change(store)
        proposals.propose("production", "fix", "Toggle", author=ALICE)
        proposals.approve("P-1", CAROL)  # enough approvals...
        requested = proposals.comment("P-1", "Staff only first", changes_requested=True)  # ...but bob objects
        assert requested.state is State.OPEN and [c.text for c in requested.changes_requested] == [
            "Staff only first"]
        assert requested.note == "changes requested by Bob Example <bob@example.com>"
        with pytest.raises(Refused, match="P-1: Bob Example <bob@example.com> requested changes \\('Staff only "
                                          "first'\\); their approval lifts it"):
            proposals.merge("P-1", ALICE)
        lifted = proposals.approve("P-1")
        assert lifted.state is State.APPROVED and lifted.changes_requested == ()
        assert proposals.merge("P-1", ALICE).status.state is State.MERGED
