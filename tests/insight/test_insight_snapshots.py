"""Snapshots of the evaluate screen (a match, a default, a disabled flag, a malformed context value) and of the
conflict dialog: fixed repository, frozen clock, pinned theme; the other writer's commit has a fixed date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from console.helpers import BOB, T0, commit_files, head_commit, settle

from app.widgets.flag_table import FlagTable

Steps = Callable[[Any], Awaitable[None]]


def evaluate(flag: str, entity: str, context: str, toggle: bool = False) -> Steps:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.screen.query_one(FlagTable).move_to(flag)
        if toggle:
            await pilot.press("space")
        await pilot.press("e")
        await settle(pilot)
        pilot.app.screen.query_one("#entity").value = entity
        pilot.app.screen.query_one("#context").value = context
        await pilot.press("enter")
        await settle(pilot)

    return run_before


CASES: dict[str, Steps] = {
    "match": evaluate("color-theme", "someone", "email=qa@example.com"),
    "default": evaluate("color-theme", "u1", "platform=ios"),
    "disabled": evaluate("color-theme", "qa-1", "", toggle=True),
    "malformed": evaluate("search-ranking", "u1", "seats=lots, plan=pro"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate(case: str, snap_compare, make_app) -> None:
    assert snap_compare(make_app(), run_before=CASES[case], terminal_size=(100, 34))


@pytest.mark.parametrize("size", [(110, 36), (80, 24)], ids=["110x36", "80x24"])
def test_conflict_dialog(size: tuple[int, int], snap_compare, make_app, config_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("search-ranking")
        await pilot.press("space")
        blob = head_commit(config_path).tree / "production" / "default" / "features.yaml"
        text = blob.data.decode().replace("Ranking algorithm experiment", "Ranking experiment, by Bob")
        commit_files(config_path.parent / "repo", {"production/default/features.yaml": text.encode()}, BOB,
                     "update flag default/search-ranking", T0 + timedelta(hours=5))
        while not app.insight.open_conflicts():
            await pilot.pause(0.05)
        await settle(pilot)
        app.clear_notifications()  # toasts would show in the snapshot; their text is checked by the Pilot tests
        await pilot.press("ctrl+s", "x")
        await settle(pilot)

    assert snap_compare(make_app(), run_before=run_before, terminal_size=size)
