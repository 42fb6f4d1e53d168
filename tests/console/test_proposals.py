"""The console's change proposals (issue 15): the proposals list of an environment, one proposal with its change
against the target, impact, comments, approve / request changes / merge / close, refusals as one line, the conflict
dialog when the target changed the same resource, and a commit to a protected environment proposed instead. Real
repositories, real stores, a frozen clock; snapshots at a fixed size with the theme pinned."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitstore.model.changes import Change, Kind
from gitstore.results import Author

from .helpers import NOW, seed, settle

ALICE = Author("Alice Editor", "alice@example.com")
BOB = Author("Bob Admin", "bob@example.com")
ROLES = {"production": "editor", "staging": "editor"}
PROTECT = "protect: {proposals: required, approvals: 1, approvers: admin}"


def protected_seed(root: Path) -> Path:
    config = seed(root)
    text = config.read_text()
    text = text.replace("production: {storage: local, directory: production, default: true}",
                        f"production: {{storage: local, directory: production, default: true, {PROTECT}}}")
    config.write_text(text)
    return config


def toggle(store: Any, env: str, key: str = "new-checkout") -> Change:
    flag = store.snapshot(env).document("default").flag(key)
    return Change("default", Kind.FLAG, key, flag.model_copy(update={"enabled": not flag.enabled}))


def open_store(config: Path, who: Author, roles: dict[str, str] | None = None) -> Any:
    from gitstore.config import load_config
    from gitstore.store import Store

    return Store(load_config(config), roles=roles, identity=who)


def propose_trial(config: Path) -> None:
    """Alice branches production as `trial`, turns new-checkout off there and proposes it as P-1."""
    from gitstore.proposals.service import Proposals

    with open_store(config, ALICE, ROLES) as store:
        store.branch("production", "trial", ALICE)
        store.commit("trial", [toggle(store, "trial")], author=ALICE)
        Proposals(store).propose("production", "trial", "Turn off the new checkout",
                                 "Ready after the load test.", ALICE)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return protected_seed(tmp_path / "flags")


@pytest.fixture
def app_as(config: Path) -> Iterator[Callable[..., Any]]:
    from app.console import ConsoleApp
    from app.session import Session

    stores: list[Any] = []

    def factory(who: Author, roles: dict[str, str] | None = None, env: str = "production") -> ConsoleApp:
        store = open_store(config, who, roles)
        stores.append(store)
        session = Session(store, env=env, namespace="default", author=(who.name, who.email), roles=roles,
                          clock=lambda: NOW)
        return ConsoleApp(session, theme="textual-dark", cursor_blink=False)

    yield factory
    for store in stores:
        store.close()


async def open_proposal(pilot: Any, proposal_id: str = "P-1") -> None:
    from app.screens.proposal import ProposalScreen

    await settle(pilot)
    pilot.app.push_screen(ProposalScreen(proposal_id))
    await settle(pilot)


async def review_a_toggle(pilot: Any) -> None:
    """In the flag list production opens on: toggle new-checkout and open the review."""
    from app.widgets.flag_table import FlagTable

    await settle(pilot)
    assert pilot.app.screen.query_one(FlagTable).move_to("new-checkout")
    await pilot.press("space", "ctrl+s")
    await settle(pilot)


def status_line(app: Any) -> str:
    return str(app.screen.query_one("#proposal-status").render())


def head_text(app: Any) -> str:
    return str(app.screen.query_one("#proposal-head").render())


async def test_review_approve_and_merge_with_refusals_as_one_line(config: Path, app_as: Any) -> None:
    from app.screens.proposal import change_diff

    propose_trial(config)
    app = app_as(ALICE, ROLES)
    async with app.run_test(size=(110, 32)) as pilot:
        await open_proposal(pilot)
        changes = app.screen.query_one("#changes")
        assert changes.option_count == 1 and "update flag default/new-checkout" in str(changes.get_option_at_index(0)
                                                                                      .prompt)
        diff = change_diff("production", "trial", app.screen.selected())
        assert "-    enabled: true\n+    enabled: false" in diff
        assert "Approvals 0/1" in head_text(app)
        await pilot.press("a")
        await settle(pilot)
        assert "the author cannot approve their own proposal" in status_line(app)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press(*"please look", "enter")
        await settle(pilot)
        assert "please look" in str(app.screen.query_one("#comments").render())
    app = app_as(BOB, {"production": "admin", "staging": "admin"})
    async with app.run_test(size=(110, 32)) as pilot:
        await open_proposal(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert "is not approved: 0 of 1" in status_line(app)
        await pilot.press("a")
        await settle(pilot)
        assert "APPROVED" in head_text(app) and "Bob Admin" in head_text(app)
        await pilot.press("m")
        await settle(pilot)
        assert "MERGED" in head_text(app)
    with open_store(config, BOB) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False
        assert "Proposal: P-1" in store.history("production", "default", limit=1)[0].message


async def test_a_conflict_opens_the_conflict_dialog_and_resolving_updates_the_branch(config: Path,
                                                                                    app_as: Any) -> None:
    from app.screens.modals.conflict import ConflictModal

    propose_trial(config)
    with open_store(config, BOB) as store:  # the same flag changed in production too, by breaking glass
        flag = store.snapshot("production").document("default").flag("new-checkout")
        with store.break_glass("production", "incident: describe it"):
            store.commit("production", [Change("default", Kind.FLAG, "new-checkout",
                                               flag.model_copy(update={"description": "Changed by hand"}))])
    app = app_as(BOB, {"production": "admin", "staging": "admin"})
    async with app.run_test(size=(110, 32)) as pilot:
        await open_proposal(pilot)
        assert "CONFLICT" in str(app.screen.query_one("#changes").get_option_at_index(0).prompt)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ConflictModal)
        await pilot.press("escape")
        await settle(pilot)
        assert "Not merged" in status_line(app)  # nothing changed
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ConflictModal)
        await pilot.press("t")  # take production's version
        await settle(pilot)
        assert "Resolved flag default/new-checkout" in status_line(app)
        assert app.screen.query_one("#changes").option_count == 0  # production's version: the branch adds nothing
        assert "Approvals 0/1" in head_text(app)  # withdrawn: a new tip
        with open_store(config, BOB) as store:
            import pygit2

            repo = pygit2.Repository(str(config.parent / "repo"))
            merge = repo[repo.references["refs/heads/flipt/production/trial"].target]
            assert [str(p) for p in merge.parent_ids][1] == store.head("production")  # the target merged in
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert "nothing to merge" in status_line(app)  # production's version taken: the branch adds nothing


async def test_a_commit_to_a_protected_environment_is_proposed_instead(config: Path, app_as: Any) -> None:
    from app.screens.modals.prompt import PromptModal
    from app.screens.proposal import ProposalScreen

    app = app_as(ALICE, ROLES)
    async with app.run_test(size=(110, 32)) as pilot:
        await review_a_toggle(pilot)
        assert "production is protected" in str(app.screen.query_one("#review-status").render())
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        assert app.screen.query_one("#field-branch").value == f"change-{NOW:%Y%m%d-%H%M}"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProposalScreen)
        assert "P-1" in head_text(app) and "update flag default/new-checkout" in head_text(app)
        assert not app.session.pending
    with open_store(config, BOB) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is True
        branch = f"change-{NOW:%Y%m%d-%H%M}"
        assert store.snapshot(branch).document("default").flag("new-checkout").enabled is False


async def test_the_environment_list_proposes_a_branch_and_lists_proposals(config: Path, app_as: Any) -> None:
    from textual.widgets import DataTable

    from app.screens.proposal import ProposalScreen
    from app.screens.proposals import ProposalsScreen

    with open_store(config, ALICE, ROLES) as store:
        store.branch("production", "trial", ALICE)
        store.commit("trial", [toggle(store, "trial")], author=ALICE)
    app = app_as(ALICE, ROLES)
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        app.screen.query_one(DataTable).move_cursor(row=1)
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        await pilot.press(*"Checkout on", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ProposalScreen) and "Checkout on" in head_text(app)
        await pilot.press("escape")
        await settle(pilot)
        row = app.screen.query_one(DataTable).get_row("trial")
        assert row[-1] == "1 ahead, 0 behind · P-1 open"
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ProposalsScreen)
        assert app.screen.query_one(DataTable).get_row("P-1")[:4] == ["P-1", "Checkout on", "Alice Editor", "open"]
        await pilot.press("s", "s")  # merged only
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 0


def test_snapshot_proposals_list(snap_compare, config: Path, app_as: Any) -> None:  # noqa: ANN001
    from app.screens.proposals import ProposalsScreen

    propose_trial(config)

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(ProposalsScreen("production"))
        await settle(pilot)

    assert snap_compare(app_as(BOB, {"production": "admin"}), run_before=run_before, terminal_size=(110, 24))


def test_snapshot_proposal(snap_compare, config: Path, app_as: Any) -> None:  # noqa: ANN001
    propose_trial(config)
    assert snap_compare(app_as(BOB, {"production": "admin"}), run_before=open_proposal, terminal_size=(110, 32))


async def test_why_shows_an_entity_before_and_after_the_change(config: Path, app_as: Any) -> None:
    """`w` asks for an entity and context and shows each changed flag now and with the change, with the trace: staff
    (internal-users) move from dark to high contrast; an entity no rule matches keeps the default, light."""
    from gitstore.model.documents import Distribution
    from gitstore.proposals.service import Proposals

    with open_store(config, ALICE, ROLES) as store:
        store.branch("production", "contrast", ALICE)
        flag = store.snapshot("contrast").document("default").flag("color-theme")
        rules = (flag.rules[0].model_copy(update={"distributions": (Distribution(variant="on", rollout=100),)}),
                 *flag.rules[1:])
        store.commit("contrast", [Change("default", Kind.FLAG, "color-theme",
                                         flag.model_copy(update={"rules": rules}))], author=ALICE)
        Proposals(store).propose("production", "contrast", "High contrast for staff", "", ALICE)
    app = app_as(BOB, {"production": "admin", "staging": "admin"})
    async with app.run_test(size=(110, 40)) as pilot:
        await open_proposal(pilot)
        shown = []
        for entity, context in (("ada", "email=ada@example.com"), ("guest-7", "platform=web")):
            await pilot.press("w")
            await settle(pilot)
            app.screen.query_one("#field-entity").value = entity
            app.screen.query_one("#field-context").value = context
            await pilot.press("enter")
            await settle(pilot)
            shown.append(str(app.screen.query_one("#why-body").render()))
            await pilot.press("escape")
            await settle(pilot)
        staff, guest = shown
        assert "default/color-theme: CHANGES" in staff
        assert "production now:        match=yes  variant=dark" in staff
        assert "with the change: match=yes  variant=on" in staff and "internal-users" in staff
        assert "why with the change:" in staff
        assert "default/color-theme: unchanged" in guest
        assert "production now:        match=no  variant=light  reason=DEFAULT_EVALUATION_REASON" in guest
        assert "with the change: match=no  variant=light  reason=DEFAULT_EVALUATION_REASON" in guest
        assert "new-checkout" not in staff + guest  # flags the proposal does not change, whose answer is the same


async def test_promoting_into_a_protected_environment_opens_a_proposal(config: Path, app_as: Any) -> None:
    from app.screens.modals.confirm import ConfirmModal
    from app.screens.proposal import ProposalScreen
    from app.widgets.flag_table import FlagTable

    with open_store(config, BOB) as store:
        production_before = store.head("production")
        staging_flag = store.snapshot("staging").document("default").flag("new-checkout")
    app = app_as(BOB, {"production": "admin", "staging": "admin"}, env="staging")  # promoting needs admin
    async with app.run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(FlagTable).move_to("new-checkout")
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("enter")  # production, the only other environment
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.title_text == "Propose promoting new-checkout to production?"
        assert "production is protected: this opens a proposal" in str(app.screen.question)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ProposalScreen), str(getattr(app.screen, "message", app.screen))
        assert "P-1" in head_text(app) and "Promote default/new-checkout from staging" in head_text(app)
    with open_store(config, BOB) as store:
        assert store.head("production") == production_before  # nothing committed to production itself
        status = Proposals_of(store).get("P-1")
        assert (status.proposal.environment, status.proposal.author) == ("production", "Bob Admin <bob@example.com>")
        assert store.snapshot(status.proposal.branch).document("default").flag("new-checkout") == staging_flag


async def test_an_admin_breaks_glass_in_the_review_and_an_editor_is_refused(config: Path, app_as: Any) -> None:
    from app.screens.modals.prompt import PromptModal
    from gitstore.proposals.audit import audit

    app = app_as(ALICE, ROLES)
    async with app.run_test(size=(110, 32)) as pilot:
        await review_a_toggle(pilot)
        await pilot.press("B")
        await settle(pilot)
        assert "breaking glass in production is for admins (role editor)" in str(
            app.screen.query_one("#review-status").render())
        assert not isinstance(app.screen, PromptModal)
    admin = {"production": "admin", "staging": "admin"}
    app = app_as(BOB, admin)
    async with app.run_test(size=(110, 32)) as pilot:
        await review_a_toggle(pilot)
        assert "B breaks glass" in str(app.screen.query_one("#review-status").render())
        await pilot.press("B")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        await pilot.press("enter")  # no reason: refused by the form, nothing committed
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        await pilot.press(*"checkout down, nobody to approve", "enter")
        await settle(pilot)
        assert not app.session.pending
    with open_store(config, BOB, admin) as store:
        assert store.snapshot("production").document("default").flag("new-checkout").enabled is False
        entry = store.history("production", "default", limit=1)[0]
        assert entry.message.rstrip().endswith("Break-glass: checkout down, nobody to approve")
        (record,) = audit(store, "production")
        assert (record.commit, record.reason, record.user) == (
            entry.commit, "checkout down, nobody to approve", "Bob Admin <bob@example.com>")


def Proposals_of(store: Any) -> Any:
    from gitstore.proposals.service import Proposals

    return Proposals(store)
