"""The console and branch environments: the environments screen lists each branch under its base with how far it
is ahead of and behind it (a snapshot: fixed repository, authors and dates, frozen clock, pinned theme, fixed
size), and a branch is opened, edited and committed like an environment, with its base's role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pygit2
import pytest
from console.helpers import ADA, NOW, T0, TESS, seed, settle

from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import build_tree, make_commit
from gitstore.results import Author

from .conftest import enabled


def seeded_with_branches(root: Path) -> Path:
    """The console tests' seeded repository plus two branches: `trial` of production, made from its first commit
    (production has moved on by one since) with one commit of its own; `quiet` of staging, at staging's tip."""
    config = seed(root)
    repo = pygit2.Repository(str(root / "repo"))
    head = tip(repo, branch_ref("main"))
    assert head is not None
    first = repo[head].parents[0]
    text = repo[first.tree["production/default/features.yaml"].id].data.replace(
        b"    description: Show the maintenance page instead of the shop\n    enabled: false",
        b"    description: Show the maintenance page instead of the shop\n    enabled: true")
    tree = build_tree(repo, first.tree, {"production/default/features.yaml": text})
    when = (T0 + timedelta(hours=5)).timestamp()
    commit = make_commit(repo, tree, [first.id], ADA, "update flag default/maintenance-mode", when=when)
    repo.create_reference("refs/heads/flipt/production/trial", commit)
    repo.create_reference("refs/heads/flipt/staging/quiet", head)
    return config


@pytest.fixture
def branch_app(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from app.console import ConsoleApp
    from app.session import Session
    from gitstore.config import load_config
    from gitstore.store import Store

    config = seeded_with_branches(tmp_path / "flags")
    stores: list[Store] = []

    def factory(roles: dict[str, str] | None = None, env: str = "production") -> ConsoleApp:
        store = Store(load_config(config), roles=roles, identity=Author(*TESS))
        stores.append(store)
        session = Session(store, env=env, namespace="default", author=TESS, roles=roles, clock=lambda: NOW)
        return ConsoleApp(session, theme="textual-dark", cursor_blink=False)

    factory.config = config  # type: ignore[attr-defined]
    yield factory
    for store in stores:
        store.close()


async def open_environments(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("E")
    await settle(pilot)


def test_environments_screen_lists_branches_under_their_base(snap_compare, branch_app) -> None:  # noqa: ANN001
    assert snap_compare(branch_app(), run_before=open_environments, terminal_size=(110, 30))


async def test_a_branch_is_opened_edited_and_committed_like_an_environment(branch_app) -> None:  # noqa: ANN001
    from textual.widgets import DataTable

    from app.screens.environments import EnvironmentsScreen
    from app.screens.flags import FlagsScreen
    from app.widgets.flag_table import FlagTable

    app = branch_app(roles={"production": "editor", "staging": "viewer"})
    async with app.run_test(size=(110, 30)) as pilot:
        await open_environments(pilot)
        screen = app.screen
        assert isinstance(screen, EnvironmentsScreen)
        rows = [(env.name, env.base, branch.ahead if branch else None, branch.behind if branch else None)
                for env, _, _, branch in screen.rows]
        assert rows == [("production", None, None, None), ("trial", "production", 1, 1),
                        ("staging", None, None, None), ("quiet", "staging", 0, 0)]
        table = screen.query_one(DataTable)
        table.move_cursor(row=1)
        await settle(pilot)
        detail = str(screen.query_one("#env-detail").render())
        assert "branch environment of production: 1 ahead, 1 behind production" in detail
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen) and app.session.env == "trial"
        assert app.session.can_edit() and app.session.role() == "editor"  # the base's role
        assert app.screen.query_one(FlagTable).move_to("new-checkout")
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
    from gitstore.config import load_config
    from gitstore.store import Store

    with Store(load_config(branch_app.config)) as store:
        assert enabled(store, "trial", "new-checkout") is not enabled(store, "production", "new-checkout")
        assert enabled(store, "trial", "maintenance-mode") is True
        [trial] = store.branches("production")
        assert (trial.ahead, trial.behind) == (2, 1)
        assert store.head("production") == str(tip(pygit2.Repository(str(branch_app.config.parent / "repo")),
                                                   branch_ref("main")))


def test_flagdeck_console_opens_a_branch_by_its_key(tmp_path: Path) -> None:
    """The real `flagdeck console --env trial` in tmux: the branch is opened like an environment and a toggle is
    committed on its Git branch; an unknown key is refused before any terminal is needed."""
    import shutil
    import subprocess
    import sys

    from tmux_terminal import Tmux

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    config = seeded_with_branches(tmp_path / "flags")
    flagdeck = str(Path(sys.executable).parent / "flagdeck")
    refused = subprocess.run([flagdeck, "console", "--config", str(config), "--env", "nope"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert refused.returncode == 1
    assert "no environment 'nope'" in refused.stderr and "and their branches" in refused.stderr
    tmux = Tmux([flagdeck, "console", "--config", str(config), "--env", "trial", "--namespace", "default"], 100, 30,
                env={"COLORTERM": "truecolor", "FLAGDECK_USER": "Tmux Tester <tt@example.com>",
                     "FLAGDECK_ROLES": '{"production": "editor"}', "FLAGDECK_STATE_DIR": str(tmp_path / "state")})
    try:
        tmux.wait_for("env: trial", timeout=15)
        tmux.wait_for("4 of 4 flags")
        tmux.keys("Space")
        tmux.wait_for("pending: 1")
        tmux.keys("C-s")
        tmux.wait_for("update flag default/")
        tmux.keys("Enter")
        tmux.wait_for("no pending edits")
        tmux.keys("q")
        assert tmux.wait_dead() == 0, tmux.screen()
    finally:
        tmux.kill()
    repo = pygit2.Repository(str(tmp_path / "flags" / "repo"))
    commit = repo[tip(repo, "refs/heads/flipt/production/trial")]
    assert (commit.author.name, commit.message.split("\n")[0]) == ("Tmux Tester", "update flag default/color-theme")


async def test_branch_and_delete_from_the_environment_list(branch_app) -> None:  # noqa: ANN001
    from textual.widgets import DataTable

    from app.screens.environments import EnvironmentsScreen
    from app.screens.modals.confirm import ConfirmModal
    from app.screens.modals.prompt import PromptModal
    from gitstore.config import load_config
    from gitstore.store import Store

    app = branch_app()
    async with app.run_test(size=(110, 30)) as pilot:
        await open_environments(pilot)
        screen = app.screen
        assert isinstance(screen, EnvironmentsScreen)
        screen.query_one(DataTable).move_cursor(row=1)  # trial: a branch cannot be branched
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert "a branch cannot be branched" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")
        screen.query_one(DataTable).move_cursor(row=0)
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)
        await pilot.press(*"bad name", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PromptModal)  # refused, said why, nothing created
        app.screen.query_one("#field-name").value = "late-night"
        await pilot.press("enter")
        await settle(pilot)
        rows = [(env.name, env.base, branch.ahead if branch else None) for env, _, _, branch in screen.rows]
        assert ("late-night", "production", 0) in rows and rows.index(("late-night", "production", 0)) < 3
        screen.query_one(DataTable).move_cursor(row=[r[0] for r in rows].index("late-night"))
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert "late-night" not in [env.name for env, *_ in screen.rows]
    with Store(load_config(branch_app.config)) as store:
        assert [b.key for b in store.branches("production")] == ["trial"]
