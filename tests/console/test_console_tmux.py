"""The real `flagdeck console` in a private tmux server, driven as a person would: toggle a flag, review, commit;
then the new commit is read back from the repository (author, message, a one-line diff)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from tmux_terminal import Tmux

from .helpers import commit_diff, head_commit

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_toggle_and_commit_in_tmux(config_path: Path, private_state: Path) -> None:
    flagdeck = Path(sys.executable).parent / "flagdeck"
    tmux = Tmux([str(flagdeck), "console", "--config", str(config_path), "--namespace", "default"], 100, 30,
                env={"COLORTERM": "truecolor", "FLAGDECK_USER": "Tmux Tester <tt@example.com>", "FLAGDECK_ROLES": "",
                     "FLAGDECK_STATE_DIR": str(private_state)})
    try:
        tmux.wait_for("4 of 4 flags", timeout=15)
        tmux.keys("Down", "Space")  # maintenance-mode: off -> on
        tmux.wait_for("pending: 1")
        tmux.keys("C-s")
        tmux.wait_for("update flag default/maintenance-mode")
        tmux.keys("Enter")
        tmux.wait_for("no pending edits")
        tmux.keys("q")
        assert tmux.wait_dead() == 0, tmux.screen()
    finally:
        tmux.kill()
    commit = head_commit(config_path)
    assert (commit.author.name, commit.author.email) == ("Tmux Tester", "tt@example.com")
    assert commit.message.strip() == "update flag default/maintenance-mode"
    changed = [line for line in commit_diff(commit).splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    enabled: false", "+    enabled: true"]
