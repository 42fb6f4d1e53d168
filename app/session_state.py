"""The console session's state over one Store (`SessionState`): the environment and namespace open, the acting
author and roles, what has been loaded and the edits waiting; and the roles' answers. Reading the store is in
`app.session_loading`, the pending edits in `app.session_edits`, the whole `Session` in `app.session`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gitstore import roles as access

if TYPE_CHECKING:
    from app.session_edits import Pending
    from gitstore.protocols import StoreEditor
    from gitstore.results import SyncState

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SessionState:
    """The console's state over one Store: environment, namespace, author, roles and the pending edits."""

    store: StoreEditor
    env: str = ""
    namespace: str = "default"
    author: tuple[str, str] | None = None
    roles: dict[str, str] | None = None
    clock: Clock = utc_now
    pending: list[Pending] = field(default_factory=list)
    snapshots: dict[str, Any] = field(default_factory=dict)
    last_change: dict[tuple[str, str], dict[str, datetime]] = field(default_factory=dict)
    env_names: list[str] = field(default_factory=list)
    infos: dict[str, Any] = field(default_factory=dict)  # env -> EnvironmentInfo (a branch environment: its base)
    sync: dict[str, SyncState] = field(default_factory=dict)  # env -> SyncState, read with every load and commit
    # env -> the snapshot whose move the console has told (the first read, then each live refresh and each commit
    # made here): a screen's reload may read a newer one before the watcher's word of it, which must still be told
    seen: dict[str, Any] = field(default_factory=dict)
    freeze_gc: bool = False  # a console process: move loaded snapshots out of the cyclic GC's way (see `load`)
    namespace_remembered: bool = False  # the namespace is the one last open, not asked for: "default" if gone
    remember: Callable[[str, str], None] | None = None  # told (env, namespace) whenever the user settles on one

    # ----- roles: decided by gitstore.roles, as the store decides them -----------------------------------------
    def role(self, env: str | None = None) -> str:
        """The role in `env` for display: viewer, editor, admin, or "no access"."""
        return access.role_in(self.roles, self.scope(env)) or access.NO_ACCESS

    def can(self, action: access.Action | str, env: str | None = None) -> bool:
        return access.allows(self.roles, self.scope(env), action)

    def scope(self, env: str | None = None) -> str:
        """The environment whose role applies in `env`: a branch environment has its base's (gitstore.branches)."""
        env = env or self.env
        info = self.infos.get(env)
        return info.base if info is not None and info.base else env

    def info(self, env: str | None = None) -> Any:
        """Blocking when not known yet: the store's EnvironmentInfo of `env` (a branch's: its base's directory)."""
        env = env or self.env
        if env not in self.infos:
            self.environments()
        if env not in self.infos:
            raise ValueError(f"no environment {env!r} (known: {', '.join(self.env_names)})")
        return self.infos[env]

    def can_read(self, env: str | None = None) -> bool:
        return self.can(access.Action.READ, env)

    def can_edit(self, env: str | None = None) -> bool:
        return self.can(access.Action.COMMIT, env)

    def is_admin(self, env: str | None = None) -> bool:
        return self.can(access.Action.NAMESPACE, env)

    def author_obj(self) -> Any:
        if self.author is None:
            return None
        from gitstore.store import Author

        return Author(*self.author)

    # ----- the environments (blocking: workers only) ------------------------------------------------------------
    def environments(self) -> list[Any]:
        envs = list(self.store.environments())
        self.env_names = [e.name for e in envs]
        self.infos = {e.name: e for e in envs}
        return envs

    def has_remote(self, env: str | None = None) -> bool:
        return bool(self.info(env).remote)
