"""The real `flagdeck console` in a private tmux server, driven as a person would: toggle a flag, review, commit;
then the new commit is read back from the repository (author, message, a one-line diff)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import commit_diff, head_commit

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.base = ["tmux", "-L", socket]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "app")

    def wait_for(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} did not appear; the screen:\n{self.screen()}")

    def exit_status(self, timeout: float = 10) -> int:
        """The console's exit status, from whichever of tmux's and the shell's reports shows up first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"(?:console exited with status|Pane is dead \(status) (\d+)", self.screen())
            status = self("display-message", "-p", "-t", "app", "#{?pane_dead,#{pane_dead_status},}").strip()
            if found or status:
                return int(found[1] if found else status)
            time.sleep(0.1)
        raise AssertionError(f"the console did not exit; the screen:\n{self.screen()}")


def test_toggle_and_commit_in_tmux(config_path: Path, private_state: Path) -> None:
    flagdeck = Path(sys.executable).parent / "flagdeck"
    tmux = Tmux(f"flagdeck-test-{os.getpid()}-{time.monotonic_ns()}")
    # tmux 3.3 does not always record a dead pane's exit status, so the shell reports it on the screen
    command = (f"sh -c '{flagdeck} console --config {config_path} --namespace default; "
               "echo console exited with status $?'")
    try:
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "100", "-y", "30",
             "-e", "TEXTUAL_ANIMATIONS=none", "-e", "COLORTERM=truecolor", "-e", "FLAGDECK_USER=Tmux Tester <tt@example.com>",
             "-e", "FLAGDECK_ROLES=", "-e", f"FLAGDECK_STATE_DIR={private_state}", command)
        tmux("set-option", "-t", "app", "remain-on-exit", "on")
        tmux.wait_for("4 of 4 flags")
        tmux("send-keys", "-t", "app", "Down", "Space")  # maintenance-mode: off -> on
        tmux.wait_for("pending: 1")
        tmux("send-keys", "-t", "app", "C-s")
        tmux.wait_for("update flag default/maintenance-mode")
        tmux("send-keys", "-t", "app", "Enter")
        tmux.wait_for("no pending edits")
        tmux("send-keys", "-t", "app", "q")
        assert tmux.exit_status() == 0, tmux.screen()
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True)
    commit = head_commit(config_path)
    assert (commit.author.name, commit.author.email) == ("Tmux Tester", "tt@example.com")
    assert commit.message.strip() == "update flag default/maintenance-mode"
    changed = [line for line in commit_diff(commit).splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    enabled: false", "+    enabled: true"]
