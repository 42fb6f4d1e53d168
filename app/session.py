"""The console's data layer: what the user is looking at, the edits waiting to be committed, and the calls into the
store. Nothing here imports Textual. Methods marked *blocking* reach Git and are called from workers only; the rest
work on data already loaded and are cheap enough for the event loop."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from gitstore import roles as access
from gitstore.gcpause import gc_paused
from gitstore.model.changes import Change, Kind, apply_to_document, commit_message, resource_value
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment

if TYPE_CHECKING:
    from gitstore.protocols import StoreEditor
    from gitstore.results import CommitResult, SyncState

Clock = Callable[[], datetime]
Resource = Flag | Segment | NamespaceInfo
_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*(?:<(?P<email>[^<>]*)>)?\s*$")
_MESSAGE_LINE = re.compile(r"^(?:create|update|delete) (flag|segment) ([^/\s]+)/(\S+)$")


class PromotionPreview(NamedTuple):
    """What a promotion would do in the target environment: its file's diff, the namespace before and after."""

    diff: Any  # app.insight.file_diff.FileDiff
    before: Document | None
    after: Document | None


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_author(text: str) -> tuple[str, str]:
    """`"Ada Lovelace <ada@example.com>"` -> (name, email); a bare name gets `<name>@localhost`."""
    match = _AUTHOR.match(text or "")
    if not match:
        raise ValueError(f"not an author: {text!r} (expected 'NAME <EMAIL>')")
    name = match["name"]
    email = match["email"] or f"{re.sub(r'[^A-Za-z0-9._-]+', '.', name).strip('.') or 'user'}@localhost"
    return name, email


def git_identity() -> tuple[str, str] | None:
    """Git's configured `user.name`/`user.email` (global or system config), if any."""
    try:
        import pygit2

        config = pygit2.Config.get_global_config()
        name, email = config["user.name"], config["user.email"]
        return (name, email) if name is not None and email is not None else None
    except (KeyError, OSError, ImportError, pygit2.GitError):
        return None


