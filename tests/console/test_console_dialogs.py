"""Every dialog behaves the same (issue 14 #2, #9, #11): its first field has the focus, so the first keys typed land
there; `enter` submits it from any field; every problem is listed at once, named by its field, once only, and a
fixed value's problem goes away as soon as it is fixed; a distribution over 100% is refused."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input, Select

from app.screens.flag_editor import FlagEditorScreen
from app.screens.modals.constraint import ConstraintModal
from app.screens.modals.form import FormModal
from app.screens.modals.prompt import PromptModal
from app.screens.modals.rollout import RolloutModal
from app.screens.modals.rule import RuleModal
from app.screens.modals.variant import VariantModal
from app.screens.segment_editor import SegmentEditorScreen
from app.widgets.list_editor import ListEditor

from .helpers import open_segments, settle
from .test_console_edits import open_flag


def problems(app: Any) -> str:
    return str(app.screen.query_one("#form-error").render())


async def open_dialog(pilot: Any, flag: str, editor_list: str, *keys: str) -> FormModal:
    editor = await open_flag(pilot, flag)
    editor.query_one(f"#{editor_list}", ListEditor).focus()
    await pilot.press(*keys)
    await settle(pilot)
    assert isinstance(pilot.app.screen, FormModal), pilot.app.screen
    return pilot.app.screen


@pytest.mark.parametrize(("flag", "editor_list", "keys", "dialog", "first"), [
    ("search-ranking", "rules", ("a",), RuleModal, "rule-segments"),
    ("search-ranking", "rules", ("enter",), RuleModal, "rule-segments"),
    ("color-theme", "variants", ("a",), VariantModal, "variant-key"),
    ("new-checkout", "rollouts", ("a",), RolloutModal, "rollout-kind"),
    ("new-checkout", "rollouts", ("down", "enter"), RolloutModal, "rollout-kind"),
])
async def test_a_dialog_opens_with_its_first_field_focused(make_app, flag: str, editor_list: str,
                                                           keys: tuple[str, ...], dialog: type, first: str) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        modal = await open_dialog(pilot, flag, editor_list, *keys)
        assert isinstance(modal, dialog)
        assert app.focused is not None and app.focused.id == first


async def test_typing_at_once_fills_the_first_field_and_enter_submits(make_app) -> None:
    """New rule: type the segment straight away, tab to the distribution, type it, enter: the rule is added."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_dialog(pilot, "search-ranking", "rules", "a")
        await pilot.press(*"beta-testers")
        await pilot.press("tab", "tab")  # the operator, then the distributions
        assert app.focused is not None and app.focused.id == "rule-distributions"
        await pilot.press(*"semantic=50,classic=50", "enter")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, FlagEditorScreen)
        rule = editor.rules[-1]
        assert rule.segment.keys == ("beta-testers",)
        assert [(d.variant, d.rollout) for d in rule.distributions] == [("semantic", 50), ("classic", 50)]


async def test_enter_on_a_select_submits_and_an_open_menu_takes_its_choice(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        modal = await open_dialog(pilot, "new-checkout", "rollouts", "a")  # a threshold rollout of 50%
        await pilot.press("space")  # opens the Kind drop-down
        assert modal.query_one("#rollout-kind", Select).expanded
        await pilot.press("down", "enter")  # picks "segment"; the dialog stays
        await settle(pilot)
        assert app.screen is modal and modal.query_one("#rollout-kind", Select).value == "segment"
        modal.query_one("#rollout-kind", Select).value = "threshold"
        modal.query_one("#rollout-kind", Select).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)
        assert app.screen.rollouts[-1].threshold is not None


async def test_a_constraint_dialog_submits_with_enter_too(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_segments(app, pilot)
        await pilot.press("down", "enter")  # beta-testers
        await settle(pilot)
        assert isinstance(app.screen, SegmentEditorScreen)
        app.screen.query_one("#constraints", ListEditor).focus()
        await pilot.press("a")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, ConstraintModal) and app.focused is modal.query_one("#constraint-type")
        modal.query_one("#constraint-property", Input).focus()
        await pilot.press(*"plan", "tab", "tab")
        assert app.focused is modal.query_one("#constraint-value")
        await pilot.press(*"pro", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SegmentEditorScreen)
        last = app.screen.constraints[-1]
        assert (last.property, last.operator, last.value) == ("plan", "eq", "pro")


async def test_every_problem_at_once_each_named_then_gone_when_fixed(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        assert app.focused is app.screen.query_one("#field-key")
        await pilot.press("enter")  # nothing filled in
        await pilot.pause()
        shown = problems(app)
        assert "✗ Key: must not be empty" in shown and "✗ Name: must not be empty" in shown
        await pilot.press(*"dark-mode")  # the key field has the focus (the first bad field)
        await pilot.pause()
        shown = problems(app)
        assert "Key" not in shown and "✗ Name: must not be empty" in shown
        app.screen.query_one("#field-name", Input).value = "Dark mode"
        await pilot.pause()
        assert problems(app) == ""


async def test_a_distribution_over_100_is_refused_once_naming_the_field(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        modal = await open_dialog(pilot, "search-ranking", "rules", "enter")
        box = modal.query_one("#rule-distributions", Input)
        box.value = "semantic=60, classic=50"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal
        assert problems(app) == "✗ Distributions: the rollouts total 110%: at most 100% can be shared out"
        screen_text = " ".join(str(w.render()) for w in modal.query("Static"))
        assert screen_text.count("110%") == 1  # the bar does not repeat it
        box.value = "semantic=50, classic=50"
        await pilot.pause()
        assert problems(app) == ""
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)


async def test_a_multi_line_box_adds_lines_with_ctrl_j_and_enter_submits(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        modal = await open_dialog(pilot, "color-theme", "variants", "a")
        await pilot.press(*"sepia")
        modal.query_one("#variant-attachment").focus()
        await pilot.press("{", "ctrl+j", *'"a": 1', "ctrl+j", "}")
        assert modal.query_one("#variant-attachment").text == '{\n"a": 1\n}'
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)
        assert app.screen.variants[-1].key == "sepia" and app.screen.variants[-1].attachment == {"a": 1}


async def test_escape_out_of_a_half_filled_dialog_creates_nothing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n", *"half")
        await pilot.press("escape")
        await settle(pilot)
        assert app.session.pending == []
        await open_dialog(pilot, "search-ranking", "rules", "a")
        await pilot.press(*"beta-testers", "escape")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen) and len(app.screen.rules) == 1
