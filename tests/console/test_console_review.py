"""Review and commit (issue 14 #1, #5): `enter` in the message box commits (ctrl+j starts the body's lines), and the
diff shown is the file diff the commit records, named by its file."""

from __future__ import annotations

from pathlib import Path

from app.screens.flags import FlagsScreen
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable

from .helpers import commit_diff, head_commit, settle
from .test_console_session import changed_lines


async def toggle_and_review(app, pilot, key: str = "maintenance-mode") -> ReviewScreen:  # noqa: ANN001
    await settle(pilot)
    assert app.screen.query_one(FlagTable).move_to(key)
    await pilot.press("space", "ctrl+s")
    await settle(pilot)
    assert isinstance(app.screen, ReviewScreen)
    return app.screen


async def test_enter_in_the_message_box_commits_and_ctrl_j_adds_a_line(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        review = await toggle_and_review(app, pilot)
        await pilot.press("m")
        box = review.query_one("#commit-message")
        assert box.has_focus
        box.text = ""
        await pilot.press(*"Maintenance for the migration", "ctrl+j", "ctrl+j", *"Ticket OPS-1")
        assert box.text == "Maintenance for the migration\n\nTicket OPS-1"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen) and app.session.pending == []
    commit = head_commit(config_path)
    assert commit.message.rstrip("\n") == "Maintenance for the migration\n\nTicket OPS-1"
    assert (commit.author.name, commit.author.email) == ("Tess Tester", "tess@example.com")


async def test_m_then_typing_replaces_the_proposed_message(make_app, config_path: Path) -> None:
    """`m`, type, enter (the newcomer's way): the typed words are the message, not glued to the proposed one."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await toggle_and_review(app, pilot)
        await pilot.press("m", *"Open the maintenance page", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen) and app.session.pending == []
    assert head_commit(config_path).message.rstrip("\n") == "Open the maintenance page"


async def test_the_review_shows_the_commits_file_diff(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        review = await toggle_and_review(app, pilot, "new-checkout")
        title = str(review.query_one("#diff-title").render())
        assert title == "production/default/features.yaml: what the commit changes in this file"
        shown = review.diffs["default"].diff
        await pilot.press("enter")
        await settle(pilot)
    assert changed_lines(shown) == changed_lines(commit_diff(head_commit(config_path)))