def resolve_author(user: str | None, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The commit author: `--user`, else `FLAGDECK_USER`, else Git's identity (None: the store's fall-back)."""
    environ = os.environ if environ is None else environ
    text = user or environ.get("FLAGDECK_USER")
    return parse_author(text) if text else git_identity()


def relative_time(then: datetime | None, now: datetime) -> str:
    """`just now`, `5m ago`, `3h ago`, `2d ago`, else the date."""
    if then is None:
        return ""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size, limit in (("m", 60, 3600), ("h", 3600, 86400), ("d", 86400, 86400 * 30)):
        if seconds < limit:
            return f"{int(seconds // size)}{unit} ago"
    return then.strftime("%Y-%m-%d")


@dataclass
class Pending:
    """One resource change waiting for review: the change, the value it replaces, the commit it was made on."""

    env: str
    change: Change
    before: Resource | None
    based_on: str | None

    @property
    def title(self) -> str:
        verb = "create" if self.before is None and self.change.value is not None else self.change.verb
        return f"{verb} {self.change.kind.value} {self.change.resource}"


@dataclass
class Session:
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

    # ----- blocking reads (workers only) ---------------------------------------------------------------------
    def environments(self) -> list[Any]:
        envs = list(self.store.environments())
        self.env_names = [e.name for e in envs]
        self.infos = {e.name: e for e in envs}
        return envs

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
                    _plain_flags(snapshot, self.namespace)
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
                _plain_flags(self.store.snapshot(self.env), self.namespace)
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

    def revert(self, commit: str, flag: str | None = None) -> CommitResult:
        """Blocking: undo what `commit` changed in the namespace (or the flag); see `gitstore.model.revert`."""
        result = self.store.revert(self.env, self.namespace, commit, flag=flag, author=self.author_obj())
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result

    def restore(self, commit: str, flag: str | None = None) -> CommitResult:
        """Blocking: put the namespace (or the flag) back as it was at `commit`."""
        result = self.store.restore(self.env, self.namespace, commit, flag=flag, author=self.author_obj())
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result

    def promote(self, target: str, flag: str | None = None) -> CommitResult:
        result = self.store.promote(self.env, target, self.namespace, flag=flag, author=self.author_obj())
        self.refresh_sync(target)
        return result

    def promote_proposal(self, proposals: Any, target: str, flag: str | None = None) -> Any:
        """Blocking: promotion into a protected `target` as a proposal (`Proposals.promote`: a branch of the target
        receives the promotion and is proposed); returns the proposal's status."""
        status = proposals.promote(self.env, target, self.namespace, flag, self.author_obj())
        self.environments()  # the new branch is an environment now
        return status

    def promotion_preview(self, target: str, flag: str | None = None) -> PromotionPreview | None:
        """Blocking: what promoting the flag (with the segments it uses), or the whole namespace, from this
        environment as committed would change in `target`: its file's diff and the namespace there before and
        after (for the impact preview), or None when nothing would change."""
        from app.insight.file_diff import file_diff
        from gitstore.model.changes import promotion_changes

        source, dest = self.store.snapshot(self.env), self.store.snapshot(target)
        doc = source.document(self.namespace)
        if doc is None:
            raise ValueError(f"namespace {self.namespace!r} has no valid document in {self.env}")
        changes = promotion_changes(self.namespace, doc, dest.document(self.namespace), flag)
        if not changes:
            return None
        directory = self.info(target).directory or ""
        before = dest.document(self.namespace)
        return PromotionPreview(file_diff(dest, directory, self.namespace, changes), before,
                                apply_to_document(before, changes))

    def has_remote(self, env: str | None = None) -> bool:
        return bool(self.info(env).remote)

    def refresh_sync(self, env: str | None = None) -> SyncState:
        """Blocking: read the environment's sync state (ahead, behind, reachable, last error) into `sync`."""
        env = env or self.env
        state = self.sync[env] = self.store.sync_state(env)
        return state

    # ----- documents as the user sees them (snapshot + pending) ----------------------------------------------
    def snapshot(self, env: str | None = None) -> Any:
        return self.snapshots.get(env or self.env)

    def namespace_keys(self, env: str | None = None) -> list[str]:
        env = env or self.env
        snap = self.snapshots.get(env)
        keys = set(snap.namespaces) if snap else set()
        for p in self.pending_for(env):
            if p.change.kind is Kind.NAMESPACE:
                (keys.add if p.change.value is not None else keys.discard)(p.change.key)
        return sorted(keys)

    def base_document(self, env: str | None = None, namespace: str | None = None) -> Document | None:
        snap = self.snapshots.get(env or self.env)
        ns = snap.namespaces.get(namespace or self.namespace) if snap else None
        return ns.document if ns else None

    def document(self, env: str | None = None, namespace: str | None = None) -> Document | None:
        """The namespace document with this session's pending edits applied (None when it does not exist)."""
        env, namespace = env or self.env, namespace or self.namespace
        doc = self.base_document(env, namespace)
        changes = [p.change for p in self.pending_for(env) if p.change.namespace == namespace]
        if any(c.kind is Kind.NAMESPACE and c.value is None for c in changes):
            return None
        return apply_to_document(doc, changes) if changes else doc

    def plain_flags(self, env: str | None = None, namespace: str | None = None) -> list[dict[str, Any]] | None:
        """The namespace's flags as the file's checked plain data, while its document is not built and no edit of
        it is pending (the flag list's first screen: 100,000 flags shown without building 700,000 models); None
        otherwise (read `document()`). Never modify them."""
        env, namespace = env or self.env, namespace or self.namespace
        if any(p.change.namespace == namespace for p in self.pending_for(env)):
            return None
        return _plain_flags(self.snapshots.get(env), namespace)

    def problems(self, env: str | None = None, namespace: str | None = None) -> list[Any]:
        snap = self.snapshots.get(env or self.env)
        if not snap:
            return []
        if namespace is None:
            return list(snap.problems)
        ns = snap.namespaces.get(namespace)
        return list(ns.problems) if ns else []

    def find(self, kind: Kind, key: str, namespace: str | None = None) -> Resource | None:
        return resource_value(self.document(namespace=namespace), kind, key)

    # ----- pending edits --------------------------------------------------------------------------------------
    def pending_for(self, env: str | None = None) -> list[Pending]:
        env = env or self.env
        return [p for p in self.pending if p.env == env]

    def is_pending(self, kind: Kind, key: str, namespace: str | None = None) -> bool:
        namespace = namespace or self.namespace
        return any(
            p.change.kind is kind and p.change.key == key and p.change.namespace == namespace
            for p in self.pending_for()
        )

    def stage(self, change: Change) -> None:
        """Add an edit; a second edit of the same resource folds into the first; an edit back to the original
        value drops it."""
        if not self.can_edit():
            raise PermissionError(f"role {self.role()!r} cannot edit environment {self.env!r}")
        snap = self.snapshots.get(self.env)
        for i, p in enumerate(self.pending):
            c = p.change
            if (p.env, c.namespace, c.kind, c.key) == (self.env, change.namespace, change.kind, change.key):
                if change.value == p.before:
                    del self.pending[i]
                else:
                    self.pending[i] = Pending(self.env, change, p.before, p.based_on)
                return
        before = self._base_value(change)
        if change.value != before:
            self.pending.append(Pending(self.env, change, before, snap.commit if snap else None))

    def _base_value(self, change: Change) -> Resource | None:
        return resource_value(self.base_document(self.env, change.namespace), change.kind, change.key)

    def discard(self, pending: Pending) -> None:
        self.pending.remove(pending)

    def discard_all(self, env: str | None = None) -> None:
        env = env or self.env
        self.pending = [p for p in self.pending if p.env != env]

    def file_diffs(self, env: str | None = None) -> list[Any]:
        """CPU (run it in a worker): per namespace with pending edits, the diff the commit will make to its file
        (`app.insight.file_diff`), in namespace order."""
        from app.insight.file_diff import file_diff

        env = env or self.env
        snap = self.snapshots.get(env)
        directory = self.info(env).directory or ""
        by_namespace: dict[str, list[Change]] = {}
        for p in self.pending_for(env):
            by_namespace.setdefault(p.change.namespace, []).append(p.change)
        return [file_diff(snap, directory, ns, changes) for ns, changes in sorted(by_namespace.items())]

    def proposed_message(self, env: str | None = None) -> str:
        items = self.pending_for(env)
        created = {p.change.resource for p in items if p.before is None}
        return commit_message([p.change for p in items], created) if items else ""

    def commit(self, message: str | None = None) -> CommitResult:
        """Blocking: commit this environment's pending edits as one commit; they stay pending if it fails."""
        items = self.pending_for()
        if not items:
            raise ValueError("nothing to commit")
        based_on = next((p.based_on for p in items if p.based_on), None)
        result = self.store.commit(
            self.env, [p.change for p in items], author=self.author_obj(), based_on=based_on,
            message=message or None,
        )
        self.pending = [p for p in self.pending if p not in items]
        self.seen[self.env] = self.load()  # one's own commit is no news
        return result


