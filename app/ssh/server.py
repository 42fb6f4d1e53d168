"""`flagdeck ssh-server`: the console served over SSH (asyncssh), one console process per session.

Public-key authentication only: the key, looked up in the users file, decides who the person is (the SSH user name
is ignored) and what they may do. Everything that is not the interactive console is refused: exec requests,
subsystems (sftp), port and agent forwarding, X11. Limits bound what one client can take: connections (in total and
per address), failed keys per connection, session channels per connection, consoles per person and in total.
The users file is read again every second: a person whose key is gone, or whose role went down, loses their open
sessions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from app.ssh.audit import AuditLog
from app.ssh.connection import Connection
from app.ssh.hostkey import load_or_create_host_key
from app.ssh.session import Console, run_session
from app.ssh.users import UserDirectory, still_allowed

SETTLE = 0.3  # seconds: a users-file version that ends sessions must still be there this much later


def default_console_command(config: Path | None) -> list[str]:
    command = [sys.executable, "-m", "app.cli", "console"]
    return command + ["--config", str(config)] if config is not None else command


@dataclass
class SSHSettings:
    state_dir: Path
    host_key: Path
    users: Path
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = 2222
    max_connections: int = 32
    max_connections_per_address: int = 8
    max_auth_tries: int = 6
    max_sessions_per_connection: int = 2
    max_consoles_per_user: int = 3
    max_consoles: int = 16
    login_timeout: float = 30.0
    idle_timeout: float = 1800.0
    users_poll: float = 1.0
    keepalive_interval: float = 30.0
    keepalive_count_max: int = 3
    colorterm: str = "truecolor"
    console_command: list[str] | None = None  # None: `python -m app.cli console [--config F]`

    def command(self) -> list[str]:
        return self.console_command or default_console_command(self.config)


class FlagdeckSSHServer:
    def __init__(self, settings: SSHSettings, log: AuditLog | None = None):
        self.settings = settings
        self.log = log or AuditLog()
        settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.users = UserDirectory(settings.users)
        self.host_key = load_or_create_host_key(settings.host_key)
        self.connections: set[Connection] = set()
        self.consoles: set[Console] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._poller: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self._acceptor is not None, "server not started"
        return self._acceptor.get_port()

    async def start(self) -> None:
        s = self.settings
        self._acceptor = await asyncssh.create_server(
            lambda: Connection(self),
            s.host,
            s.port,
            config=None,
            server_host_keys=[self.host_key],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            password_auth=False,
            kbdint_auth=False,
            host_based_auth=False,
            gss_auth=False,
            gss_kex=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            login_timeout=s.login_timeout,
            keepalive_interval=s.keepalive_interval,
            keepalive_count_max=s.keepalive_count_max,
            server_version="Flagdeck",
        )
        self._poller = asyncio.create_task(self._poll_users())
        self.log.event(
            "server_start",
            host=s.host,
            port=self.port,
            host_key=self.host_key.get_fingerprint(),
            users=len(self.users),
            config=str(s.config) if s.config else None,
            limits={
                "connections": s.max_connections,
                "connections_per_address": s.max_connections_per_address,
                "auth_tries": s.max_auth_tries,
                "sessions_per_connection": s.max_sessions_per_connection,
                "consoles_per_user": s.max_consoles_per_user,
                "consoles": s.max_consoles,
            },
            pid=os.getpid(),
        )

    async def close(self, grace: float = 5.0) -> None:
        """Stop listening, end every connection (their consoles get SIGHUP, then SIGKILL)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        for connection in list(self.connections):
            connection.disconnect(asyncssh.DISC_BY_APPLICATION, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.consoles and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.log.flush()
        self.log.event("server_stop", sessions_left=len(self.consoles))

    # -- the users file -----------------------------------------------------------------------------------------
    def reload_users(self) -> None:
        problem = self.users.refresh()
        if problem is not None:
            self.log.event("error", reason="users file", message=problem)

    def _revocations(self) -> list[tuple[Connection, str]]:
        found = []
        for connection in self.connections:
            if connection.user is None or connection.revoked is not None:
                continue
            why = still_allowed(connection.user, self.users.lookup_blob(connection.key_blob))
            if why is not None:
                found.append((connection, why))
        return found

    async def _poll_users(self) -> None:
        """Every `users_poll` seconds: take a changed users file and end the sessions it no longer allows. A version
        that would end sessions is acted on only if it is still there `SETTLE` seconds later (an editor that
        truncates before writing shows an empty file for a moment)."""
        while True:
            await asyncio.sleep(self.settings.users_poll)
            self.reload_users()
            if self._revocations():
                await asyncio.sleep(SETTLE)
                self.reload_users()
                for connection, why in self._revocations():
                    connection.revoke(why)
            self.log.flush()

    # -- consoles -----------------------------------------------------------------------------------------------
    def consoles_of(self, connection: Connection) -> list[Console]:
        return [c for c in self.consoles if c.connection is connection]

    async def run_session(self, process: asyncssh.SSHServerProcess) -> None:  # type: ignore[type-arg]
        await run_session(self, process)


async def serve(settings: SSHSettings, log: AuditLog | None = None) -> None:
    """Run the server until SIGINT or SIGTERM (or cancellation), then shut it down cleanly."""
    server = FlagdeckSSHServer(settings, log)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.close()
