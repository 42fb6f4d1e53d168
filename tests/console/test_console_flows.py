"""Pilot tests of the console's flows against real Git repositories (no part of ours is mocked)."""

from __future__ import annotations

from pathlib import Path

from app.screens.flag_editor import FlagEditorScreen
from app.screens.flags import FlagsScreen
from app.screens.modals.error import ErrorModal
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable
from gitstore.model.changes import Kind

from .helpers import TESS, commit_diff, head_commit, open_store, settle


async def test_flag_list_shows_namespace(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
        table = app.screen.query_one(FlagTable)
        assert table.visible_keys() == ["color-theme", "maintenance-mode", "new-checkout", "search-ranking"]


async def test_toggle_review_commit(make_app, config_path: Path) -> None:
    app = make_app()
    before = head_commit(config_path).id
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "space")  # maintenance-mode: off -> on
        assert app.session.is_pending(Kind.FLAG, "maintenance-mode")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
    commit = head_commit(config_path)
    assert commit.parents[0].id == before
    assert (commit.author.name, commit.author.email) == TESS
    assert commit.message.strip() == "update flag default/maintenance-mode"
    diff = commit_diff(commit)
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert removed == ["-    enabled: false"] and added == ["+    enabled: true"]
    with open_store(config_path) as store:
        assert store.snapshot("production").document("default").flag("maintenance-mode").enabled is True


async def test_viewer_cannot_toggle(make_app, config_path: Path) -> None:
    app = make_app(roles={"*": "viewer"})
    before = head_commit(config_path).id
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "n", "d")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)  # the editing keys are hidden and inert: nothing opens
        assert all(app.screen.check_action(a, ()) is False for a in ("toggle_flag", "new", "duplicate", "delete"))
        assert "role: viewer (read-only)" in str(app.screen.query_one(".context-line").render())
        assert not app.session.pending
        app.screen.check_write()  # an edit reached another way is refused with a reason
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
    assert head_commit(config_path).id == before


async def test_open_editor_and_escape_keeps_pending(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)
        app.screen.query_one("#flag-name").focus()
        await pilot.press("home", "ctrl+k", *"Colour theme")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
        [pending] = app.session.pending
        assert pending.change.value.name == "Colour theme"
