"""The rollout dialog refuses a threshold outside 0-100 (issue 11 #4) with the rule the validator and the store use
(`gitstore.format.validation_rules.percentage_problem`), and accepts the bounds themselves."""

from __future__ import annotations

from app.screens.flag_editor import FlagEditorScreen
from app.screens.modals.rollout import RolloutModal
from app.widgets.list_editor import ListEditor

from .helpers import settle
from .test_console_edits import open_flag


async def test_rollout_dialog_refuses_a_threshold_above_100(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "new-checkout")
        editor.query_one("#rollouts", ListEditor).focus()
        await pilot.press("down", "enter")  # the threshold rollout
        await settle(pilot)
        assert isinstance(app.screen, RolloutModal) and app.screen.rollout.threshold is not None
        box = app.screen.query_one("#rollout-percentage")
        for refused in ("150", "-1", "nan", "inf"):
            box.value = refused
            await pilot.press("f2")
            await pilot.pause()
            assert isinstance(app.screen, RolloutModal), refused
            assert "✗ Percentage: " in str(app.screen.query_one("#form-error").render()), refused
        box.value = "100"
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)