def _plain_flags(snapshot: Any, namespace: str) -> list[dict[str, Any]] | None:
    """The flags of `namespace` in `snapshot` as checked plain data while its document is not built, else None."""
    found = snapshot.namespaces.get(namespace) if snapshot is not None else None
    source = found.source if found is not None else None
    if source is None or namespace not in source or namespace in source.built:
        return None
    parts = source.parts(namespace)  # None: built meanwhile
    return None if parts is None else [flag for part in parts for flag in part.get("flags") or ()]


def break_glass_commit(session: Session, reason: str, message: str | None = None) -> CommitResult:
    """Blocking: commit the session's pending edits directly to its protected environment, breaking glass
    (`store.break_glass`, admins only): the commit carries `Break-glass: <reason>` and leaves an audit record."""
    with session.store.break_glass(session.env, reason):
        return session.commit(message)


def resource_text(kind: Kind, value: Resource | None) -> str:
    """One resource as the YAML it will have in the file (empty when absent)."""
    if value is None:
        return ""
    from gitstore.format.models import dump_document

    if kind is Kind.FLAG:
        text = dump_document(Document(flags=(value,)))
    elif kind is Kind.SEGMENT:
        text = dump_document(Document(segments=(value,)))
    else:
        text = dump_document(Document(namespace=value))
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("flags:", "segments:", "namespace:"))), 0)
    return "\n".join(lines[start:]) + "\n"
