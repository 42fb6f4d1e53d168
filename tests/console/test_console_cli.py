"""`flagdeck console` without a terminal refuses at once (exit 2, one line) instead of drawing into a file or pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path


def run_console(config_path: Path, stdin: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "console", "--config", str(config_path)],
                          stdin=stdin, capture_output=True, text=True, timeout=30,
                          env={**os.environ, "TERM": "xterm-256color"})


def test_refuses_without_a_terminal(config_path: Path) -> None:
    # the reported case: `flagdeck console < /dev/null > out`
    done = run_console(config_path, subprocess.DEVNULL)
    assert done.returncode == 2, done
    assert done.stderr == "flagdeck console needs a terminal (standard input and output are not terminals)\n"
    assert done.stdout == ""
    # a terminal to read from is not enough when the output goes to a pipe
    leader, follower = pty.openpty()
    try:
        done = run_console(config_path, follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2, done
    assert done.stderr == "flagdeck console needs a terminal (standard output is not a terminal)\n"
