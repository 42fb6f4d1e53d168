"""The console session's reads of the store (`SessionLoading`): settling on an environment, loading its snapshot
(the flag list's plain data first, documents built in a worker, a read ahead while the console starts), when each
resource last changed, the history and the sync state. Methods marked *blocking* reach Git and are called from
workers only; the rest work on data already loaded."""

from __future__ import annotations

import gc
import re
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.session_state import SessionState
from gitstore.gcpause import gc_paused

if TYPE_CHECKING:
    from gitstore.results import SyncState

_MESSAGE_LINE = re.compile(r"^(?:create|update|delete) (flag|segment) ([^/\s]+)/(\S+)$")


class SessionLoading(SessionState):
    # ----- blocking reads (workers only) ---------------------------------------------------------------------
    def open(self, build: bool = True) -> Any:
        """Blocking: settle on an environment (the default one unless chosen) and load its snapshot (`build`: see
        `load`)."""
        envs = self.environments()
        if not self.env:
            self.env = next((e.name for e in envs if e.default), envs[0].name if envs else "")
        elif self.env not in self.env_names:
            raise ValueError(f"no environment {self.env!r} (known: {', '.join(self.env_names)})")
        if not self.can_read():  # e.g. the default environment, for someone with a role in another one only
            self.env = next((e.name for e in envs if self.can_read(e.name)), self.env)
        snapshot = self.load(build=build)
        if self.namespace_remembered and self.namespace not in snapshot.namespaces:
            self.namespace = "default"  # the namespace last open is gone (or not in this environment)
        self.namespace_remembered = False
        self.remember_place()
        return snapshot

    def remember_place(self) -> None:
        if self.remember is not None and self.env:
            self.remember(self.env, self.namespace)

    def load(self, env: str | None = None, build: bool = True) -> Any:
        """Blocking: the environment's current snapshot (the store caches by commit id). `build`: build its
        namespaces' documents now (else when first asked for, or by `build_documents`)."""
        env = env or self.env
        if not self.freeze_gc:
            snapshot = self.store.snapshot(env)
        else:
            # 10,000 flags are ~10^6 long-lived objects: without this every full collection walks them all and
            # opening a flag takes 3x longer. Documents are trees, so reference counting still frees old ones.
            # The collector stays paused from the read to the freeze: each end of a pause would otherwise collect
            # the objects just made (0.5 s a time at 100,000 flags).
            with gc_paused():
                snapshot = self.store.snapshot(env)
                if build:
                    self._build(snapshot)
                else:  # a parse cache hit decodes the plain data when first asked for: here, not on the loop
                    plain_flags_of(snapshot, self.namespace)
                gc.freeze()
        self.snapshots[env] = snapshot
        self.seen.setdefault(env, snapshot)
        self.refresh_sync(env)
        return snapshot

    def read_ahead(self) -> None:
        """Blocking (a thread of its own): read the environment's snapshot while the console starts (its imports
        and layout run meanwhile: the YAML parser lets go of the GIL), as `load(build=False)` reads it; the
        store keeps it by commit id, so the flag list's first load finds it read. Errors are left to that load
        to report."""
        try:
            with gc_paused() if self.freeze_gc else nullcontext():
                plain_flags_of(self.store.snapshot(self.env), self.namespace)
                if self.freeze_gc:
                    gc.freeze()
        except Exception:  # noqa: BLE001, S110 - the first load reads it again and shows the error
            pass

    def build_documents(self, env: str | None = None, namespace: str | None = None) -> None:
        """CPU (a worker): build the document of `namespace` (None: of every namespace) of the environment's loaded
        snapshot (a snapshot builds them when first asked for: gitstore.format.loader.Documents), so that the
        freeze covers it."""
        snapshot = self.snapshots.get(env or self.env)
        if snapshot is None:
            return
        with gc_paused() if self.freeze_gc else nullcontext():
            self._build(snapshot, namespace)
            if self.freeze_gc:
                gc.freeze()

    @staticmethod
    def _build(snapshot: Any, only: str | None = None) -> None:
        for key, namespace in snapshot.namespaces.items():
            if only is None or key == only:
                _ = namespace.document

    def load_last_changes(self, env: str | None = None, namespace: str | None = None, limit: int = 200) -> None:
        """Blocking: when each flag and segment last changed, read from the Flipt-form commit messages."""
        env, namespace = env or self.env, namespace or self.namespace
        found: dict[str, datetime] = {}
        for entry in self.store.history(env, namespace, limit=limit, diffs=False):
            for line in entry.message.splitlines():
                match = _MESSAGE_LINE.match(line.strip())
                if match and match[2] == namespace:
                    found.setdefault(f"{match[1]}:{match[3]}", entry.time)
        self.last_change[(env, namespace)] = found

    def history(self, flag: str | None = None, limit: int = 100) -> list[Any]:
        return list(self.store.history(self.env, self.namespace, flag=flag, limit=limit))

    def refresh_sync(self, env: str | None = None) -> SyncState:
        """Blocking: read the environment's sync state (ahead, behind, reachable, last error) into `sync`."""
        env = env or self.env
        state = self.sync[env] = self.store.sync_state(env)
        return state

    # ----- what was loaded ------------------------------------------------------------------------------------
    def snapshot(self, env: str | None = None) -> Any:
        return self.snapshots.get(env or self.env)

    def problems(self, env: str | None = None, namespace: str | None = None) -> list[Any]:
        snap = self.snapshots.get(env or self.env)
        if not snap:
            return []
        if namespace is None:
            return list(snap.problems)
        ns = snap.namespaces.get(namespace)
        return list(ns.problems) if ns else []


def plain_flags_of(snapshot: Any, namespace: str) -> list[dict[str, Any]] | None:
    """The flags of `namespace` in `snapshot` as checked plain data while its document is not built, else None."""
    found = snapshot.namespaces.get(namespace) if snapshot is not None else None
    source = found.source if found is not None else None
    if source is None or namespace not in source or namespace in source.built:
        return None
    parts = source.parts(namespace)  # None: built meanwhile
    return None if parts is None else [flag for part in parts for flag in part.get("flags") or ()]
