"""Fixtures for the SSH tests: keys in tmp_path, a users file, and a `flagdeck ssh-server` on an ephemeral port."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import app.ssh.users  # noqa: F401 - app.ssh silences asyncssh's DSA warnings before asyncssh is first imported

from .helpers import FAKE_CONSOLE, ServerProcess, Tmux, make_key, write_users

if not (shutil.which("tmux") and Path("/usr/bin/ssh").exists() and shutil.which("ssh-keygen")):
    pytest.skip("the SSH tests need OpenSSH (ssh, ssh-keygen) and tmux", allow_module_level=True)


class Team:
    """Three people with keys: alice (editor everywhere), bob (viewer everywhere), carol (editor); and eve, whose
    key is in nobody's entry."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.keys: dict[str, Path] = {}
        self.public: dict[str, str] = {}
        for name in ("alice", "bob", "carol", "eve"):
            self.keys[name], self.public[name] = make_key(directory, name)
        self.users_file = directory / "users.yaml"
        self.write()

    def write(self, roles: dict[str, dict[str, str]] | None = None) -> None:
        roles = roles or {"alice": {"*": "editor"}, "bob": {"*": "viewer"}, "carol": {"*": "editor"}}
        write_users(
            self.users_file,
            {
                name: {
                    "name": name.title() + " Test",
                    "email": f"{name}@example.com",
                    "keys": [self.public[name]],
                    "roles": role,
                }
                for name, role in roles.items()
            },
        )


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return Team(tmp_path)


@pytest.fixture
def start_server(tmp_path: Path, team: Team) -> Iterator[Callable[..., ServerProcess]]:
    servers: list[ServerProcess] = []

    def start(*args: str, fake_console: bool = True, config: Path | None = None,
              env: dict[str, str] | None = None) -> ServerProcess:
        argv = ["--state-dir", str(tmp_path / "state"), "--host-key", str(tmp_path / "hostkey" / "ed25519"),
                "--users", str(team.users_file), *args]
        if fake_console:
            argv += ["--console-command", f"{sys.executable} {FAKE_CONSOLE}"]
        if config is not None:
            argv += ["--config", str(config)]
        server = ServerProcess(argv, cwd=tmp_path, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def tmux() -> Iterator[Callable[..., Tmux]]:
    sessions: list[Tmux] = []

    def open_(command: list[str], width: int = 100, height: int = 30) -> Tmux:
        session = Tmux(command, width, height)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.kill()
