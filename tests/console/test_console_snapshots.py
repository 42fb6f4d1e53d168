"""Snapshot tests of every console screen and dialog: fixed repository (fixed authors and dates), frozen clock,
pinned theme, fixed terminal size. Plain `def` tests; interaction runs in `run_before`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.widgets.flag_table import FlagTable

from .helpers import settle

Steps = Callable[[Any], Awaitable[None]]


def keys(*presses: str, move_to: str | None = None, focus: str | None = None) -> Steps:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        if move_to:
            pilot.app.screen.query_one(FlagTable).move_to(move_to)
        for key in presses:
            if key.startswith("#"):
                pilot.app.screen.query_one(key).focus()
            else:
                await pilot.press(key)
            await settle(pilot)
        await settle(pilot)

    return run_before


CASES: dict[str, tuple[tuple[int, int], Steps]] = {
    "flags": ((100, 30), keys()),
    "flags_80x24": ((80, 24), keys()),
    "flags_filtered": ((100, 30), keys("slash", "c", "h")),
    "flag_editor_variant": ((100, 30), keys("enter", move_to="color-theme")),
    "flag_editor_boolean": ((100, 30), keys("enter", move_to="new-checkout")),
    "flag_editor_rules": ((100, 40), keys("enter", "#rules", move_to="search-ranking")),
    "rule_modal": ((100, 30), keys("enter", "#rules", "enter", move_to="search-ranking")),
    "variant_modal": ((100, 30), keys("enter", "#variants", "down", "enter", move_to="color-theme")),
    "rollout_modal": ((100, 30), keys("enter", "#rollouts", "down", "enter", move_to="new-checkout")),
    "review": ((100, 30), keys("space", "ctrl+s", move_to="maintenance-mode")),
    "review_80x24": ((80, 24), keys("space", "down", "space", "ctrl+s")),
    "history": ((100, 30), keys("h", move_to="search-ranking")),
    "segments": ((100, 30), keys("g")),
    "segment_editor": ((100, 30), keys("g", "down", "enter")),
    "constraint_modal": ((100, 30), keys("g", "down", "enter", "#constraints", "enter")),
    "namespaces": ((100, 30), keys("N")),
    "environments": ((100, 30), keys("E")),
    "help": ((100, 30), keys("f1")),
    "new_flag_prompt": ((100, 30), keys("n")),
    "promote_chooser": ((100, 30), keys("p", move_to="new-checkout")),
    "quit_confirm": ((100, 30), keys("space", "q")),
    "delete_confirm": ((100, 30), keys("d")),
    "evaluate": ((100, 30), keys("e", "q", "a", "-", "1", "enter", move_to="color-theme")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_screen(case: str, snap_compare, make_app) -> None:
    size, run_before = CASES[case]
    assert snap_compare(make_app(), run_before=run_before, terminal_size=size)


def test_read_only(snap_compare, make_app) -> None:
    assert snap_compare(make_app(roles={"*": "viewer"}), run_before=keys("space"), terminal_size=(100, 30))


def test_read_only_review(snap_compare, make_app) -> None:
    assert snap_compare(make_app(roles={"*": "viewer"}), run_before=keys("ctrl+s"), terminal_size=(100, 30))
