"""Listening sockets with the evaluator's own accept loop: a connection cap, no log flood at the file-descriptor
limit, and the file-descriptor limit raised at start.

asyncio's accept loop (Python 3.11) logs a traceback for every failed `accept()` when the process is out of file
descriptors (up to 100 per readiness event) and schedules as many retries, so a process at its limit wrote megabytes
of log and did not recover. Here:
- beyond `max_connections` open connections (per process) a new one is answered 503 in Flipt's JSON shape with
  `Retry-After: 1` and closed at once, so the process keeps descriptors for its repositories and never reaches the
  limit through connections; the cap is lowered to what the descriptor limit allows (`connection_budget`);
- should `accept()` still fail for want of descriptors or memory, accepting pauses for `ACCEPT_RETRY` seconds and
  resumes by itself (so the server recovers when load drops); such errors and the 503s are logged at most once a
  minute (`Throttled`), with the count of those not logged.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import socket
import ssl
import time
from typing import Any

from aiohttp import web
from yarl import URL

from evaluator.server.connection import raw_answer
from evaluator.server.errors import Code, error_body

log = logging.getLogger("flagdeck.evaluator")

ACCEPT_BATCH = 64  # connections accepted per readiness event
ACCEPT_RETRY = 0.5  # seconds without accepting after accept() failed for want of resources
RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
FD_CEILING = 1 << 20  # the soft limit is raised to the hard one, but not beyond this
BUSY = error_body(Code.UNAVAILABLE, "too many connections; retry shortly")
BUSY_FIELDS = "Content-Type: application/json\r\nRetry-After: 1\r\n"
LINGER = 1.0  # seconds a refused connection stays open for its client to read the 503
LINGERING = 64  # refused connections kept open at once, at most (per socket); beyond, they are closed at once


class Throttled:
    """A warning logged at most once per `interval` seconds; the next one says how many were not logged."""

    def __init__(self, interval: float = 60.0):
        self.interval = interval
        self._next = 0.0
        self._dropped = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now < self._next:
            self._dropped += 1
            return
        if self._dropped:
            message += f" ({self._dropped} more since the last such message)"
        self._dropped = 0
        self._next = now + self.interval
        log.warning(message, *args)


def raise_fd_limit() -> str:
    """Raise this process's soft limit on open files to its hard limit (at most FD_CEILING); the workers forked
    later inherit it. Returns what was done, for the log."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = FD_CEILING if hard == resource.RLIM_INFINITY else min(hard, FD_CEILING)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return f"open-file limit {soft} (the hard limit)"
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        return f"open-file limit {soft}: cannot raise it to {target}: {exc}"
    return f"open-file limit raised from {soft} to {target} (the hard limit)"


