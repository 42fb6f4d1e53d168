"""An ssh remote: a real SSH server (asyncssh on 127.0.0.1, an ephemeral port) running git-upload-pack and
git-receive-pack, reached through libgit2's ssh transport with the key named in flagdeck.yaml."""

from __future__ import annotations

import asyncio
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pygit2
import pytest

from gitstore.config import load_config
from gitstore.store import Store

from .conftest import ALICE, put_flag, write_config


class GitOverSSH:
    def __init__(self, base: Path):
        self.base = base
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.server: asyncssh.SSHAcceptor | None = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncssh.create_server(
            self._server, "127.0.0.1", 0, server_host_keys=[self.host_key], process_factory=self._handle,
            encoding=None))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    def _server(self) -> asyncssh.SSHServer:
        key = self.client_key

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, offered: asyncssh.SSHKey) -> bool:
                return offered.public_data == key.public_data

        return Server()

    async def _handle(self, process: asyncssh.SSHServerProcess) -> None:
        argv = shlex.split(process.command or "")
        if len(argv) != 2 or argv[0] not in ("git-upload-pack", "git-receive-pack"):
            process.exit(1)
            return
        sub = await asyncio.create_subprocess_exec(
            argv[0], str(self.base / argv[1].lstrip("/")), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await process.redirect(stdin=sub.stdin, stdout=sub.stdout, stderr=sub.stderr)
        process.exit(await sub.wait())

    def close(self) -> None:
        async def stop() -> None:
            assert self.server is not None
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def ssh_git(tmp_path: Path) -> Iterator[GitOverSSH]:
    pygit2.init_repository(str(tmp_path / "served" / "flags.git"), bare=True, initial_head="main")
    server = GitOverSSH(tmp_path / "served")
    yield server
    server.close()


def config_for(root: Path, port: int, key: asyncssh.SSHKey) -> Path:
    root.mkdir(parents=True)
    (root / "id").write_bytes(key.export_private_key("openssh"))
    (root / "id").chmod(0o600)
    return write_config(root, f"storage:\n  s:\n    path: repo\n    remote: ssh://git@127.0.0.1:{port}/flags.git\n"
                              "    credentials: {ssh_key: id, insecure_ignore_host_key: true}\n"
                              "environments: {live: {}}\n")


def test_commits_travel_over_ssh_with_the_configured_key(tmp_path: Path, ssh_git: GitOverSSH) -> None:
    with Store(load_config(config_for(tmp_path / "a", ssh_git.port, ssh_git.client_key))) as a:
        result = a.commit("live", [put_flag("over-ssh", True)], ALICE)
        assert result.pushed and a.sync_state("live").reachable
    served = pygit2.Repository(str(tmp_path / "served" / "flags.git"))
    assert str(served.references["refs/heads/main"].target) == result.commit
    with Store(load_config(config_for(tmp_path / "b", ssh_git.port, ssh_git.client_key))) as b:
        assert b.snapshot("live").document("default").flag("over-ssh").enabled


def test_a_refused_key_is_reported_not_retried_forever(tmp_path: Path, ssh_git: GitOverSSH) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with Store(load_config(config_for(tmp_path / "c", ssh_git.port, stranger))) as store:
        state = store.sync_state("live")
        assert state.reachable is False and state.last_error
        result = store.commit("live", [put_flag("local-only")], ALICE)  # keeps working locally
        assert result.pushed is False and store.sync_state("live").ahead == 2
