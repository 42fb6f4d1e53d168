"""A remote session writes no files on the server outside the project's state: the palette offers no screenshot
over SSH, the screenshot action (however it is reached, with whatever arguments) writes nothing, and the console's
own state (recent evaluation contexts) goes to a directory of that person under the server's state directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.console import ConsoleApp
from app.session import Session
from gitstore.config import load_config
from gitstore.demo import init_demo
from gitstore.store import Store

from .console_steps import open_console


def files_under(root: Path) -> set[Path]:
    """Files under `root`, but for the repository's parse cache (gitstore.format.cache: the project's own state)."""
    return {p for p in root.rglob("*") if p.is_file() and "parse-cache" not in p.parts}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)  # where Textual saves screenshots (it does not create it)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    return home


def console(tmp_path: Path, remote: bool) -> tuple[ConsoleApp, Store]:
    config = init_demo(tmp_path / "flags")
    store = Store(load_config(config))
    session = Session(store, env="production", namespace="default", author=("Tess", "tess@example.com"))
    return ConsoleApp(session, remote=remote, cursor_blink=False), store


async def test_remote_console_offers_and_writes_no_screenshot(tmp_path, home):
    app, store = console(tmp_path, remote=True)
    before = files_under(tmp_path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Change theme…" in titles and not [t for t in titles if "screenshot" in t.lower()]
            await app.run_action(f"screenshot('evil.svg', {str(tmp_path / 'elsewhere')!r})")
            await app.run_action("screenshot()")
            assert app.deliver_text(__import__("io").StringIO("x"), save_directory=str(tmp_path)) is None
            await pilot.pause()
            assert any("not saved over SSH" in str(n.message) for n in app._notifications)
    finally:
        store.close()
    assert files_under(tmp_path) - before == set()


async def test_local_screenshot_ignores_a_place_named_by_the_caller(tmp_path, home):
    app, store = console(tmp_path, remote=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await app.run_action(f"screenshot('evil.svg', {str(tmp_path / 'elsewhere')!r})")
            await pilot.pause(0.3)
    finally:
        store.close()
    assert not (tmp_path / "elsewhere").exists()
    saved = [p for p in files_under(home) if p.suffix == ".svg"]
    assert len(saved) == 1 and saved[0].parent == home / "Downloads" and saved[0].name != "evil.svg"


@pytest.mark.slow
def test_palette_over_ssh_writes_nothing_in_the_servers_home(team, start_server, tmux, tmp_path):
    config = init_demo(tmp_path / "flags")
    home = tmp_path / "server-home"
    (home / "Downloads").mkdir(parents=True)
    server = start_server(fake_console=False, config=config, env={**os.environ, "HOME": str(home)})
    alice = open_console(tmux, team, server, "alice")
    alice.keys("C-p")
    alice.wait_for("Search for commands")
    alice.keys("screenshot", literal=True)
    lines = alice.wait_screen(lambda lines: any("Take a screenshot" in x or "No matches found" in x for x in lines),
                              "the palette's answer")
    offered = any("Take a screenshot" in line for line in lines)
    alice.keys("Enter" if offered else "Escape")  # a person would pick it if it were there
    alice.wait_for("screenshot", gone=True)  # the palette has closed
    assert not offered
    alice.wait_for("Search for commands", gone=True)
    alice.keys("q")
    alice.wait_dead()
    server.wait_event(lambda e: e["event"] == "session_end")
    assert files_under(home) == set()  # no ~/Downloads/*.svg, no ~/.local/state/flagdeck
    state = tmp_path / "state" / "people" / "alice"
    assert state.is_dir() and oct(state.stat().st_mode & 0o777) == "0o700"
