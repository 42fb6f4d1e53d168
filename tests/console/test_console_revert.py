"""Pilot tests: `r` in a history reverts the selected commit (undoes its change as a new commit), `R` restores a
version; each says what it did, or exactly why no commit was made. Issue 11 #7 step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.notifications import Notify

from app.screens.history import HistoryScreen
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.error import ErrorModal
from app.widgets.flag_table import FlagTable

from .helpers import head_commit, open_store, settle


def notices(told: list[Notify]) -> list[str]:
    return [n.notification.message for n in told]


def ranking(config: Path, env: str) -> bool:
    with open_store(config) as store:
        return store.snapshot(env).document("default").flag("search-ranking").enabled


async def press(pilot: Any, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def revert_selected(pilot: Any, key: str = "r") -> None:
    await press(pilot, key)
    assert isinstance(pilot.app.screen, ConfirmModal)
    await press(pilot, "y")


async def test_toggle_commit_then_revert_it_from_the_flag_history(make_app, config_path: Path) -> None:
    before = ranking(config_path, "staging")
    app, told = make_app(env="staging"), []
    async with app.run_test(size=(120, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("search-ranking")
        await press(pilot, "space", "ctrl+s")
        await press(pilot, "enter")
        toggled = head_commit(config_path)
        assert ranking(config_path, "staging") is not before
        await press(pilot, "h")
        assert isinstance(app.screen, HistoryScreen) and app.screen.entries[0].commit == str(toggled.id)
        await revert_selected(pilot)
        reverted = head_commit(config_path)
        assert reverted.parents[0].id == toggled.id  # a new commit, not "Reverted as <current tip>"
        assert ranking(config_path, "staging") is before
        assert f"This reverts commit {toggled.id}." in reverted.message
        assert f"Reverted {str(toggled.id)[:8]} for flag default/search-ranking as {str(reverted.id)[:8]}" \
            in notices(told)
        assert app.screen.entries[0].commit == str(reverted.id)  # the history shows it
        await press(pilot, "down")  # the toggle again: already undone
        await revert_selected(pilot)
        assert head_commit(config_path).id == reverted.id
        assert notices(told)[-1] == (f"No commit made: flag default/search-ranking is already as it was before "
                                     f"{str(toggled.id)[:8]}: nothing to revert")


async def test_namespace_history_revert_and_a_conflict(make_app, config_path: Path) -> None:
    before = ranking(config_path, "production")
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("maintenance-mode")
        await press(pilot, "space", "ctrl+s")
        await press(pilot, "enter")
        maintenance = head_commit(config_path)
        await press(pilot, "H")
        assert isinstance(app.screen, HistoryScreen)
        messages = [e.message.splitlines()[0] for e in app.screen.entries]
        assert messages == ["update flag default/maintenance-mode", "update flag default/search-ranking",
                            "create namespace default"]
        await press(pilot, "down")  # Bob's older change to search-ranking
        await revert_selected(pilot)
        assert ranking(config_path, "production") is not before
        with open_store(config_path) as store:  # the later change stays
            assert store.snapshot("production").document("default").flag("maintenance-mode").enabled is True
        assert head_commit(config_path).parents[0].id == maintenance.id
        tip = head_commit(config_path).id
        await press(pilot, "down", "down", "down")  # the commit that created the namespace: changed since
        await revert_selected(pilot)
        assert isinstance(app.screen, ErrorModal)
        text = app.screen.message
        assert text.startswith("No commit made: cannot revert") and "flag default/maintenance-mode was changed again after" in text
        assert head_commit(config_path).id == tip


async def test_restore_a_version_of_a_flag(make_app, config_path: Path) -> None:
    before = ranking(config_path, "production")
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("search-ranking")
        await press(pilot, "h", "down")  # the first version
        await revert_selected(pilot, "R")
    assert ranking(config_path, "production") is not before
    assert "Restores default/search-ranking to commit" in head_commit(config_path).message
