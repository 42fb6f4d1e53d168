"""Running the evaluator: one process, or `workers` forked processes sharing one pre-bound listening socket.

The socket is bound before anything else (so `--port 0` works and the port is printed), then each worker opens
its own Store (threads and pygit2 handles do not survive a fork) and serves from the shared socket. The parent
only supervises: SIGTERM/SIGINT are forwarded, and if one worker dies the others are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

from evaluator.server.app import create_app
from gitstore.config import load_config
from gitstore.store import Store

log = logging.getLogger("flagdeck.evaluator")


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


async def serve_socket(config_path: str | Path | None, sock: socket.socket) -> None:
    """Serve on an already listening socket until SIGTERM/SIGINT."""
    config = load_config(config_path)
    store = Store(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(create_app(store, config), access_log=None, handle_signals=False,
                           shutdown_timeout=2.0)
    try:
        await runner.setup()  # loads every environment before the first request is accepted
        gc.freeze()  # start-up objects (compiled namespaces, modules) never need scanning again: shorter GC pauses
        await web.SockSite(runner, sock).start()
        await stop.wait()
    finally:
        await runner.cleanup()
        store.close()


def _run_worker(config_path: str | Path | None, sock: socket.socket) -> int:
    try:
        asyncio.run(serve_socket(config_path, sock))
    except KeyboardInterrupt:
        pass
    except Exception:
        log.exception("evaluator worker %d failed", os.getpid())
        return 1
    return 0


def serve(config_path: str | Path | None, host: str, port: int, workers: int = 1) -> int:
    """Bind, print the address, and serve with `workers` processes. Returns the exit status."""
    config = load_config(config_path)  # fail fast, with the file/line message, before forking
    if workers > 1:
        # create/fetch the repositories once, so N workers starting together do not race to initialise them
        Store(config).close()
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    print(f"flagdeck evaluator listening on http://{host}:{bound_port} ({workers} worker"
          f"{'s' if workers > 1 else ''})", flush=True)
    if workers <= 1:
        return _run_worker(config_path, sock)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # worker
            code = _run_worker(config_path, sock)
            sys.stdout.flush()
            os._exit(code)
        children.append(pid)
    sock.close()
    return _supervise(children)


def _supervise(children: list[int]) -> int:
    def forward(signum: int, frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    alive = set(children)
    while alive:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        alive.discard(pid)
        if code != 0 and alive:
            status = 1
            forward(signal.SIGTERM, None)
    return status
