"""Real peers for the SSH tests: the `flagdeck ssh-server` process, OpenSSH keys and clients, and a private tmux
server (`tmux_terminal.Tmux`) to give the `ssh` client a terminal whose screen can be read as text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tmux_terminal import Tmux as Tmux  # re-exported: the SSH tests take it from here

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
