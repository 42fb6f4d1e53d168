"""One session channel: the console for the authenticated person, or a refusal said on the channel and logged.

A console runs only for an interactive shell request with a terminal, and only while the person has fewer than
`max_consoles_per_user` consoles and the server fewer than `max_consoles`. It gets a minimal environment: the
identity and roles from the users file, `FLAGDECK_REMOTE=ssh` (the console then writes no files on the server
outside its state), a state directory of its own person under the server's state directory (and the cache of
validated configurations in the server's, `gitstore.config_cache`), and the write end of
the pipe on which it reports the commits it makes (see `app.ssh.report`): those, and only those, are logged as
that person's commits."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncssh

from app.ssh.pty_session import PtySession, SessionSpec
from app.ssh.report import REPORT_FD_ENV, CommitReport, read_reports
from app.ssh.users import User

if TYPE_CHECKING:
    from app.ssh.connection import Connection
    from app.ssh.server import FlagdeckSSHServer

REPORT_DRAIN = 2.0  # seconds to read the last commit reports after the console ended
CLOSED = {
    "idle": "session closed after being idle",
    "revoked": "session closed: your access was changed ({why}); reconnect if you still may",
}


@dataclass(eq=False)
class Console:
    """A console running (or starting) for a person; counted against the limits from before it starts."""

    connection: Connection
    user: User
    pid: int | None = None
    pty: PtySession | None = field(default=None, repr=False)
    stopped: str | None = None

    def stop(self, reason: str) -> None:
        self.stopped = reason
        if self.pty is not None:
            self.pty.stop(reason)


def person_state_dir(base: Path, user: User) -> Path:
    """Where this person's consoles keep their state (recent evaluation contexts): mode 0700, per person."""
    path = base / "people" / user.login  # logins are checked to be plain names (no '/', no leading '.')
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def child_env(server: FlagdeckSSHServer, process: asyncssh.SSHServerProcess, user: User,  # type: ignore[type-arg]
              report_fd: int) -> dict[str, str]:
    settings = server.settings
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        "LANG": "C.UTF-8",
        "TERM": process.get_terminal_type() or "xterm-256color",
        "COLORTERM": settings.colorterm,
        "FLAGDECK_USER": user.author,
        "FLAGDECK_ROLES": user.roles_json(),
        "FLAGDECK_REMOTE": "ssh",
        "FLAGDECK_STATE_DIR": str(person_state_dir(settings.state_dir, user)),
        "FLAGDECK_CONFIG_CACHE": str(settings.state_dir / "config-cache"),  # the server's, not its home's ~/.cache
        REPORT_FD_ENV: str(report_fd),
    }
    if settings.config is not None:
        env["FLAGDECK_CONFIG"] = str(settings.config)
    return env


def refusal_of(server: FlagdeckSSHServer, conn: Connection,
               process: asyncssh.SSHServerProcess) -> tuple[str, str, dict[str, int]] | None:  # type: ignore[type-arg]
    """(log reason, what the client is told, fields) when this session gets no console; None when it does."""
    s, user = server.settings, conn.user
    assert user is not None
    if process.subsystem:
        return ("subsystem", f"subsystem {process.subsystem[:64]!r} is not offered; this service is the Flagdeck "
                "console only", {})
    if process.command is not None:
        return "exec", "commands are not accepted; this service is the Flagdeck console only (use ssh -t)", {}
    if process.get_terminal_type() is None:
        return "no terminal", "this service needs a terminal: use ssh -t", {}
    if conn.revoked is not None:
        return "access changed", "your access was changed; reconnect if you still may", {}
    mine = sum(1 for c in server.consoles if c.user.login == user.login)
    if mine >= s.max_consoles_per_user:
        return ("too many consoles for user", f"you have {mine} consoles open, the most allowed; close one and "
                "try again", {"limit": s.max_consoles_per_user})
    if len(server.consoles) >= s.max_consoles:
        return "too many consoles", "the server is at its limit of consoles; try again later", {"limit": s.max_consoles}
    return None


async def run_session(server: FlagdeckSSHServer, process: asyncssh.SSHServerProcess) -> None:  # type: ignore[type-arg]
    from app.ssh.connection import SessionProcess

    assert isinstance(process, SessionProcess)
    conn = process.owner
    assert conn.user is not None and conn.fingerprint is not None
    who = {"user": conn.user.login, "fingerprint": conn.fingerprint, "address": conn.address}
    refusal = refusal_of(server, conn, process)
    if refusal is not None:
        reason, told, fields = refusal
        conn.refuse(reason, **fields)
        process.stderr.write(f"flagdeck: {told}\r\n".encode())
        process.exit(1)
        return
    console = Console(conn, conn.user)
    server.consoles.add(console)  # counted from now: no await between the check above and this line
    conn.console_started()
    read_end, write_end = os.pipe()
    reports: asyncio.Task[None] | None = None
    try:
        try:
            env = child_env(server, process, conn.user, write_end)
        except OSError as exc:
            return _failed(server, process, who, exc)

        def started(pid: int) -> None:
            nonlocal write_end
            console.pid = pid
            os.close(write_end)  # the console holds the only write end now: its exit ends the reports
            write_end = -1
            server.log.event("session_start", pid=pid, **who)

        def commit(report: CommitReport) -> None:
            server.log.event("commit", email=conn.user.email if conn.user else None, environment=report.environment,
                             commit=report.commit, summary=report.summary, pid=console.pid, **who)

        pipe = os.fdopen(read_end, "rb", buffering=0)  # owns the read end from here
        read_end = -1
        reports = asyncio.create_task(read_reports(pipe, commit))
        spec = SessionSpec(command=server.settings.command(), env=env, idle_timeout=server.settings.idle_timeout or None,
                           on_start=started, pass_fds=(write_end,))
        console.pty = PtySession(process, spec)
        if console.stopped is not None:
            console.pty.stop(console.stopped)
        try:
            result = await console.pty.run()
        except OSError as exc:
            return _failed(server, process, who, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reports), REPORT_DRAIN)
    finally:
        server.consoles.discard(console)
        conn.console_ended()
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
        if reports is not None and not reports.done():
            reports.cancel()
    server.log.event("session_end", pid=console.pid, rc=result.returncode, reason=result.reason, **who)
    if result.reason in CLOSED:
        process.stderr.write(f"\r\nflagdeck: {CLOSED[result.reason].format(why=conn.revoked)}\r\n".encode())
    rc = result.returncode
    process.exit(1 if result.reason == "revoked" else rc if rc >= 0 else 128 - rc)


def _failed(server: FlagdeckSSHServer, process: asyncssh.SSHServerProcess,  # type: ignore[type-arg]
            who: dict[str, str], exc: OSError) -> None:
    server.log.event("error", reason="console could not start", message=str(exc), **who)
    process.stderr.write(b"flagdeck: the console could not be started\r\n")
    process.exit(1)
