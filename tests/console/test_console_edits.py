"""Pilot tests: editing flags (reorder, rules, variants), creating, duplicating and deleting, review and discard."""

from __future__ import annotations

import time
from pathlib import Path

from textual.widgets import OptionList

from app.screens.flag_editor import FlagEditorScreen
from app.screens.flags import FlagsScreen
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.prompt import PromptModal
from app.screens.modals.rule import RuleModal
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable
from app.widgets.list_editor import ListEditor
from gitstore.model.documents import FlagType

from .helpers import head_commit, open_segments, open_store, settle


def flag_in_repo(config: Path, key: str, env: str = "production"):  # noqa: ANN201
    with open_store(config) as store:
        doc = store.snapshot(env).document("default")
        return doc.flag(key) if doc else None


async def open_flag(pilot, key: str) -> FlagEditorScreen:  # noqa: ANN001
    table = pilot.app.screen.query_one(FlagTable)
    assert table.move_to(key)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FlagEditorScreen)
    return pilot.app.screen


async def commit_all(pilot) -> None:  # noqa: ANN001
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewScreen)
    await pilot.press("enter")
    await settle(pilot)


async def test_reorder_rollouts_and_commit(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "new-checkout")
        editor.query_one("#rollouts", ListEditor).focus()
        await pilot.press("down", "left_square_bracket")  # move the threshold rollout to the top
        await pilot.press("escape")
        await settle(pilot)
        await commit_all(pilot)
    flag = flag_in_repo(config_path, "new-checkout")
    assert flag.type is FlagType.BOOLEAN
    assert flag.rollouts[0].threshold is not None and flag.rollouts[1].segment is not None


async def test_rule_editor_warns_and_saves_distribution(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "search-ranking")
        editor.query_one("#rules", ListEditor).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RuleModal)
        box = app.screen.query_one("#rule-distributions")
        box.value = "semantic=20, classic=30"
        await pilot.pause()
        bar = str(app.screen.query_one("#rule-bar").render())
        assert "total 50%" in bar and "semantic 20% → 40%" in bar and "classic 30% → 60%" in bar
        box.value = "semantic=20, nope=30"
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, RuleModal)  # refused: unknown variant
        assert "unknown variant 'nope'" in str(app.screen.query_one("#form-error").render())
        box.value = "semantic=40, classic=60"
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen)
        await pilot.press("escape")
        await settle(pilot)
        await commit_all(pilot)
    flag = flag_in_repo(config_path, "search-ranking")
    assert [(d.variant, d.rollout) for d in flag.rules[0].distributions] == [("semantic", 40), ("classic", 60)]


async def test_variant_attachment_must_be_json_object(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "color-theme")
        editor.query_one("#variants", ListEditor).focus()
        await pilot.press("enter")
        await settle(pilot)
        area = app.screen.query_one("#variant-attachment")
        area.text = '{"background": '
        await pilot.press("f2")
        await pilot.pause()
        assert "invalid JSON at line 1" in str(app.screen.query_one("#form-error").render())
        area.text = "42"
        await pilot.press("f2")
        await pilot.pause()
        assert "object or array" in str(app.screen.query_one("#form-error").render())
        area.text = '{"background": "#000"}'
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        [pending] = app.session.pending
        assert pending.change.value.variants[0].attachment == {"background": "#000"}


