"""Noticing that a branch moved, whoever moved it: a thread polls every environment's branch ref (about 10 µs per
read) every `POLL_SECONDS` and tells each subscriber (`BranchMoved`), and asks its owner to sync each storage that
has a remote every `poll_interval` (`BackgroundSync`; the Store fetches and integrates, then pushes unless it is a
mirror). The sync runs on a thread of its own with its own repository handle, so a slow or silent remote never
delays the local polling, nor the reads and commits on the repository's thread. The watcher knows the
configuration and these two callables, nothing of the Store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING

import pygit2

from gitstore.git.refs import branch_ref, tip
from gitstore.git.repo import GitRepo

if TYPE_CHECKING:
    from gitstore.config import Config

BranchMoved = Callable[[str, str], None]
"""A subscriber: called as `(environment, new commit id)` on the watcher's thread; must be quick. An exception it
raises is logged and does not stop the others being told."""
BackgroundSync = Callable[[pygit2.Repository, str], bool]
"""Sync one storage with its remote: called as `(repository handle, storage name)` on that storage's sync thread,
records failures instead of raising them, True when it went through."""
Discover = Callable[[Callable[[str], pygit2.Repository]], Mapping[str, tuple[str, str]]]
"""The environments to poll besides the configured ones (branch environments): key -> (storage name, ref), found
with the watcher's own handles (`handle(storage name)`); called every `DISCOVER_EVERY` polls."""
EnvironmentsChanged = Callable[[tuple[str, ...]], None]
"""A subscriber to the set of polled environments besides the configured ones: called with their keys, sorted, on
the watcher's thread each time a branch environment appears or disappears; must be quick."""

POLL_SECONDS = 0.05
DISCOVER_EVERY = 10  # polls between two looks for branch environments (half a second)
REPEAT_SECONDS = 60.0  # a failure that goes on is logged again at most this often
log = logging.getLogger(__name__)


class _Trouble:
    """Polling failures as a few log lines, not twenty a second: the first failure with its reason, then at most
    one line a minute while it lasts (with the count), and one line when polling works again."""

    def __init__(self) -> None:
        self.count = 0
        self.logged_at = 0.0

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.count += 1
        if self.count == 1 or now - self.logged_at >= REPEAT_SECONDS:
            again = f" ({self.count} failed polls so far)" if self.count > 1 else ""
            log.error("branch polling failed: %s: %s%s", type(exc).__name__, exc, again)
            self.logged_at = now

    def ok(self) -> None:
        if self.count:
            log.warning("branch polling recovered after %d failed polls", self.count)
            self.count = 0


class Watcher:
    def __init__(self, config: Config, sync: BackgroundSync, discover: Discover | None = None):
        self._config = config
        self._sync = sync
        self._discover = discover
        self._extra: Mapping[str, tuple[str, str]] = {}
        self._polls = 0
        self._env_subscribers: list[EnvironmentsChanged] = []
        self._subscribers: list[BranchMoved] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pending: dict[str, Future[bool]] = {}
        self._syncers: dict[str, GitRepo] = {}
        self._next_fetch: dict[str, float] = {}
        self._thread = threading.Thread(target=self._loop, name="flagdeck-watch", daemon=True)
        self._seen: dict[str, str | None] = {}
        self._handles: dict[str, pygit2.Repository] = {}
        self._started = threading.Event()
        self._trouble = _Trouble()
        self._thread.start()
        self._started.wait(5)

    def subscribe(self, callback: BranchMoved) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def subscribe_environments(self, callback: EnvironmentsChanged) -> Callable[[], None]:
        with self._lock:
            self._env_subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._env_subscribers:
                    self._env_subscribers.remove(callback)

        return unsubscribe

    def stop(self) -> None:
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)
        for syncer in list(self._syncers.values()):
            syncer.close()  # a sync in flight ends within the storage's timeout

    def _handle(self, storage_name: str) -> pygit2.Repository:
        handle = self._handles.get(storage_name)
        if handle is None:
            handle = self._handles[storage_name] = pygit2.Repository(str(self._config.storage[storage_name].path))
        return handle

    def _read(self, env: str) -> str | None:
        config = self._config
        extra = self._extra.get(env)
        if extra is not None:
            storage_name, ref = extra
        else:
            storage_name = config.environments[env].storage
            ref = branch_ref(config.storage[storage_name].branch)
        found = tip(self._handle(storage_name), ref)
        return str(found) if found is not None else None

    def _look_for_environments(self) -> None:
        """Every `DISCOVER_EVERY` polls: the branch environments now, subscribers told when the set changed."""
        if self._discover is None or self._polls % DISCOVER_EVERY:
            return
        found = dict(self._discover(self._handle))
        if found.keys() == self._extra.keys():
            self._extra = found
            return
        for gone in self._extra.keys() - found.keys():
            self._seen.pop(gone, None)
        self._extra = found
        with self._lock:
            subscribers = list(self._env_subscribers)
        keys = tuple(sorted(found))
        for callback in subscribers:
            try:
                callback(keys)
            except Exception:  # a subscriber's bug must not stop the others being told
                log.exception("environments callback failed")

    def _fetch_remotes(self, now: float) -> None:
        for name, storage in self._config.storage.items():
            if not storage.remote or now < self._next_fetch.get(name, 0.0):
                continue
            pending = self._pending.get(name)
            if pending is not None and not pending.done():
                continue
            self._next_fetch[name] = now + storage.poll_interval
            syncer = self._syncers.get(name)
            if syncer is None:
                syncer = self._syncers[name] = GitRepo(f"{name}-sync", storage.path)
            self._pending[name] = syncer.submit(self._sync, name)

    def _loop(self) -> None:
        self._look_for_environments()
        for env in [*self._config.environments, *self._extra]:
            self._seen[env] = self._read(env)
        now = time.monotonic()
        self._next_fetch = {name: now + s.poll_interval for name, s in self._config.storage.items()}
        self._started.set()
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._fetch_remotes(time.monotonic())
                self._polls += 1
                self._look_for_environments()
                for env in [*self._config.environments, *self._extra]:
                    current = self._read(env)
                    if current is not None and current != self._seen.get(env):
                        self._seen[env] = current
                        with self._lock:
                            subscribers = list(self._subscribers)
                        for callback in subscribers:
                            try:
                                callback(env, current)
                            except Exception:  # a subscriber's bug must not stop the others being told
                                log.exception("watch callback failed for %s", env)
            except (pygit2.GitError, OSError, RuntimeError) as exc:
                self._trouble.failed(exc)
            else:
                self._trouble.ok()
