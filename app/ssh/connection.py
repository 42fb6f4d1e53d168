"""One SSH connection: public-key authentication against the users file, the connection cap, and refusals of
everything that is not the console (forwarding of ports and Unix sockets). Logs login, refusal and logout."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import asyncssh

from app.ssh.users import User

if TYPE_CHECKING:
    from app.ssh.server import FlagdeckSSHServer


class Connection(asyncssh.SSHServer):
    """Per-connection authentication and bookkeeping."""

    def __init__(self, server: FlagdeckSSHServer):
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.address = "?"
        self.login_name = ""
        self.user: User | None = None
        self.fingerprint: str | None = None
        self.refused_keys: list[str] = []
        self.started = time.monotonic()
        self.over_cap = False

    # -- connection lifetime ------------------------------------------------------------------------------------
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.address = f"{peer[0]}:{peer[1]}"
        self.server.connections.add(self)
        if len(self.server.connections) > self.server.settings.max_connections:
            self.over_cap = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        log = self.server.log
        if self.user is not None:
            log.event(
                "logout",
                user=self.user.login,
                email=self.user.email,
                fingerprint=self.fingerprint,
                address=self.address,
                seconds=round(time.monotonic() - self.started, 3),
                error=str(exc) if exc else None,
            )
        elif self.over_cap:
            log.event(
                "refusal",
                reason="too many connections",
                address=self.address,
                limit=self.server.settings.max_connections,
            )
        else:
            log.event(
                "refusal",
                reason="not authenticated" if not self.refused_keys else "unknown key",
                login_name=self.login_name or None,
                fingerprints=self.refused_keys or None,
                address=self.address,
                error=str(exc) if exc else None,
            )

    # -- authentication -----------------------------------------------------------------------------------------
    def begin_auth(self, username: str) -> bool:
        self.login_name = username
        if self.over_cap:
            raise asyncssh.DisconnectError(
                asyncssh.DISC_TOO_MANY_CONNECTIONS, "too many connections, try again later"
            )
        problem = self.server.users.refresh()
        if problem is not None:
            self.server.log.event(
                "error", reason="users file not reloaded; previous version in force", message=problem
            )
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self.server.users.lookup(key)
        fingerprint = key.get_fingerprint()
        if user is None:
            if fingerprint not in self.refused_keys:
                self.refused_keys.append(fingerprint)
            return False
        # the last key accepted here is the one whose signature completes authentication
        self.user, self.fingerprint = user, fingerprint
        return True

    def auth_completed(self) -> None:
        assert self.conn is not None and self.user is not None
        self.conn.set_extra_info(flagdeck_connection=self)
        self.server.log.event(
            "login",
            user=self.user.login,
            email=self.user.email,
            fingerprint=self.fingerprint,
            address=self.address,
            login_name=self.login_name,
            roles=self.user.roles,
        )

    # -- everything that is not the console ---------------------------------------------------------------------
    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self._refuse("port forwarding (remote)", f"{listen_host}:{listen_port}")
        return False

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        self._refuse("port forwarding (local)", f"{dest_host}:{dest_port}")
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self._refuse("unix socket forwarding", dest_path)
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        self._refuse("unix socket forwarding", listen_path)
        return False

    def _refuse(self, reason: str, detail: str) -> None:
        self.server.log.event(
            "refusal",
            reason=reason,
            detail=detail,
            user=self.user.login if self.user else None,
            fingerprint=self.fingerprint,
            address=self.address,
        )
