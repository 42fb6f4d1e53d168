"""Live refresh and conflicts: a second process (a real subprocess committing through the Store) moves the branch
while the console holds pending edits."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from console.helpers import head_commit, settle
from textual.notifications import Notify

from app.screens.messages import BranchMoved
from app.screens.modals.conflict import ConflictModal
from app.screens.modals.error import ErrorModal
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable
from gitstore.format.loader import load_document
from gitstore.model.changes import Kind

WRITER = Path(__file__).with_name("other_writer.py")
BOB = "Bob Builder <bob@example.com>"


async def other_process_commits(config: Path, flag: str, **fields: Any) -> str:
    proc = await asyncio.create_subprocess_exec(sys.executable, str(WRITER), str(config), flag, json.dumps(fields),
                                                BOB, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


async def wait_until(pilot: Any, condition: Any, seconds: float = 3.0) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "timed out"
        await pilot.pause(0.05)
    await settle(pilot)
    return time.monotonic() - start


def flag_at_head(config: Path, key: str) -> Any:
    commit = head_commit(config)
    blob = commit.tree / "production" / "default" / "features.yaml"
    return commit, load_document(blob.data, "features.yaml").document.flag(key)


async def toggle(pilot: Any, key: str) -> None:
    pilot.app.screen.query_one(FlagTable).move_to(key)
    await pilot.press("space")
    await settle(pilot)


async def test_branch_moves_screens_refresh_and_pending_edits_stay(make_app, config_path: Path) -> None:
    app = make_app()
    told: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        await toggle(pilot, "maintenance-mode")  # my pending edit
        new = await other_process_commits(config_path, "search-ranking", name="Ranking v2")
        await wait_until(pilot, lambda: app.insight.moves)
        assert app.session.snapshot().commit == new
        assert f"at {new[:8]}" in str(app.screen.query_one("#flags-status").render())  # the flag list reloaded
        assert app.session.find(Kind.FLAG, "search-ranking").name == "Ranking v2"
        [pending] = app.session.pending_for()
        assert pending.change.key == "maintenance-mode" and pending.based_on == new
        texts = [n.notification.message for n in told]
        assert f"production moved to {new[:8]} by Bob Builder: flag default/search-ranking" in texts
        assert "pending: 1" in str(app.screen.query_one(".context-line").render())
        await pilot.press("ctrl+s", "enter")  # commits on top of Bob's commit, keeping his change
        await settle(pilot)
    commit, flag = flag_at_head(config_path, "search-ranking")
    assert str(commit.parents[0].id) == new and flag.name == "Ranking v2"
    assert flag_at_head(config_path, "maintenance-mode")[1].enabled is True


async def test_conflict_merged_field_by_field(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await toggle(pilot, "search-ranking")  # mine: enabled true -> false
        new = await other_process_commits(config_path, "search-ranking", description="Bob's words")
        await wait_until(pilot, lambda: app.insight.open_conflicts())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "⚠ CONFLICT update flag default/search-ranking" in str(
            app.screen.query_one("#pending").get_option_at_index(0).prompt)
        await pilot.press("enter")  # refused while the conflict is open
        await settle(pilot)
        assert "conflict(s) to resolve first" in str(app.screen.query_one("#review-status").render())
        assert str(head_commit(config_path).id) == new
        await pilot.press("x")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConflictModal)
        sides = {c.name: c.theirs for c in modal.choices}
        assert sides == {"description": True, "enabled": False}  # each side's own edit preset
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and not app.insight.open_conflicts()
        await pilot.press("enter")
        await settle(pilot)
    commit, flag = flag_at_head(config_path, "search-ranking")
    assert str(commit.parents[0].id) == new
    assert (flag.enabled, flag.description) == (False, "Bob's words")
    assert commit.author.name == "Tess Tester"


async def test_store_conflict_is_shown_not_overwritten(make_app, config_path: Path) -> None:
    """With live refresh off, the store's ConflictError is the last guard: an error in words, the conflict marked,
    and taking theirs drops the edit."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.unwatch()
        await toggle(pilot, "color-theme")  # mine: enabled true -> false
        new = await other_process_commits(config_path, "color-theme", enabled=False, name="Colours")
        await pilot.press("ctrl+s", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
        assert "Someone else changed this meanwhile (default/color-theme)" in app.screen.message
        assert "Bob Builder" in app.screen.message
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.insight.open_conflicts())
        assert str(head_commit(config_path).id) == new
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConflictModal)
        await pilot.press("t")
        await settle(pilot)
        assert app.session.pending_for() == [] and not app.insight.open_conflicts()
    assert str(head_commit(config_path).id) == new


