"""One SSH connection: public-key authentication against the users file, the connection limits (in total and per
source address), the limit on failed keys, the session channels it may open, revocation while it is open, and
refusals of everything that is not the console (forwarding of ports and Unix sockets).

Refusals are logged once per connection and kind; repeats are counted and reported in the `logout` (or final
`refusal`) line, so that a client hammering a limit cannot flood the log."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import asyncssh

from app.ssh.users import User

if TYPE_CHECKING:
    from app.ssh.server import FlagdeckSSHServer


class SessionProcess(asyncssh.SSHServerProcess):  # type: ignore[type-arg]
    """asyncssh's process handler for one session channel, telling its connection when the channel closes."""

    def __init__(self, owner: Connection):
        super().__init__(owner.server.run_session, None, 0, False)
        self.owner = owner

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.owner.channel_closed(self)


class Connection(asyncssh.SSHServer):
    """Per-connection authentication and bookkeeping."""

    def __init__(self, server: FlagdeckSSHServer):
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.host = "?"
        self.login_name = ""
        self.user: User | None = None
        self.fingerprint: str | None = None
        self.key_blob = b""
        self.refused_keys: list[str] = []
        self.failures = 0
        self.started = time.monotonic()
        self.over_cap: dict[str, Any] | None = None
        self.channels: set[SessionProcess] = set()
        self.refused: dict[str, int] = {}
        self.revoked: str | None = None
        self._unused: asyncio.TimerHandle | None = None

    # -- connection lifetime ------------------------------------------------------------------------------------
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.host, self.address = str(peer[0]), f"{peer[0]}:{peer[1]}"
        settings = self.server.settings
        others = self.server.connections
        if len(others) >= settings.max_connections:
            self.over_cap = {"reason": "too many connections", "limit": settings.max_connections}
        elif sum(1 for c in others if c.host == self.host) >= settings.max_connections_per_address:
            self.over_cap = {"reason": "too many connections from address",
                             "limit": settings.max_connections_per_address}
        others.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._cancel_unused()
        log = self.server.log
        if self.user is not None:
            log.event(
                "logout",
                user=self.user.login,
                email=self.user.email,
                fingerprint=self.fingerprint,
                address=self.address,
                seconds=round(time.monotonic() - self.started, 3),
                refused=self.refused or None,
                error=str(exc) if exc else None,
            )
        elif self.over_cap is not None:
            log.limited("refusal", address=self.address, **self.over_cap)
        else:
            log.limited(
                "refusal",
                reason="unknown key" if self.refused_keys else "not authenticated",
                login_name=self.login_name[:64] or None,
                fingerprints=self.refused_keys or None,
                attempts=self.failures or None,
                address=self.address,
                error=str(exc) if exc else None,
            )

    def disconnect(self, code: int, reason: str) -> None:
        if self.conn is not None:
            self.conn.disconnect(code, reason)

    # -- authentication -----------------------------------------------------------------------------------------
    def begin_auth(self, username: str) -> bool:
        self.login_name = username
        if self.over_cap is not None:
            raise asyncssh.DisconnectError(
                asyncssh.DISC_TOO_MANY_CONNECTIONS, "too many connections, try again later"
            )
        self.server.reload_users()
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self.server.users.lookup(key)
        fingerprint = key.get_fingerprint()
        if user is None:
            self.failures += 1
            if fingerprint not in self.refused_keys and len(self.refused_keys) < 16:
                self.refused_keys.append(fingerprint)
            if self.failures >= self.server.settings.max_auth_tries:
                # instead of this key's failure reply, as OpenSSH's sshd does: the client waits for that reply, so
                # it reads the reason; replying first let it send its next key, and closing the socket with that
                # key unread reset the connection before the client read why (BrokenPipeError, ~1 run in 10)
                raise asyncssh.DisconnectError(
                    asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures"
                )
            return False
        # the last key accepted here is the one whose signature completes authentication
        self.user, self.fingerprint, self.key_blob = user, fingerprint, key.public_data
        return True

    def auth_completed(self) -> None:
        assert self.conn is not None and self.user is not None
        self.server.log.event(
            "login",
            user=self.user.login,
            email=self.user.email,
            fingerprint=self.fingerprint,
            address=self.address,
            login_name=self.login_name[:64],
            roles=self.user.roles,
        )
        self._arm_unused()

    # -- session channels ---------------------------------------------------------------------------------------
    def session_requested(self) -> SessionProcess:
        limit = self.server.settings.max_sessions_per_connection
        if self.revoked is not None:
            self.refuse("access changed")
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "access changed")
        if len(self.channels) >= limit:
            self.refuse("too many sessions on connection", limit=limit)
            raise asyncssh.ChannelOpenError(
                asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, f"at most {limit} sessions per connection"
            )
        process = SessionProcess(self)
        self.channels.add(process)
        return process

    def channel_closed(self, process: SessionProcess) -> None:
        self.channels.discard(process)
        if not self.channels and self.revoked is not None:
            self.disconnect(asyncssh.DISC_BY_APPLICATION, "access changed")

    def console_started(self) -> None:
        self._cancel_unused()

    def console_ended(self) -> None:
        if not self.server.consoles_of(self):
            self._arm_unused()

    def _arm_unused(self) -> None:
        """An authenticated connection without a console running is closed after the login timeout: it holds a
        slot and uses nothing the service offers (`ssh -N`, channels opened and left without a request)."""
        self._cancel_unused()
        self._unused = asyncio.get_running_loop().call_later(self.server.settings.login_timeout, self._unused_expired)

    def _cancel_unused(self) -> None:
        if self._unused is not None:
            self._unused.cancel()
            self._unused = None

    def _unused_expired(self) -> None:
        self._unused = None
        if not self.server.consoles_of(self):
            self.refuse("no console", seconds=self.server.settings.login_timeout)
            self.disconnect(asyncssh.DISC_BY_APPLICATION, "no console opened")

    def revoke(self, why: str) -> None:
        """The users file no longer lets this key in as it logged in: end its consoles (each tells the person why)
        and the connection with them."""
        if self.revoked is not None or self.user is None:
            return
        self.revoked = why
        consoles = self.server.consoles_of(self)
        self.server.log.event(
            "revoked",
            user=self.user.login,
            email=self.user.email,
            fingerprint=self.fingerprint,
            address=self.address,
            reason=why,
            sessions=len(consoles),
        )
        for console in consoles:
            console.stop("revoked")
        if not self.channels:
            self.disconnect(asyncssh.DISC_BY_APPLICATION, "access changed")

    # -- refusals -----------------------------------------------------------------------------------------------
    def refuse(self, reason: str, **fields: Any) -> None:
        """Log a refusal: the first of its kind on this connection; later ones are counted for the logout line."""
        self.refused[reason] = self.refused.get(reason, 0) + 1
        if self.refused[reason] > 1:
            return
        self.server.log.limited(
            "refusal",
            reason=reason,
            user=self.user.login if self.user else None,
            fingerprint=self.fingerprint,
            address=self.address,
            **fields,
        )

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self.refuse("port forwarding (remote)", detail=f"{listen_host}:{listen_port}"[:200])
        return False

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        self.refuse("port forwarding (local)", detail=f"{dest_host}:{dest_port}"[:200])
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.refuse("unix socket forwarding", detail=dest_path[:200])
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        self.refuse("unix socket forwarding", detail=listen_path[:200])
        return False
