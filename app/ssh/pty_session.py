"""One console process per SSH session, on a fresh pseudo-terminal.

Bytes flow raw in both directions: PTY -> channel through an event-loop reader, channel -> PTY by awaiting the
channel. Window changes from the client are applied to the PTY with TIOCSWINSZ (the kernel sends SIGWINCH to the
console). When the client goes, the console's process group gets SIGHUP, then SIGKILL after a grace period; when the
console exits, its remaining output is flushed and the caller closes the channel with its exit status."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncssh

MAX_COLS, MAX_ROWS = 1000, 500
DEFAULT_SIZE = (80, 24)
MAX_UNSENT = 1 << 20  # bytes queued for a client before the console's output is paused


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """A usable window size: absent or zero sizes become 80x24, absurd ones are capped."""
    if cols <= 0 or rows <= 0:
        return DEFAULT_SIZE
    return min(cols, MAX_COLS), min(rows, MAX_ROWS)


def set_window_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_controlling_terminal() -> None:  # runs in the child between fork and exec, after setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class SessionSpec:
    command: list[str]
    env: dict[str, str]
    idle_timeout: float | None = None
    kill_grace: float = 3.0
    pass_fds: tuple[int, ...] = ()  # descriptors the console inherits (the commit report pipe)
    on_start: Callable[[int], None] | None = field(default=None, repr=False)


@dataclass
class SessionResult:
    returncode: int
    reason: str  # "exit" (the console ended), "disconnect" (the client went), "idle", or what `stop` was given


class PtySession:
    def __init__(self, process: asyncssh.SSHServerProcess, spec: SessionSpec):
        self.process = process
        self.spec = spec
        self._master = -1
        self._output_done: asyncio.Future[None] | None = None
        self._draining: asyncio.Task[None] | None = None
        self._stop: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def stop(self, reason: str) -> None:
        """End the session from outside (access revoked, server stopping): `run` terminates the console and returns
        `reason`."""
        if not self._stop.done():
            self._stop.set_result(reason)

    async def run(self) -> SessionResult:
        loop = asyncio.get_running_loop()
        master, slave = pty.openpty()
        self._master = master
        try:
            cols, rows = self.process.get_terminal_size()[:2]
            set_window_size(master, *clamp_size(cols, rows))
            child = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=self.spec.env,
                start_new_session=True,
                preexec_fn=_take_controlling_terminal,
                pass_fds=self.spec.pass_fds,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        if self.spec.on_start is not None:
            self.spec.on_start(child.pid)
        os.set_blocking(master, False)
        self._output_done = loop.create_future()
        loop.add_reader(master, self._pump_out)
        input_task = asyncio.create_task(self._pump_in())
        exit_task = asyncio.create_task(child.wait())
        try:
            waiting: set[asyncio.Future[Any]] = {input_task, exit_task, self._stop}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if exit_task.done():
                input_task.cancel()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._output_done), 1.0)
                return SessionResult(exit_task.result(), "exit")
            reason = self._stop.result() if self._stop.done() else input_task.result()
            return SessionResult(await self._terminate(child, exit_task), reason)
        finally:
            input_task.cancel()
            if not exit_task.done():  # cancelled from outside: never leave the console behind
                await self._terminate(child, exit_task)
            if self._draining is not None:
                self._draining.cancel()
            loop.remove_reader(master)
            os.close(master)
            self._master = -1

    def _pump_out(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every holder of the PTY's slave side has gone
            data = b""
        loop = asyncio.get_running_loop()
        if data:
            try:
                self.process.stdout.write(data)
            except (BrokenPipeError, ConnectionError, asyncssh.Error):
                pass
            else:
                if self.process.channel.get_write_buffer_size() > MAX_UNSENT:
                    loop.remove_reader(self._master)  # a slow client: stop reading until it catches up
                    self._draining = loop.create_task(self._resume_after_drain())
                return
        loop.remove_reader(self._master)
        if self._output_done is not None and not self._output_done.done():
            self._output_done.set_result(None)

    async def _resume_after_drain(self) -> None:
        try:
            await self.process.stdout.drain()
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return
        if self._output_done is not None and not self._output_done.done() and self._master >= 0:
            asyncio.get_running_loop().add_reader(self._master, self._pump_out)

    async def _pump_in(self) -> str:
        stdin = self.process.stdin
        while True:
            try:
                if self.spec.idle_timeout:
                    data = await asyncio.wait_for(stdin.read(65536), self.spec.idle_timeout)
                else:
                    data = await stdin.read(65536)
            except asyncssh.TerminalSizeChanged as change:
                set_window_size(self._master, *clamp_size(change.width, change.height))
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            except TimeoutError:
                return "idle"
            except (BrokenPipeError, ConnectionError, asyncssh.Error):
                return "disconnect"
            if not data:
                return "disconnect"
            if not await self._write(data):
                return "disconnect"

    async def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        loop = asyncio.get_running_loop()
        while view:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self._master, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self._master)
            except OSError:
                return False
        return True

    async def _terminate(self, child: asyncio.subprocess.Process, exit_task: asyncio.Task[int]) -> int:
        for sig, wait in ((signal.SIGHUP, self.spec.kill_grace), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, sig)
            try:
                return await asyncio.wait_for(asyncio.shield(exit_task), wait)
            except TimeoutError:
                continue
        return await exit_task  # pragma: no cover - SIGKILL always ends it
