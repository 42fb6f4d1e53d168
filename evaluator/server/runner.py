"""Running the evaluator: one process, or `workers` forked processes sharing one pre-bound listening socket.

Settings come from the command line when given there, else from flagdeck.yaml's `server:` section, else the
defaults (`settings`). With TLS (`server.tls` or `--tls-cert/--tls-key`) every socket serves HTTPS (TLS 1.2+); the
hot lane still applies, since asyncio's TLS transport hands the protocol decrypted bytes.

The configuration is read and every storage opened (created, first fetch) before anything is bound or printed,
so a bad configuration or storage path is a one-line error and exit 1, never "listening" then a traceback. Then
the socket is bound (so `--port 0` works and the port is printed). One worker serves with the store opened
first; with several, that store is closed before forking and each worker opens its own (threads and pygit2
handles do not survive a fork) on the repositories already initialised, and serves from the shared socket. The parent
only supervises: SIGTERM/SIGINT are forwarded, and if one worker dies the others are stopped. Workers exchange
their metrics through a temporary directory made for the run (metrics_shared), so any scrape counts them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.automation.runner import AutomationRunner
from evaluator.config import EvaluatorConfig, load_evaluator_config
from evaluator.keys import server_ssl_context
from evaluator.server.accesslog import AccessLog
from evaluator.server.app import create_app
from evaluator.server.connection import Limits
from evaluator.server.hotlane import HotLaneRunner
from evaluator.server.listener import Gate, Listener, connection_budget, raise_fd_limit
from evaluator.server.metrics import Metrics
from evaluator.server.metrics_shared import SharedMetrics
from gitstore.config import Config
from gitstore.errors import ConfigError, FlagdeckError
from gitstore.gcpause import gc_paused
from gitstore.git.repo import StorageError, open_repository
from gitstore.store import Store

log = logging.getLogger("flagdeck.evaluator")
ACCESS_LOG = logging.getLogger("aiohttp.access")  # aiohttp's access logger: `--access-log` lines, at INFO
METRICS_INTERVAL = 0.5  # seconds between two writes of a worker's figures for its siblings' scrapes


REUSE_PORT = hasattr(socket, "SO_REUSEPORT")
LIMITS = ("header_timeout", "body_timeout", "idle_timeout", "max_connections")  # Limits' fields, server: keys
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
EARLY_SIGNALS: list[int] = []  # SIGTERM/SIGINT received before the event loop's handlers were set


class ListenError(FlagdeckError):
    """The address cannot be listened on (in use, not local, not permitted); nothing was served."""


@dataclass(frozen=True)
class Settings:
    """What `serve` runs with: each value from the command line when given, else from `server:`, else default.
    `tls`: (certificate file, key file) or None for plain HTTP; `limits`: timeouts and the connection cap;
    `app_options` go to `create_app` (`cors`, `cors_origins`, `heartbeat`, `hot_lane`) and to `serve_socket`
    (`access_log`)."""

    host: str
    port: int
    workers: int
    tls: tuple[Path, Path] | None
    app_options: dict[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"


def settings(config: EvaluatorConfig, host: str | None = None, port: int | None = None, workers: int | None = None,
             tls: tuple[str | Path, str | Path] | None = None, **given: Any) -> Settings:
    """Merge the options given on the command line (None or absent = not given) over `config.server`. `given` may
    hold `cors`, `cors_origins`, `heartbeat`, `hot_lane`, `access_log` and the `Limits` fields (`header_timeout`,
    `body_timeout`, `idle_timeout`, `max_connections`); other keys pass through to `create_app`.
    Origins given without `cors` turn CORS on (they ask for it) even when the file turns it off. A `tls` pair is
    checked here (ConfigError `--tls-cert/--tls-key: ...`); the file's by `config.check_server_files()`, which
    `serve` calls first."""
    file = config.server
    options = {k: v for k, v in given.items() if v is not None}
    origins = tuple(options.pop("cors_origins", ()) or ())
    cors = options.pop("cors", True if origins else file.cors.enabled)
    limits = Limits(**{name: options.pop(name, getattr(file, name)) for name in LIMITS})
    app_options = {
        "cors": cors,
        "cors_origins": origins or file.cors.origins,
        "heartbeat": options.pop("heartbeat", file.heartbeat),
        "hot_lane": options.pop("hot_lane", file.hot_lane),
        "access_log": options.pop("access_log", file.access_log),
        **options,
    }
    files: tuple[Path, Path] | None = None
    if tls is not None:
        files = (Path(tls[0]).expanduser().resolve(), Path(tls[1]).expanduser().resolve())
        try:
            server_ssl_context(*files)
        except ValueError as exc:
            raise ConfigError(f"--tls-cert/--tls-key: {exc}") from None
    elif file.tls is not None:
        files = (file.tls.cert_file, file.tls.key_file)
    return Settings(host=file.host if host is None else host, port=file.port if port is None else port,
                    workers=file.workers if workers is None else workers, tls=files, app_options=app_options,
                    limits=limits)


def bind(host: str, port: int, backlog: int = 1024, reuse_port: bool = False) -> socket.socket:
    """A listening socket; with `reuse_port`, one of a group on the same address among which the kernel spreads
    new connections evenly (each worker adds its own, see `serve_socket`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def open_store(config: Config) -> Store:
    """A mirror Store on `config` (it follows each remote and never pushes), every repository created or opened
    first; a storage that cannot be opened (a file, a directory that cannot be created, not a Git repository) is a
    StorageError naming the storage and the reason."""
    for name, storage in config.storage.items():
        try:
            open_repository(storage.path)
        except StorageError as exc:
            raise StorageError(f"storage {name!r}: {exc}") from None
    try:
        return Store(config, mirror=True)
    except (FlagdeckError, OSError) as exc:
        raise StorageError(f"cannot open the storage of {config.path}: {exc}") from None


async def serve_socket(config_path: str | Path | None, sock: socket.socket,
                       metrics_dir: str | Path | None = None, store: Store | None = None,
                       ssl_context: ssl.SSLContext | None = None, limits: Limits | None = None,
                       **app_options: Any) -> None:
    """Serve on an already listening socket until SIGTERM/SIGINT, with `store` (taken over: closed at the end) or
    a Store opened on `config_path`. With `metrics_dir` (several workers), this worker's figures are exchanged
    there with its siblings' (see metrics_shared). With `ssl_context`, every socket serves HTTPS. `limits`:
    timeouts and the connection cap (listener.py, lowered to what the open-file limit allows). `app_options` go
    to `create_app` (`cors`, `heartbeat`, `hot_lane`), except `access_log` (True: one line per request on the
    `aiohttp.access` logger, at INFO)."""
    if store is None:
        store = Store(load_evaluator_config(config_path), mirror=True)  # the evaluator never pushes
    config = store.config
    assert isinstance(config, EvaluatorConfig), "serve opens its store on the evaluator's sections"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # none lost between the early handler and the loop's
    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if EARLY_SIGNALS:
        stop.set()
    shared = SharedMetrics(metrics_dir) if metrics_dir is not None else None
    metrics = Metrics(shared)
    access = app_options.pop("access_log", False)
    limits = limits or Limits()
    runner = HotLaneRunner(create_app(store, config, metrics=metrics, **app_options), limits,
                           access_log=ACCESS_LOG if access else None, access_log_class=AccessLog,
                           handle_signals=False, shutdown_timeout=2.0)
    exchange = None
    automation = AutomationRunner(config)
    try:
        # No collection while loading: each end of a gc pause would rescan every object built so far (3 s of 100,000
        # flags). A pause like the loader's (they overlap: the collector resumes when the last one ends, e.g. once
        # a big namespace is prepared in the background, reload.py).
        with gc_paused():
            try:
                await runner.setup()  # loads every environment before the first request is accepted
            finally:
                gc.freeze()  # start-up objects (compiled namespaces, modules) never need scanning again
        # the cap, counted after setup (the repositories' files are open), shared by this worker's sockets
        gate = Gate(runner.server, *connection_budget(limits.max_connections))
        await Listener(runner, sock, gate, ssl_context, limits.header_timeout).start()
        if metrics_dir is not None and REUSE_PORT:
            # One of several workers: besides the socket they share (whose connections go to whichever accepts
            # first, so one worker can take a whole burst), a socket of its own on the same port, among which the
            # kernel spreads new connections evenly.
            own_host, own_port = sock.getsockname()[:2]
            own = bind(own_host, own_port, reuse_port=True)
            await Listener(runner, own, gate, ssl_context, limits.header_timeout).start()
        if shared is not None:
            exchange = asyncio.ensure_future(_exchange(shared, metrics))
        await automation.start()  # the scheduler of schedules and ramps (evaluator/automation)
        await stop.wait()
    finally:
        await automation.stop()
        if exchange is not None:
            exchange.cancel()
        await runner.cleanup()
        store.close()
        if shared is not None:
            with contextlib.suppress(OSError):
                shared.dump(metrics.registry)


async def _exchange(shared: SharedMetrics, metrics: Metrics) -> None:
    while True:
        try:
            shared.dump(metrics.registry)
        except OSError as exc:
            log.warning("cannot write worker metrics to %s: %s", shared.directory, exc)
        await asyncio.sleep(METRICS_INTERVAL)


def _run_worker(config_path: str | Path | None, sock: socket.socket, metrics_dir: str | None,
                app_options: dict[str, Any], store: Store | None = None,
                tls: tuple[Path, Path] | None = None, limits: Limits | None = None) -> int:
    try:
        context = server_ssl_context(*tls) if tls is not None else None  # each worker its own, after the fork
        asyncio.run(serve_socket(config_path, sock, metrics_dir, store, context, limits, **app_options))
    except KeyboardInterrupt:
        pass
    except Exception:
        log.exception("evaluator worker %d failed", os.getpid())
        return 1
    return 0


def serve(config_path: str | Path | None, host: str | None = None, port: int | None = None,
          workers: int | None = None, tls: tuple[str | Path, str | Path] | None = None, **app_options: Any) -> int:
    """Open the store, bind, print the address, and serve with `workers` processes. Returns the exit status.
    `host`, `port`, `workers`, `tls` (certificate file, key file) and each of `app_options` (`cors`,
    `cors_origins`, `heartbeat`, `hot_lane`, `access_log`, `header_timeout`, `body_timeout`, `idle_timeout`,
    `max_connections`) left None come from the file's `server:` section (see `settings`). Raises ConfigError /
    StorageError (before anything is bound or printed) and ListenError (cannot bind). The open-file soft limit is
    raised to the hard limit first (logged at INFO once listening)."""
    _note_early_signals()
    config = load_evaluator_config(config_path)  # fail fast, with the file/line message, before forking
    config.check_server_files()
    run = settings(config, host, port, workers, tls, **app_options)
    host, port, workers, app_options = run.host, run.port, run.workers, run.app_options
    if app_options.get("access_log"):
        ACCESS_LOG.setLevel(logging.INFO)
    fd_limit = raise_fd_limit()
    store = open_store(config)  # creates/fetches the repositories once, so N workers do not race to initialise them
    try:
        sock = bind(host, port, reuse_port=workers > 1 and REUSE_PORT)
    except OSError as exc:
        store.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if workers > 1:
        store.close()  # its threads would not survive the fork; each worker opens its own
    bound_port = sock.getsockname()[1]
    print(f"flagdeck evaluator listening on {run.scheme}://{host}:{bound_port} ({workers} worker"
          f"{'s' if workers > 1 else ''})", flush=True)
    log.info(fd_limit)
    if workers <= 1:
        return _run_worker(config_path, sock, None, app_options, store, run.tls, run.limits)
    metrics_dir = tempfile.mkdtemp(prefix="flagdeck-metrics-")
    # Start-up objects are never collected: the workers share their pages (copy-on-write) and the supervisor's
    # exit does not scan them (a full collection of them made SIGTERM take ~0.5 s more when idle).
    gc.freeze()
    children: list[int] = []
    stopping: list[int] = list(EARLY_SIGNALS)  # told to stop already: no worker is started

    def forward(signum: int, frame: object) -> None:
        stopping.append(signum)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)  # before forking: a signal meanwhile is not lost
    signal.signal(signal.SIGINT, forward)
    try:
        for _ in range(workers):
            if stopping:
                break
            # held across the fork: the new worker takes them once its own handler is set (a signal arriving
            # while Python finishes forking would be lost), the supervisor once the worker is in `children`
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
            pid = os.fork()
            if pid == 0:  # worker
                _note_early_signals()
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
                code = _run_worker(config_path, sock, metrics_dir, app_options, tls=run.tls, limits=run.limits)
                sys.stdout.flush()
                os._exit(code)
            children.append(pid)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        sock.close()
        if stopping:
            forward(signal.SIGTERM, None)
        return _supervise(children, forward)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _early_signal(signum: int, frame: object) -> None:
    EARLY_SIGNALS.append(signum)


def _note_early_signals() -> None:
    """Until `serve_socket` sets the event loop's handlers, a SIGTERM or SIGINT is noted, and serving stops as soon
    as it starts: a signal during start-up is a clean exit (status 0), not a kill or a traceback."""
    signal.signal(signal.SIGTERM, _early_signal)
    signal.signal(signal.SIGINT, _early_signal)


def _supervise(children: list[int], forward: Any) -> int:
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
