"""Snapshots of the lifecycle screens (issue 16): the flag list with its evaluations column and stale statuses,
a flag's analytics panel, the cleanup dialog and the review it leads to. Fixed repository (commit dates and authors),
counts written at fixed times, frozen clock, pinned theme, fixed terminal size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.widgets.flag_table import FlagTable

from .helpers import settle
from .test_lifecycle import console_for, lifecycle_app, lifecycle_config  # noqa: F401  (the fixtures)

Steps = Callable[[Any], Awaitable[None]]


def keys(*presses: str, move_to: str | None = None) -> Steps:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        if move_to:
            pilot.app.screen.query_one(FlagTable).move_to(move_to)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)
        await settle(pilot)

    return run_before


CASES: dict[str, tuple[tuple[int, int], Steps]] = {
    "lifecycle_flags": ((120, 20), keys()),
    "lifecycle_flags_80x24": ((80, 24), keys("S")),
    "lifecycle_analytics": ((120, 34), keys("a", move_to="busy")),
    "lifecycle_cleanup": ((110, 24), keys("C")),
    "lifecycle_editor": ((100, 30), keys("enter", move_to="expired")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_lifecycle_screen(case: str, snap_compare, lifecycle_app) -> None:  # noqa: F811
    size, run_before = CASES[case]
    assert snap_compare(lifecycle_app, run_before=run_before, terminal_size=size)
