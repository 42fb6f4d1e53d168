"""A branch the console cannot read when it moves: the console says so (a notification), it does not fail
silently in its worker thread."""

from __future__ import annotations

import time
from pathlib import Path

import pygit2
from console.helpers import settle
from textual.notifications import Notify

from gitstore.config import load_config


async def test_an_unreadable_branch_move_is_told_not_lost(make_app, config_path: Path) -> None:
    app = make_app()
    told: list[Notify] = []
    async with app.run_test(size=(100, 30), message_hook=lambda m: told.append(m) if isinstance(m, Notify)
                            else None) as pilot:
        await settle(pilot)
        storage = load_config(config_path).storage_of("production")
        git_dir = Path(pygit2.Repository(str(storage.path)).path)
        ref = git_dir / "refs" / "heads" / storage.branch
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text("0123456789abcdef0123456789abcdef01234567\n")  # a commit the repository does not have
        deadline = time.monotonic() + 5
        while not any("Could not read production" in str(n.notification.message) for n in told):
            assert time.monotonic() < deadline, [n.notification.message for n in told]
            await pilot.pause(0.05)
        [note] = [n.notification for n in told if "Could not read production" in str(n.notification.message)]
        assert note.severity == "error"
