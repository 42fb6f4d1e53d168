"""A real terminal for end-to-end tests: a private tmux server (its own socket name) running one command in one
window of a known size, whose screen is read as text and to which keys are sent as a person types them. Used by
the SSH tests (the `ssh` client), `make run`'s test and the console journeys; always `kill()` it."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path


class Tmux:
    def __init__(self, command: list[str], width: int = 100, height: int = 30, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.socket = f"fd-tmux-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # The command's exit status is written by a shell around it: tmux sometimes leaves the exited client a
        # zombie it never reaps (seen under pytest-xdist), and then never records #{pane_dead_status}.
        self.status_file = Path(tempfile.gettempdir()) / f"{self.socket}.status"
        command = ["sh", "-c", f'"$@"; echo $? > {self.status_file}', "sh", *command]
        variables = {"TEXTUAL_ANIMATIONS": "none", **(env or {})}
        options = [arg for name, value in variables.items() for arg in ("-e", f"{name}={value}")]
        if cwd is not None:
            options += ["-c", str(cwd)]
        # With no client attached tmux sizes a window by `default-size` (80x24) at its next size check: the server
        # starts with ours, its only configuration (`window-size manual` in a configuration file crashes tmux
        # 3.3a's server).
        size = f"{width}x{height}"
        self.config = Path(tempfile.gettempdir()) / f"{self.socket}.conf"
        self.config.write_text(f"set-option -g default-size {size}\n")
        self.run("-f", str(self.config), "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                 *options, shlex.join(command))
        self.run("set-option", "-t", "t", "remain-on-exit", "on")
        assert self.window_size() == (width, height), f"tmux window is {self.window_size()}, not {size}"

    def run(self, *args: str) -> str:
        # Not COLUMNS and LINES: the server passes its environment on to the command, and a program asking
        # `shutil.get_terminal_size()` (Textual does) believes them over the terminal: pytest runs with 80 and 24
        # set, and a console in a 100x30 window drew 80x24 and never saw a resize.
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10,
                              env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")})
        if done.returncode != 0:
            raise AssertionError(f"tmux {args}: {done.stderr}")
        return done.stdout

    def window_size(self) -> tuple[int, int]:
        width, height = self.run("display-message", "-p", "-t", "t", "#{window_width} #{window_height}").split()
        return int(width), int(height)

    def cursor(self) -> tuple[int, int]:
        """Where the terminal's cursor is (column, row): Textual puts it in the focused text field, shown or not."""
        x, y = self.run("display-message", "-p", "-t", "t", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def state(self) -> str:
        """The window's size and the cursor's place, for a failure's message."""
        return self.run("display-message", "-p", "-t", "t", "window #{window_width}x#{window_height}, "
                        "cursor at #{cursor_x},#{cursor_y}").strip()

    def screen(self, styles: bool = False) -> str:
        """The screen as text (`styles`: with the escape sequences of its colours and attributes)."""
        return self.run("capture-pane", "-p", *(["-e"] if styles else []), "-t", "t")

    def wait_for(self, text: str, timeout: float = 10, gone: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if (text not in screen) if gone else (text in screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{'still' if gone else 'never'} saw {text!r}; {self.state()}; screen:\n{screen}")
            time.sleep(0.05)

    def wait_screen(self, check: Callable[[list[str]], bool], what: str, timeout: float = 10) -> list[str]:
        """Poll until `check(lines of the screen)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen().splitlines()
            if check(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {what}; {self.state()}; screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        """`text` typed as it is (no key names)."""
        self.keys(text, literal=True)

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def dead(self) -> tuple[bool, int | None]:
        out = self.run("display-message", "-p", "-t", "t", "#{pane_dead} #{pane_dead_status}").split()
        return out[0] == "1", int(out[1]) if len(out) > 1 and out[1] else None

    def wait_dead(self, timeout: float = 10) -> int | None:
        """Wait for the command to exit; its exit status (None when a signal ended it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_file.exists() and (text := self.status_file.read_text().strip()):
                status = int(text)
                return None if status > 128 else status
            dead, _ = self.dead()
            if dead and time.monotonic() > deadline - timeout / 2:
                return None  # the shell itself was killed
            time.sleep(0.05)
        raise AssertionError(f"still running; screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        self.status_file.unlink(missing_ok=True)
        self.config.unlink(missing_ok=True)
