"""`flagdeck ssh-server`: the console served over SSH (asyncssh), one console process per connection.

Public-key authentication only: the key, looked up in the users file, decides who the person is (the SSH user name
is ignored) and what they may do. Everything that is not the interactive console is refused: exec requests,
subsystems (sftp), port and agent forwarding, X11."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from app.ssh.audit import AuditLog
from app.ssh.commits import CommitWatcher, SeenCommit
from app.ssh.connection import Connection
from app.ssh.hostkey import load_or_create_host_key
from app.ssh.pty_session import PtySession, SessionSpec
from app.ssh.users import User, UserDirectory

# seconds a closed session still claims commits by its person (the store's watcher polls every ~50 ms)
ENDED_GRACE = 30.0


def default_console_command(config: Path | None) -> list[str]:
    command = [sys.executable, "-m", "app.cli", "console"]
    return command + ["--config", str(config)] if config is not None else command


@dataclass
class SSHSettings:
    host_key: Path
    users: Path
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = 2222
    max_connections: int = 32
    login_timeout: float = 30.0
    idle_timeout: float = 1800.0
    keepalive_interval: float = 30.0
    keepalive_count_max: int = 3
    colorterm: str = "truecolor"
    console_command: list[str] | None = None  # None: `python -m app.cli console [--config F]`

    def command(self) -> list[str]:
        return self.console_command or default_console_command(self.config)


@dataclass
class LiveSession:
    """A console running for an authenticated person (for commit attribution and the logs)."""

    user: User
    fingerprint: str
    address: str


class FlagdeckSSHServer:
    def __init__(self, settings: SSHSettings, log: AuditLog | None = None):
        self.settings = settings
        self.log = log or AuditLog()
        self.users = UserDirectory(settings.users)
        self.host_key = load_or_create_host_key(settings.host_key)
        self.connections: set[Connection] = set()
        self.sessions: dict[int, LiveSession] = {}
        self._ended: deque[tuple[float, LiveSession]] = deque(maxlen=64)  # for commits seen just after a quit
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._store: Any = None
        self._watcher: CommitWatcher | None = None
        self._reported: deque[tuple[str, str]] = deque(maxlen=256)

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
            process_factory=self._handle_process,
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
        await self._watch_commits()
        self.log.event(
            "server_start",
            host=s.host,
            port=self.port,
            host_key=self.host_key.get_fingerprint(),
            users=len(self.users),
            max_connections=s.max_connections,
            pid=os.getpid(),
        )

    async def close(self, grace: float = 5.0) -> None:
        """Stop listening, end every connection (their consoles get SIGHUP, then SIGKILL) and stop watching."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        for connection in list(self.connections):
            if connection.conn is not None:
                connection.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.sessions and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self._watcher is not None:
            self._watcher.close()
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
        self.log.event("server_stop", sessions_left=len(self.sessions))

    async def _watch_commits(self) -> None:
        """Log a `commit` line for each commit authored by a connected person (needs the Flagdeck config)."""
        if self.settings.config is None:
            return
        try:
            from gitstore.config import open_store

            self._store = await asyncio.to_thread(open_store, self.settings.config)
            self._watcher = await asyncio.to_thread(
                CommitWatcher, self._store, asyncio.get_running_loop(), self._report_commit
            )
            self.log.event("watching", environments=sorted(self._watcher.paths))
        except Exception as exc:  # the console still works; only commit lines are missing
            self.log.event(
                "error", reason="commit watching unavailable", message=f"{type(exc).__name__}: {exc}"
            )

    def _report_commit(self, seen: SeenCommit) -> None:
        if (seen.commit, seen.environment) in self._reported:
            return
        self._reported.append((seen.commit, seen.environment))
        email = seen.author_email.lower()
        recent = time.monotonic() - ENDED_GRACE
        candidates = list(self.sessions.values()) + [
            s for ended, s in reversed(self._ended) if ended >= recent
        ]
        for session in candidates:
            if session.user.email.lower() == email:
                self.log.event(
                    "commit",
                    user=session.user.login,
                    email=session.user.email,
                    fingerprint=session.fingerprint,
                    address=session.address,
                    environment=seen.environment,
                    commit=seen.commit,
                    summary=seen.summary,
                )
                return

    def child_env(self, process: asyncssh.SSHServerProcess, user: User) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/"),
            "LANG": "C.UTF-8",
            "TERM": process.get_terminal_type() or "xterm-256color",
            "COLORTERM": self.settings.colorterm,
            "FLAGDECK_USER": user.author,
            "FLAGDECK_ROLES": user.roles_json(),
        }
        if self.settings.config is not None:
            env["FLAGDECK_CONFIG"] = str(self.settings.config)
        return env

    async def _handle_process(self, process: asyncssh.SSHServerProcess) -> None:
        conn: Connection = process.get_extra_info("flagdeck_connection")
        assert conn.user is not None and conn.fingerprint is not None
        who = {"user": conn.user.login, "fingerprint": conn.fingerprint, "address": conn.address}
        kind = refusal = None
        if process.subsystem:
            kind = "subsystem"
            refusal = (
                f"subsystem {process.subsystem!r} is not offered; this service is the Flagdeck console only"
            )
        elif process.command is not None:
            kind = "exec"
            refusal = "commands are not accepted; this service is the Flagdeck console only (use ssh -t)"
        elif process.get_terminal_type() is None:
            kind = "no terminal"
            refusal = "this service needs a terminal: use ssh -t"
        if refusal is not None:
            self.log.event("refusal", reason=kind, **who)
            process.stderr.write(f"flagdeck: {refusal}\r\n".encode())
            process.exit(1)
            return
        user, pids = conn.user, []

        def started(pid: int) -> None:
            pids.append(pid)
            self.sessions[pid] = LiveSession(user, conn.fingerprint or "", conn.address)
            self.log.event("session_start", pid=pid, **who)

        spec = SessionSpec(
            command=self.settings.command(),
            env=self.child_env(process, user),
            idle_timeout=self.settings.idle_timeout or None,
            on_start=started,
        )
        try:
            result = await PtySession(process, spec).run()
        except OSError as exc:
            self.log.event("error", reason="console could not start", message=str(exc), **who)
            process.stderr.write(b"flagdeck: the console could not be started\r\n")
            process.exit(1)
            return
        finally:
            for pid in pids:
                ended = self.sessions.pop(pid, None)
                if ended is not None:
                    self._ended.append((time.monotonic(), ended))
        self.log.event(
            "session_end", pid=pids[0] if pids else None, rc=result.returncode, reason=result.reason, **who
        )
        if result.reason == "idle":
            process.stderr.write(b"\r\nflagdeck: session closed after being idle\r\n")
        rc = result.returncode
        process.exit(rc if rc >= 0 else 128 - rc)


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
