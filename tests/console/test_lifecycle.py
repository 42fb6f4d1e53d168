"""Pilot tests of the console's lifecycle (issue 16): the evaluations column and stale statuses from real counts
(written through the evaluator's AnalyticsWriter), the owner / lifecycle / stale filters, editing the lifecycle in
the flag editor, and the cleanup of stale flags through the review (a real commit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select, SelectionList

from app.screens.flag_editor import FlagEditorScreen
from app.screens.modals.choose import ChooseModal
from app.screens.modals.cleanup import CleanupModal
from app.screens.review import ReviewScreen
from app.widgets.flag_table import FlagTable
from app.widgets.impact_panel import ImpactPanel
from tests.lifecycle.helpers import NOW, busy_counts, make_env, write_counts

from .helpers import TESS, head_commit, settle


@pytest.fixture
def lifecycle_config(tmp_path: Path) -> Path:
    config = make_env(tmp_path / "flags")
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30),
                                         "staging": NOW - timedelta(days=30)})
    return config


@pytest.fixture
def console_for() -> Iterator[Callable[[Path], Any]]:
    """`console_for(config)`: a console on its production environment, the clock at NOW, reading the counts as
    `flagdeck console` does (the reader the configuration names)."""
    from app.console import ConsoleApp
    from app.session import Session
    from app.settings import load_flagdeck_config
    from gitstore.results import Author
    from gitstore.store import Store

    stores: list[Store] = []

    def make(config: Path) -> ConsoleApp:
        stores.append(Store(load_flagdeck_config(config), identity=Author(*TESS)))
        session = Session(stores[-1], env="production", namespace="default", author=TESS, clock=lambda: NOW)
        return ConsoleApp(session, theme="textual-dark", cursor_blink=False)

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def lifecycle_app(lifecycle_config: Path, console_for: Callable[[Path], Any]) -> Any:
    return console_for(lifecycle_config)


def shown(app: Any) -> dict[str, tuple[str, int]]:
    table = app.screen.query_one(FlagTable)
    rows = {row.key: row for row in table._rows}
    return {key: (rows[key].life_text, rows[key].evals) for key in table.visible_keys()}


async def test_counts_stale_statuses_and_filters(lifecycle_app: Any) -> None:
    app = lifecycle_app
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert shown(app) == {"busy": ("temp", 10), "expired": ("STALE", 10), "forever": ("perm", 0),
                              "old-unused": ("STALE", 0), "one-value": ("STALE", 50), "untagged": ("", 0),
                              "young": ("temp", 0)}
        table = app.screen.query_one(FlagTable)
        assert {r.key: r.trend for r in table.visible_rows()}["one-value"].strip() == "█"  # one bucket, 1 h ago
        assert "counts: sqlite · 3 stale" in str(app.screen.query_one("#flags-status").render())
        await pilot.press("S")
        await settle(pilot)
        assert list(shown(app)) == ["expired", "old-unused", "one-value"]
        assert app.screen.query_one("#filter", Input).value == "is:stale"
        await pilot.press("o")  # owner: team-growth, with the stale filter still on
        await settle(pilot)
        assert isinstance(app.screen, ChooseModal)
        await pilot.press("down", "down", "down", "enter")  # every owner, team-checkout, team-core, team-growth
        await settle(pilot)
        assert list(shown(app)) == ["old-unused"]
        await pilot.press("S")  # stale off: every flag of team-growth
        await settle(pilot)
        assert list(shown(app)) == ["busy", "old-unused"]
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # permanent
        await settle(pilot)
        assert app.screen.query_one("#filter", Input).value == "owner:team-growth lifecycle:permanent"
        assert list(shown(app)) == []
        await pilot.press("escape")
        await settle(pilot)
        assert len(shown(app)) == 7


async def test_editing_the_lifecycle_commits_it_in_the_metadata(lifecycle_app: Any, lifecycle_config: Path) -> None:
    app = lifecycle_app
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("untagged")
        await pilot.press("enter")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, FlagEditorScreen)
        editor.query_one("#flag-owner", Input).value = "team-search"
        editor.query_one("#flag-lifecycle", Select).value = "temporary"
        editor.query_one("#flag-expires", Input).value = "2026-02-30"
        await pilot.press("escape")  # refused: the date is not one
        await settle(pilot)
        assert app.screen is editor
        assert "expires: must be a date YYYY-MM-DD, not '2026-02-30'" in str(editor.query_one("#flag-error").render())
        editor.query_one("#flag-expires", Input).value = "2026-06-30"
        editor.query_one("#flag-metadata").text = '{"lifecycle": "forever", "tier": 2}'  # typed in the JSON box
        await pilot.press("escape")
        await settle(pilot)
        assert "metadata: lifecycle: must be one of temporary, permanent, not 'forever'" in str(
            editor.query_one("#flag-error").render())
        editor.query_one("#flag-metadata").text = '{"tier": 2}'
        await pilot.press("escape", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
    text = (head_commit(lifecycle_config).tree / "production" / "default" / "features.yaml").data.decode()
    block = text.split("- key: untagged")[1]
    assert 'metadata:\n      tier: 2\n      owner: team-search\n      lifecycle: temporary\n      expires: ' \
        '"2026-06-30"\n' in block, block  # quoted: a YAML date would not read back as the text Flipt keeps


async def test_cleanup_removes_chosen_stale_flags_in_one_reviewed_commit(lifecycle_app: Any,
                                                                         lifecycle_config: Path) -> None:
    app = lifecycle_app
    before = head_commit(lifecycle_config).id
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CleanupModal)
        choices = modal.query_one(SelectionList)
        assert list(choices.selected) == ["expired", "old-unused", "one-value"]
        choices.deselect("expired")  # keep this one
        await pilot.press("enter")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        panel = review.query_one(ImpactPanel)
        impact = str(panel.render())
        assert "default/one-value: no change for its callers' values: removed, it served 'true' to every entity" \
            in impact, impact
        await pilot.press("enter")
        await settle(pilot)
    commit = head_commit(lifecycle_config)
    assert commit.parents[0].id == before
    text = (commit.tree / "production" / "default" / "features.yaml").data.decode()
    assert "key: old-unused" not in text and "key: one-value" not in text and "key: expired" in text


async def test_analytics_panel_every_environment(lifecycle_app: Any) -> None:
    from app.screens.flag_analytics import FlagAnalyticsScreen

    app = lifecycle_app
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("busy")
        await pilot.press("a")
        await settle(pilot)
        panel = app.screen
        assert isinstance(panel, FlagAnalyticsScreen)
        production, staging = (str(panel.query_one(f"#env-{i}").render()) for i in (0, 1))
        assert production.startswith("production\n1h 10  24h 10  7d 40  30d 150\n")
        assert "10 evaluations, the last at 2026-03-01 11:00 UTC" in production
        assert "by value served\n  blue  ██████████████     7  70.0%\n  green ██████" in production
        assert "by reason\n  MATCH_EVALUATION_REASON   ██████████████     7  70.0%" in production
        assert staging.startswith("staging\n1h 0  24h 0  7d 0  30d 0\n") and "no evaluation" in staging
        assert "client-side SDK evaluations are not counted" in str(panel.query_one("#analytics-title").render())
        await pilot.press("4")
        await settle(pilot)
        assert "150 evaluations" in str(panel.query_one("#env-0").render())


async def test_unreadable_counts_are_said_on_the_status_line_not_in_a_dialog(lifecycle_app: Any,
                                                                               lifecycle_config: Path) -> None:
    from app.screens.flags import FlagsScreen
    from app.settings import load_flagdeck_config
    from evaluator.analytics.store import database_path

    database_path(load_flagdeck_config(lifecycle_config)).write_bytes(b"not a database" * 100)
    app = lifecycle_app
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)  # no error dialog over the list (it came back on every reload)
        status = str(app.screen.query_one("#flags-status").render())
        assert "counts unavailable: " in status and "analytics.sqlite3" in status, status
        assert len(shown(app)) == 7


async def test_days_nobody_counted_are_said_in_the_list_and_the_panel(tmp_path: Path, console_for: Any) -> None:
    config = make_env(tmp_path / "flags")
    envs = ("production", "staging")
    write_counts(config, [r for r in busy_counts() if r[0] < NOW - timedelta(days=5)],
                 dict.fromkeys(envs, NOW - timedelta(days=30)), until=NOW - timedelta(days=5))
    write_counts(config, [], dict.fromkeys(envs, NOW - timedelta(days=3)))  # an evaluator down for 2 days
    app = console_for(config)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert {key: life for key, (life, _) in shown(app).items()} == {
            "busy": "temp?", "expired": "STALE", "forever": "perm", "old-unused": "temp?", "one-value": "temp?",
            "untagged": "", "young": "temp"}
        status = str(app.screen.query_one("#flags-status").render())
        assert "counts: sqlite · 1 stale · counting off 2d in 14d" in status, status
        app.screen.query_one(FlagTable).move_to("busy")
        await pilot.press("a", "3")  # the 7-day window
        await settle(pilot)
        text = str(app.screen.query_one("#env-0").render())
        assert "counting was off for 2d in this window (longest 2026-02-24 12:00 to 2026-02-26 12:00 UTC): " \
               "evaluations then are not counted" in text, text


SEGMENTS = "".join(f"""  - key: {key}
    name: {key.capitalize()}
    match_type: ALL_MATCH_TYPE
    constraints:
      - {{type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: {key}}}