async def test_keep_mine(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await toggle(pilot, "new-checkout")  # mine: enabled true -> false
        new = await other_process_commits(config_path, "new-checkout", description="Bob was here")
        await wait_until(pilot, lambda: app.insight.open_conflicts())
        await pilot.press("ctrl+s", "x")
        await settle(pilot)
        await pilot.press("k")
        await settle(pilot)
        assert not app.insight.open_conflicts()
        await pilot.press("enter")
        await settle(pilot)
    commit, flag = flag_at_head(config_path, "new-checkout")
    assert str(commit.parents[0].id) == new
    assert (flag.enabled, flag.description) == (False, "The redesigned one-page checkout")  # mine, kept whole


async def test_editor_open_while_the_branch_moves(make_app, config_path: Path) -> None:
    """An editor read the flag before another process changed it: leaving it unchanged must not undo their commit;
    an edit made in it is a conflict shown beside theirs."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("search-ranking")
        await pilot.press("enter")
        await settle(pilot)
        new = await other_process_commits(config_path, "search-ranking", description="Bob's words")
        await wait_until(pilot, lambda: app.insight.stale)
        await pilot.press("escape")  # nothing edited: nothing pending
        await wait_until(pilot, lambda: not app.insight.stale)
        assert app.session.pending_for() == []
        await pilot.press("enter")
        await settle(pilot)
        await other_process_commits(config_path, "search-ranking", description="Bob again")
        await wait_until(pilot, lambda: app.insight.stale)
        app.screen.query_one("#flag-name").value = "Ranking (mine)"
        await pilot.press("ctrl+s")  # keep the edit and open the review
        await wait_until(pilot, lambda: app.insight.open_conflicts())
        [conflict] = app.insight.open_conflicts()
        assert conflict.theirs.description == "Bob again" and conflict.mine.name == "Ranking (mine)"
        assert conflict.base.description == "Bob's words"
    assert str(head_commit(config_path).parents[0].id) == new  # nothing of ours was committed


async def test_a_move_that_changes_nothing_here_is_no_news(make_app, config_path: Path) -> None:
    """issue 14 #8: staging and production share a branch; a commit to production moves staging's branch too, but
    staging's data did not change, so a console on staging says nothing (it used to pop "Branch moved: ... no flag
    or segment changed" at every commit to the other environment)."""
    app = make_app(env="staging")
    told: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        new = await other_process_commits(config_path, "search-ranking", name="Ranking v2")  # production
        await wait_until(pilot, lambda: app.insight.moves)
        [move] = app.insight.moves
        assert move.env == "staging" and move.new == new and not move.resources
        assert app.session.snapshot().commit == new  # the console did follow the branch
        assert [n.notification.message for n in told if n.notification.title == "Branch moved"] == []


async def test_a_move_a_reload_read_first_is_still_told_and_settled(make_app, config_path: Path) -> None:
    """A screen's reload (here `r`; after a move, every screen's) may read the new commit before the watcher's word
    of it arrives: the move is still described, told and settled against the pending edits (it used to be taken
    for one already seen, and the bench's second quick commit went unnoticed)."""
    app = make_app()
    told: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        app.unwatch()  # the watcher's word comes late, below
        await toggle(pilot, "maintenance-mode")  # my pending edit
        new = await other_process_commits(config_path, "search-ranking", name="Ranking v2")
        await pilot.press("r")
        await settle(pilot)
        assert app.session.snapshot().commit == new and not app.insight.moves  # the reload read it first
        app.post_message(BranchMoved("production", new))
        await wait_until(pilot, lambda: app.insight.moves)
        [move] = app.insight.moves
        assert move.new == new and move.resources == ["flag default/search-ranking"]
        assert f"production moved to {new[:8]} by Bob Builder: flag default/search-ranking" in [
            n.notification.message for n in told]
        [pending] = app.session.pending_for()
        assert pending.change.key == "maintenance-mode" and pending.based_on == new
