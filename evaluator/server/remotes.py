"""What /health says about each environment's remote: its URL (credentials removed), whether it was reachable,
the last error, commits ahead/behind, the last fetch, the last rewrite of its history (a force-push) and what that
did here. The store's watcher fetches the remotes on its own schedule; a background task here copies the state it
recorded (`store.sync_state`, no network) every `REFRESH` seconds, so /health only reads a dict, and a slow or
hanging fetch never delays it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gitstore.protocols import StoreReader
from gitstore.results import SyncState

log = logging.getLogger("flagdeck.evaluator")
REFRESH = 0.5  # seconds between two copies of the recorded remote states
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def public_url(url: str) -> str:
    """`url` without user name, password or token (`https://user:token@host/x` -> `https://host/x`); scp-like
    `git@host:path` keeps its user name (not a secret)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def redact(text: str | None, url: str) -> str | None:
    """An error message with the remote's credentials removed (libgit2 messages may quote the URL)."""
    if text is None:
        return None
    return _USERINFO.sub("", text.replace(url, public_url(url)))


def _when(stamp: datetime | None) -> str | None:
    return stamp.isoformat().replace("+00:00", "Z") if stamp else None


def remote_health(state: SyncState) -> dict[str, Any]:
    """The /health form of a `gitstore` SyncState."""
    url = state.remote or ""
    return {"url": public_url(url), "reachable": state.reachable, "lastError": redact(state.last_error, url),
            "ahead": state.ahead, "behind": state.behind, "lastFetch": _when(state.last_fetch),
            "lastRewrite": redact(state.last_rewrite, url)}


class RemoteStates:
    """Environment name -> its remote's last recorded state for /health (environments with a remote only)."""

    def __init__(self, store: StoreReader):
        self.store = store
        self.names = [info.name for info in store.environments() if info.remote]
        self.health: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        for name in self.names:
            try:
                state = await asyncio.to_thread(self.store.sync_state, name)
            except Exception as exc:  # noqa: BLE001 - the local repository itself failed: say so, keep going
                log.warning("remote state of environment %r unavailable: %s", name, exc)
                continue
            self.health[name] = remote_health(state)

    async def start(self) -> None:
        if self.names:
            await self.refresh()
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            await self.refresh()