""" for key in ("beta", "common"))


def ruled(text: str, *segments: str) -> str:
    return text + "    rules:\n" + "".join(f"      - segment: {s}\n        distributions: [{{variant: blue, "
                                             "rollout: 100}]\n" for s in segments)


async def test_cleanup_offers_the_segments_only_removed_flags_use(tmp_path: Path, console_for: Any) -> None:
    from tests.console.helpers import ADA, commit_files
    from tests.lifecycle.helpers import OLD_FLAGS, features, flag

    config = make_env(tmp_path / "flags")
    flags = [f for f in OLD_FLAGS if "key: expired" not in f and "key: busy" not in f]
    flags += [ruled(flag("expired", "temporary", "team-checkout", "2026-02-01", boolean=False), "beta", "common"),
              ruled(flag("busy", "temporary", "team-growth", boolean=False), "common")]
    body = (features(flags).decode() + "segments:\n" + SEGMENTS).encode()
    commit_files(config.parent / "repo", {"production/default/features.yaml": body}, ADA, "segments",
                 NOW - timedelta(days=39))
    write_counts(config, busy_counts(), {"production": NOW - timedelta(days=30)})
    before = head_commit(config).id
    app = console_for(config)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        modal = app.screen
        assert isinstance(modal, CleanupModal)
        choices = modal.query_one(SelectionList)
        assert list(choices.selected) == ["expired", "old-unused", "one-value"]  # the segment: opt-in
        assert [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)][-1] == \
            "segment beta: used only by expired (also remove?)"  # common: busy uses it too, not offered
        choices.select("segment:beta")
        choices.deselect("one-value")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("enter")
        await settle(pilot)
    commit = head_commit(config)
    assert commit.parents[0].id == before  # one commit
    text = (commit.tree / "production" / "default" / "features.yaml").data.decode()
    assert "key: expired" not in text and "key: old-unused" not in text and "key: one-value" in text
    assert "key: beta" not in text and "key: common" in text

