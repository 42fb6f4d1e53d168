"""A remote that cannot be reached: a commit says it stayed local and why, the context line and the Environments
screen show the unpushed commits, and once the remote is back the store's watcher pushes and the console says so."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pygit2
from textual.notifications import Notify

from app.screens.environments import EnvironmentsScreen
from app.screens.flags import FlagsScreen
from app.widgets.flag_table import FlagTable

from .helpers import head_commit, seed, settle


def context(app: Any) -> str:
    return str(app.screen.query_one(".context-line").render())


async def wait_until(pilot: Any, condition: Any, seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out; the context line: {context(pilot.app)}"
        await pilot.pause(0.1)
    await settle(pilot)


async def commit_toggle(pilot: Any, key: str) -> None:
    pilot.app.screen.query_one(FlagTable).move_to(key)
    await pilot.press("space")
    await settle(pilot)
    await pilot.press("ctrl+s")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def test_unpushed_commit_is_announced_and_shown_until_the_remote_is_back(tmp_path: Path, make_app) -> None:
    config = seed(tmp_path / "flags")
    remote = tmp_path / "remote.git"  # not there yet: the remote is unreachable
    config.write_text(config.read_text().replace("remote: null", f"remote: file://{remote}"))
    app = make_app(config=config)
    told: list[Notify] = []
    async with app.run_test(size=(120, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        local = sum(1 for _ in pygit2.Repository(str(config.parent / "repo")).walk(head_commit(config).id))
        assert f"↑{local} unpushed · ✗ remote unreachable" in context(app)  # no commit ever reached it
        await commit_toggle(pilot, "maintenance-mode")
        commit = str(head_commit(config).id)
        [notice] = [n.notification for n in told if n.notification.message.startswith("Committed")]
        assert notice.message.startswith(f"Committed {commit[:8]} locally; not pushed: ")
        assert str(remote) in notice.message and notice.message.endswith("; will push later")
        assert notice.severity == "warning"
        assert isinstance(app.screen, FlagsScreen)
        assert f"↑{local + 1} unpushed · ✗ remote unreachable" in context(app)
        await pilot.press("E")
        await settle(pilot)
        assert isinstance(app.screen, EnvironmentsScreen)
        row = [str(cell) for cell in app.screen.query_one("#environments").get_row_at(0)]
        assert f"↑{local + 1} unpushed · ✗ remote unreachable" in row
        detail = str(app.screen.query_one("#env-detail").render())
        assert "last error: " in detail and str(remote) in detail
        await pilot.press("escape")
        await settle(pilot)

        pygit2.init_repository(str(remote), bare=True)  # the remote is back: the watcher pushes within a poll
        await wait_until(pilot, lambda: "✓ in sync" in context(app))
        assert str(pygit2.Repository(str(remote)).references["refs/heads/main"].target) == commit
        told.clear()
        await commit_toggle(pilot, "maintenance-mode")
        [notice] = [n.notification for n in told if n.notification.message.startswith("Committed")]
        assert notice.message == f"Committed {str(head_commit(config).id)[:8]}" and notice.severity == "information"
        assert "✓ in sync" in context(app)


async def test_no_sync_state_without_a_remote(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert context(app).endswith("no pending edits")
        await pilot.press("E")
        await settle(pilot)
        assert "local only" in [str(cell) for cell in app.screen.query_one("#environments").get_row_at(0)]
