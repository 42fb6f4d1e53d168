"""The journeys' set-up: a project root with the demo `flagdeck init` makes, the real `flagdeck console` (the
installed script) in a tmux terminal of a given size, and the repository read with pygit2."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pygit2
import pytest
from tmux_terminal import Tmux

from gitstore.demo import init_demo

BIN = Path(sys.executable).parent
AUTHOR = "Ada Lovelace <ada@example.com>"

pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root after `make run`'s first step (`flagdeck init .flagdeck`)."""
    init_demo(tmp_path / ".flagdeck")
    return tmp_path


@pytest.fixture
def repo(project: Path) -> pygit2.Repository:
    return pygit2.Repository(str(project / ".flagdeck" / "repo"))


@pytest.fixture
def console(project: Path) -> Iterator[Callable[..., Tmux]]:
    """Open `flagdeck console` on the demo in staging, as Ada, in a terminal of `size`; wait for the flag list."""
    terminals: list[Tmux] = []

    def open_(size: tuple[int, int], *extra: str, env: dict[str, str] | None = None) -> Tmux:
        command = [str(BIN / "flagdeck"), "console", "--env", "staging", "--user", AUTHOR, *extra]
        terminal = Tmux(command, *size, cwd=project,
                        env={"FLAGDECK_STATE_DIR": str(project / "state"), **(env or {})})
        terminals.append(terminal)
        terminal.wait_for("of 4 flags", timeout=30)
        return terminal

    yield open_
    for terminal in terminals:
        terminal.kill()
