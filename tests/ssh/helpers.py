"""Real peers for the SSH tests: the `flagdeck ssh-server` process, OpenSSH keys and clients, and a private tmux
server to give the `ssh` client a terminal whose screen can be read as text."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

SSH = "/usr/bin/ssh"
ROOT = Path(__file__).resolve().parents[2]
FAKE_CONSOLE = Path(__file__).with_name("fake_console.py")


def make_key(directory: Path, name: str) -> tuple[Path, str]:
    """A fresh ed25519 key pair made by ssh-keygen: (private key path, public key line)."""
    path = directory / f"id_{name}"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{name}@test", "-f", str(path)], check=True
    )
    return path, path.with_suffix(".pub").read_text().strip()


def write_users(path: Path, users: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"users": users}, sort_keys=False))
    return path


def ssh_command(key: Path, port: int, *extra: str, user: str = "someone") -> list[str]:
    return [
        SSH,
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(key),
        "-p",
        str(port),
        *extra,
        f"{user}@127.0.0.1",
    ]


class ServerProcess:
    """`python -m app.cli ssh-server --port 0 ...` with its JSON log lines collected as they arrive."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "ssh-server", "--port", "0", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        started = self.wait_event(lambda e: e["event"] == "server_start", timeout=15)
        self.port: int = started["port"]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = {"event": "unparsed", "line": line}
            with self._cond:
                self.events.append(record)
                self._cond.notify_all()

    def wait_event(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for record in self.events:
                    if match(record):
                        return record
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
                    raise AssertionError(f"no matching log line; got {self.events!r} {err}")
                self._cond.wait(min(left, 0.2))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def finish(self) -> str:
        """Stop the server and wait until every line it wrote has been read; its standard error."""
        self.stop()
        self._reader.join(5)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


class Tmux:
    """A private tmux server (its own socket name) holding one session; always `kill()` it."""

    def __init__(self, command: list[str], width: int = 100, height: int = 30):
        self.socket = f"fd-ssh-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # The command's exit status is written by a shell around it: tmux sometimes leaves the exited client a
        # zombie it never reaps (seen under pytest-xdist), and then never records #{pane_dead_status}.
        self.status_file = Path(tempfile.gettempdir()) / f"{self.socket}.status"
        command = ["sh", "-c", f'"$@"; echo $? > {self.status_file}', "sh", *command]
        env = ["-e", "TEXTUAL_ANIMATIONS=none"]
        self.run(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            str(width),
            "-y",
            str(height),
            *env,
            shlex.join(command),
        )
        self.run("set-option", "-t", "t", "remain-on-exit", "on")

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise AssertionError(f"tmux {args}: {done.stderr}")
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for(self, text: str, timeout: float = 10, gone: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if (text not in screen) if gone else (text in screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{'still' if gone else 'never'} saw {text!r}; screen:\n{screen}")
            time.sleep(0.05)

    def wait_screen(self, check: Callable[[list[str]], bool], what: str, timeout: float = 10) -> list[str]:
        """Poll until `check(lines of the screen)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen().splitlines()
            if check(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {what}; screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def dead(self) -> tuple[bool, int | None]:
        out = self.run("display-message", "-p", "-t", "t", "#{pane_dead} #{pane_dead_status}").split()
        return out[0] == "1", int(out[1]) if len(out) > 1 and out[1] else None

    def wait_dead(self, timeout: float = 10) -> int | None:
        """Wait for the client to exit; its exit status (None when a signal ended it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status_file.exists() and (text := self.status_file.read_text().strip()):
                status = int(text)
                return None if status > 128 else status
            dead, _ = self.dead()
            if dead and time.monotonic() > deadline - timeout / 2:
                return None  # the shell itself was killed
            time.sleep(0.05)
        raise AssertionError(f"client still running; screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        self.status_file.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is as good as gone for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, timeout: float = 8) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still running")
        time.sleep(0.05)


def events_of(kind: str, server: ServerProcess) -> list[dict[str, Any]]:
    return [e for e in list(server.events) if e["event"] == kind]