def open_fds() -> int:
    """Open file descriptors of this process (-1 when they cannot be counted, e.g. for want of one)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def connection_budget(configured: int) -> tuple[int, int]:
    """(cap, lingering) for this process: the connection cap, `configured` (0 = none) lowered so that connections
    leave a tenth of the open-file limit (at least 16) to the repositories, logs and workers' exchange (logged when
    lowered), and how many refused connections may stay open at once (a quarter of that reserve, at most 64)."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if configured <= 0 or limit == resource.RLIM_INFINITY:
        return max(configured, 0), LINGERING
    reserve = max(16, limit // 10)
    budget = max(1, limit - max(open_fds(), 0) - reserve)
    if budget < configured:
        log.info("at most %d connections per process (max_connections %d, open-file limit %d)", budget,
                 configured, limit)
    return min(budget, configured), min(LINGERING, reserve // 4)


class Gate:
    """The connection cap of one process, shared by its listening sockets: `factory.count()` open connections plus
    those accepted and not yet handed to it; `lingering`: refused connections that may stay open at once."""

    def __init__(self, factory: Any, cap: int, lingering: int = LINGERING):
        self.factory, self.cap, self.lingering, self.pending = factory, cap, lingering, 0

    def full(self) -> bool:
        return bool(self.cap) and self.factory.count() + self.pending >= self.cap


class _Acceptor:
    """The accept loop of one listening socket (see the module doc); `close()` stops it and closes the socket."""

    def __init__(self, sock: socket.socket, gate: Gate, ssl_context: ssl.SSLContext | None,
                 handshake_timeout: float, throttle: Throttled):
        self._loop = asyncio.get_running_loop()
        self._sock, self._gate, self._factory, self._ssl = sock, gate, gate.factory, ssl_context
        self._handshake_timeout, self._throttle = handshake_timeout, throttle
        self._retry: asyncio.TimerHandle | None = None
        self._lingering: set[socket.socket] = set()
        self._closed = False
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRORS:
                    raise
                self._throttle.warning("cannot accept connections: %s (open-file limit %d); pausing %g s at a time "
                                       "until some close", exc.strerror, resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                                       ACCEPT_RETRY)
                self._loop.remove_reader(self._sock.fileno())
                self._retry = self._loop.call_later(ACCEPT_RETRY, self._resume)
                return
            if self._gate.full():
                self._refuse(conn)
                continue
            conn.setblocking(False)
            self._gate.pending += 1
            self._loop.create_task(self._connect(conn))

    def _resume(self) -> None:
        self._retry = None
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def _refuse(self, conn: socket.socket) -> None:
        """Answer 503 and close. The socket is kept open up to `LINGER` s (at most `gate.lingering` of them), its
        request read and dropped meanwhile, so that closing does not reset the connection before the client has
        read the answer."""
        self._throttle.warning("connection cap reached (%d open): new connections are answered 503", self._gate.cap)
        if self._ssl is not None:  # a plain answer would be garbage to a TLS client
            conn.close()
            return
        try:
            conn.setblocking(False)
            conn.recv(65536)  # what the client sent already, so closing at once does not reset the connection
        except OSError:
            pass
        try:
            conn.send(raw_answer(503, BUSY_FIELDS, BUSY, close=True))
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            conn.close()
            return
        if len(self._lingering) >= self._gate.lingering:  # no descriptors to spare: close now
            conn.close()
            return
        self._lingering.add(conn)
        self._loop.add_reader(conn.fileno(), self._drain, conn)
        self._loop.call_later(LINGER, self._drop, conn)

    def _drain(self, conn: socket.socket) -> None:
        try:
            if conn.recv(65536):
                return
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self._drop(conn)  # the client has closed its side (or is gone): done

    def _drop(self, conn: socket.socket) -> None:
        if conn in self._lingering:
            self._lingering.discard(conn)
            self._loop.remove_reader(conn.fileno())
            conn.close()

    async def _connect(self, conn: socket.socket) -> None:
        gate, counted = self._gate, False

        def protocol() -> Any:
            """The factory's protocol, leaving `pending` as the factory counts it open (its connection_made, after
            a TLS handshake): counted in both until this task resumed, a burst was refused below the cap."""
            made = self._factory()
            connection_made = made.connection_made

            def counted_made(transport: asyncio.BaseTransport) -> None:
                nonlocal counted
                counted = True
                gate.pending -= 1
                del made.connection_made
                connection_made(transport)

            made.connection_made = counted_made
            return made

        try:
            await self._loop.connect_accepted_socket(protocol, conn, ssl=self._ssl,
                                                     ssl_handshake_timeout=self._handshake_timeout
                                                     if self._ssl else None)
        except OSError as exc:  # a client gone, a failed TLS handshake (SSLError), a handshake timeout
            log.debug("connection not established: %r", exc)
            conn.close()
        finally:
            if not counted:
                gate.pending -= 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        for conn in list(self._lingering):
            self._drop(conn)


class Listener(web.BaseSite):
    """A site serving `runner` on an already listening socket through `_Acceptor`; one `Throttled` per process
    keeps the warnings of all its sockets to one a minute."""

    throttle = Throttled()

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, gate: Gate,
                 ssl_context: ssl.SSLContext | None = None, handshake_timeout: float = 10.0):
        super().__init__(runner, ssl_context=ssl_context)
        self._sock, self._gate, self._handshake_timeout = sock, gate, handshake_timeout
        host, port = sock.getsockname()[:2]
        self._name = str(URL.build(scheme="https" if ssl_context else "http", host=host, port=port))

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        self._server = _Acceptor(self._sock, self._gate, self._ssl_context,  # type: ignore[assignment]
                                 self._handshake_timeout, self.throttle)