async def test_variant_in_use_is_kept_and_a_rename_follows_into_the_rules(make_app) -> None:
    """The variants list: `x` on a variant a rule distributes to is refused, saying which rule; renaming it in its
    dialog renames it in the rules and as the default too."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "search-ranking")
        editor.query_one("#variants", ListEditor).focus()
        await pilot.press("x")  # classic, the first variant: rule 1 gives it 75%
        await settle(pilot)
        assert "variant 'classic' is used by rule(s) 1: change those first" in str(
            editor.query_one("#flag-error").render())
        assert [v.key for v in editor.variants] == ["classic", "semantic"]
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#variant-key").value = "classic-v2"
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen is editor
        await pilot.press("escape")
        await settle(pilot)
        [pending] = app.session.pending
        flag = pending.change.value
        assert [v.key for v in flag.variants] == ["classic-v2", "semantic"]
        assert [d.variant for d in flag.rules[0].distributions] == ["semantic", "classic-v2"]
        assert flag.default_variant.key == "classic-v2"


async def duplicate_and_delete(app, pilot) -> None:  # noqa: ANN001
    """Stage two edits from the flag list: duplicate color-theme (accepting color-theme-copy), delete
    maintenance-mode (confirmed)."""
    app.screen.query_one(FlagTable).move_to("color-theme")
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("enter")  # accept the proposed key color-theme-copy
    await settle(pilot)
    app.screen.query_one(FlagTable).move_to("maintenance-mode")
    await pilot.press("d")
    await settle(pilot)
    assert isinstance(app.screen, ConfirmModal)
    await pilot.press("y")
    await settle(pilot)


async def test_new_duplicate_delete_in_one_commit(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        await pilot.press(*"bad key")
        await pilot.press("enter")
        assert isinstance(app.screen, PromptModal)  # refused: not a key
        app.screen.query_one("#field-key").value = "fresh-flag"
        app.screen.query_one("#field-name").value = "Fresh flag"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one(FlagTable).current_key == "fresh-flag"
        await duplicate_and_delete(app, pilot)
        assert len(app.session.pending) == 3
        await commit_all(pilot)
    commit = head_commit(config_path)
    assert commit.message.splitlines()[0] == "updated multiple resources"
    assert "create flag default/fresh-flag" in commit.message
    assert "delete flag default/maintenance-mode" in commit.message
    assert flag_in_repo(config_path, "maintenance-mode") is None
    copy = flag_in_repo(config_path, "color-theme-copy")
    assert copy.name == "Color theme (copy)" and len(copy.rules) == 2


async def test_discard_one_and_all(make_app, config_path: Path) -> None:
    app = make_app()
    before = head_commit(config_path).id
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "down", "space", "down", "space")
        assert len(app.session.pending) == 3
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("d")
        assert len(app.session.pending) == 2
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.session.pending == []
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
        assert not any(row.pending for row in app.screen.query_one(FlagTable)._rows)
    assert head_commit(config_path).id == before


async def test_edited_commit_message_is_used(make_app, config_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert app.screen.query_one("#commit-message").text == "update flag default/color-theme"
        app.screen.query_one("#commit-message").text = "Turn the colour theme off for the launch"
        await pilot.press("enter")
        await settle(pilot)
    assert head_commit(config_path).message.strip() == "Turn the colour theme off for the launch"


async def test_conflicting_commit_is_refused_and_edit_kept(make_app, config_path: Path) -> None:
    """Another writer changes the flag of a pending edit: the console's store watcher sees the branch move and marks
    the edit as a conflict, so the review refuses the commit (the store's own ConflictError, the last guard when
    the move is not seen in time, is tested with watching off in tests/insight)."""
    from gitstore.model.changes import Change, Kind

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("maintenance-mode")
        await pilot.press("space")
        with open_store(config_path) as other:  # someone else changes the same flag meanwhile
            flag = other.snapshot("production").document("default").flag("maintenance-mode")
            theirs = other.commit("production", [Change("default", Kind.FLAG, flag.key,
                                                        flag.model_copy(update={"name": "Maintenance"}))]).commit
        # the watcher polls the branch: wait for the move to reach the console rather than race it
        deadline = time.monotonic() + 5
        while not app.insight.open_conflicts():
            assert time.monotonic() < deadline, "the console never saw the other commit"
            await pilot.pause(0.02)
        await settle(pilot)
        [conflict] = app.insight.open_conflicts()
        assert conflict.commit == theirs and conflict.theirs.name == "Maintenance"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert str(app.screen.query_one("#pending", OptionList).get_option_at_index(0).prompt) == (
            "⚠ CONFLICT update flag default/maintenance-mode")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)  # refused by the review itself: no error dialog
        assert str(app.screen.query_one("#review-status").render()) == (
            "✗ 1 conflict(s) to resolve first: select an edit marked CONFLICT and press x")
        [pending] = app.session.pending
        assert pending.change.key == "maintenance-mode" and pending.change.value.enabled is True
    assert str(head_commit(config_path).id) == theirs


async def test_metadata_must_be_a_json_object(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        editor = await open_flag(pilot, "search-ranking")
        editor.query_one("#flag-metadata").text = '["owner"]'
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is editor and not app.session.pending  # refused, nothing lost
        assert "metadata: must be a JSON object" in str(editor.query_one("#flag-error").render())
        editor.query_one("#flag-metadata").text = '{"owner": "search", "tier": 2}'
        await pilot.press("escape")
        await settle(pilot)
        [pending] = app.session.pending
        assert pending.change.value.metadata == {"owner": "search", "tier": 2}


async def test_segment_in_use_cannot_be_deleted(make_app) -> None:
    from app.screens.modals.error import ErrorModal

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_segments(app, pilot)
        await pilot.press("d")  # beta-testers: used by color-theme's second rule
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
        assert "color-theme" in str(app.screen.query_one(".dialog-body").render())
        assert not app.session.pending


async def palette_flags(app, query: str) -> list[str]:  # noqa: ANN001
    """The "Go to flag" hits the command palette's navigation provider gives for `query`."""
    from app.screens.palette import NavigationProvider

    provider = NavigationProvider(app.screen)
    texts = [str(hit.text) async for hit in provider.search(query)]
    return sorted(t.removeprefix("Go to flag ") for t in texts if t.startswith("Go to flag "))


async def test_palette_follows_edits_and_other_commits(make_app, config_path: Path) -> None:
    """The palette's flag list is built once per session state: staged edits and a commit from elsewhere show up
    in the next search, without reopening anything."""
    from textual.command import CommandPalette

    from gitstore.model.changes import Change, Kind

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert await palette_flags(app, "go to flag color") == ["color-theme"]
        assert await palette_flags(app, "go to flag maint") == ["maintenance-mode"]
        await duplicate_and_delete(app, pilot)
        assert await palette_flags(app, "go to flag color") == ["color-theme", "color-theme-copy"]
        assert await palette_flags(app, "go to flag maint") == []
        with open_store(config_path) as other:
            flag = other.snapshot("production").document("default").flag("new-checkout")
            theirs = other.commit("production", [Change("default", Kind.FLAG, "from-elsewhere", flag.model_copy(
                update={"key": "from-elsewhere", "name": "From elsewhere"}))]).commit
        deadline = time.monotonic() + 5
        while app.session.snapshot().commit != theirs:
            assert time.monotonic() < deadline, "the console never saw the other commit"
            await pilot.pause(0.02)
        await settle(pilot)
        assert await palette_flags(app, "go to flag from-else") == ["from-elsewhere"]
        assert await palette_flags(app, "go to flag color") == ["color-theme", "color-theme-copy"]  # still pending
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to flag from-else")
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagEditorScreen) and app.screen.flag.key == "from-elsewhere"
