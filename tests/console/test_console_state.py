"""State reads in words (issue 14 #3, #6, #7): an editor opens on its list, so its keys are commands and never
rename anything; a boolean flag switched off whose rollouts still serve true says so, in the list and in the editor
(the engine evaluates it); a checkbox reads [x]/[ ] without colour."""

from __future__ import annotations

from pathlib import Path

from app.insight.served import Served, ServedCache, served
from app.screens.modals.constraint import ConstraintModal
from app.screens.segment_editor import SegmentEditorScreen
from app.widgets.flag_table import FlagTable
from app.widgets.state_box import StateBox
from gitstore.model.documents import Flag, FlagType, Rollout, RolloutThreshold

from .helpers import open_segments, settle
from .test_console_edits import open_flag


def row_state(app, key: str) -> str:  # noqa: ANN001
    table = app.screen.query_one(FlagTable)
    return next(r.state_text for r in table._rows if r.key == key)


async def test_a_new_segment_opens_on_its_constraints_and_a_adds_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_segments(app, pilot)
        await pilot.press("n", *"pro-plan", "tab", *"Pro plan", "enter")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, SegmentEditorScreen) and editor.segment.key == "pro-plan"
        await pilot.press("a")  # the heading says "a add": it adds a constraint, it does not rename the segment
        await settle(pilot)
        assert isinstance(app.screen, ConstraintModal)
        await pilot.press("escape")
        await settle(pilot)
        assert editor.query_one("#segment-name").value == "Pro plan"


async def test_the_flag_editor_opens_on_its_list(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "color-theme")
        assert app.focused is editor.query_one("#variants")
        await pilot.press("escape")
        await settle(pilot)
        editor = await open_flag(pilot, "new-checkout")
        assert app.focused is editor.query_one("#rollouts")
        await pilot.press("x", "escape")  # x removes the highlighted rollout; the name is untouched
        await settle(pilot)
        [pending] = app.session.pending
        assert pending.change.value.name == "New checkout" and len(pending.change.value.rollouts) == 1


def test_served_comes_from_evaluating_the_flag() -> None:
    everyone = Rollout(threshold=RolloutThreshold(percentage=100, value=True))
    half = Rollout(threshold=RolloutThreshold(percentage=50, value=True))
    off = Flag(key="f", name="F", type=FlagType.BOOLEAN, enabled=False, rollouts=(everyone,))
    answer = served(None, off)
    assert answer == Served(answer.total, answer.total) and answer.words(False) == (
        "off · rollouts still serve true to everyone")
    some = served(None, off.model_copy(update={"rollouts": (half,)}))
    assert 0 < some.other < some.total and some.words(False, short=True) == "off (some get true)"
    assert served(None, off.model_copy(update={"enabled": True})) is None  # its rollouts serve what it says



def test_a_staged_copy_of_a_flag_finds_its_answer_known() -> None:
    """Every toggle and editor change stages a copy of the flag: the answer is known for a copy with the same
    state and rollouts (it was keyed by the object, so each copy evaluated the sample again on the UI thread)."""
    half = Rollout(threshold=RolloutThreshold(percentage=50, value=True))
    off = Flag(key="f", name="F", type=FlagType.BOOLEAN, enabled=False, rollouts=(half,))
    cache = ServedCache()
    answer = cache.compute(None, off)
    assert answer is not None and cache.get(None, off.model_copy(update={"name": "renamed"})) == (True, answer)
    assert cache.get(None, off.model_copy(update={"rollouts": (half, half)})) == (False, None)  # a new version


async def test_switching_off_a_flag_that_rollouts_still_serve_says_so(make_app, config_path: Path) -> None:
    """new-checkout is on in the demo, with a 100% threshold rollout to true in staging (10% in production)."""
    app = make_app(env="staging")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert row_state(app, "new-checkout") == "on"
        app.screen.query_one(FlagTable).move_to("new-checkout")
        await pilot.press("space")
        await settle(pilot)
        assert row_state(app, "new-checkout") == "off (all get true)"
        assert "off (all get true)" in app.screen.query_one(FlagTable).render_line(3).text
        await pilot.press("escape")
        editor = await open_flag(pilot, "new-checkout")
        note = str(editor.query_one("#served-note").render())
        assert note.startswith("⚠ off · rollouts still serve true to everyone")
        box = editor.query_one("#flag-enabled", StateBox)
        assert str(box.render()).startswith("[ ] off")
        box.value = True
        await pilot.pause()
        assert str(box.render()).startswith("[x] on") and not editor.query_one("#served-note").display


def test_the_last_place_is_remembered_per_configuration(tmp_path: Path) -> None:
    """issue 14 #11: the console opens where it was left (environment, then that environment's namespace)."""
    from app.insight.places import LastPlace, Place

    path = tmp_path / "state" / "last-place.json"
    mine, other = LastPlace(tmp_path / "a.yaml", path), LastPlace(tmp_path / "b.yaml", path)
    assert mine.get() == Place(None, None)
    mine.remember("staging", "beta")
    mine.remember("production", "default")
    assert mine.get() == Place("production", "default")
    assert mine.get("staging") == Place("staging", "beta")  # --env wins; its namespace is still remembered
    assert other.get() == Place(None, None)  # another configuration's place is its own
    path.write_text("{not json")
    assert mine.get() == Place(None, None)  # a damaged file is ignored, never an error


def test_the_context_line_keeps_the_pending_count_when_narrow() -> None:
    """issue 14 #11: at 60 columns the header lost the pending count."""
    from app.widgets.context_line import Part, fit

    parts = [Part("env: production", "production", 8), Part("ns: default", "default", 7),
             Part("role: admin", "admin", 1), Part("pending: 3", "3 pending", 9),
             Part("⇡2 to push · last fetch 3m ago", "⇡2 to push · last fetch 3m ago", 2)]
    assert fit(parts, 200).startswith("env: production  │  ns: default")
    for width in (60, 40, 30, 20):
        text = fit(parts, width)
        assert "3 pending" in text or "pending: 3" in text
        assert len(text) <= width or text == "3 pending"
