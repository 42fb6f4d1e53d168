"""What the server serves: one immutable `EnvState` per environment, swapped atomically on reload.

`build_env_state` turns a store `Snapshot` into compiled namespaces plus every response body that does not depend
on the request (client snapshot, stream line, SSE event; the flag list on first use), so the snapshot/304 path does
no work. A namespace whose new version is invalid keeps its last good version and reports the error. At start-up a
big namespace is served once loaded and checked, and prepared right after (prepared.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from evaluator.engine import CompiledNamespace
from evaluator.server.flag_list import FlagItems
from evaluator.server.prepared import Preparation
from evaluator.server.prepared import later as prepare_later
from gitstore.git.snapshot import Snapshot

log = logging.getLogger("flagdeck.evaluator")


@dataclass(frozen=True, slots=True)
class ServedNamespace:
    key: str
    commit: str  # the commit this version was built from
    digest: str
    prepared: Preparation  # compiled flags, client snapshot, stream line, bulk keys, warnings (prepared.py)
    sse_event: bytes  # refetch notification (flipt-compatibility §6.5)
    flag_items: FlagItems  # GET /api/v1/namespaces/{ns}/flags: each flag, in key order, on first use (flag_list.py)

    @property
    def compiled(self) -> CompiledNamespace:
        """What evaluations use (its flags compiled one by one while the namespace is being prepared)."""
        return self.prepared.compiled

    @property
    def snapshot_body(self) -> bytes:
        """The client snapshot document (blocks while it is being written: see `prepared.body_ready`)."""
        return self.prepared.snapshot_body()

    @property
    def stream_line(self) -> bytes:  # b'{"result": <snapshot>}\n'
        return self.prepared.get().stream_line

    @property
    def bulk_keys(self) -> tuple[str, ...]:  # OFREP bulk default: boolean flags and enabled variant flags
        return self.prepared.get().bulk_keys

    @property
    def ready(self) -> bool:
        """Whether everything above answers without waiting (else `prepared.get`, in a thread)."""
        return self.prepared.done is not None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The compiler's warnings (none known yet while the namespace is being prepared)."""
        built = self.prepared.done
        return built.warnings if built is not None else ()


@dataclass(frozen=True, slots=True)
class EnvState:
    name: str
    commit: str | None
    namespaces: Mapping[str, ServedNamespace]
    errors: Mapping[str, str] = field(default_factory=dict)  # namespace ("" = whole tree) -> last error text
    loaded_at: float = 0.0  # wall-clock time of the last successful swap
    last_error: str | None = None  # last reload failure (store/Git), cleared by the next good reload
    last_error_at: float | None = None

    def prepare(self) -> None:
        """Build what `build_env_state` left for later (blocking; in the background, after the swap). A failure
        is logged and raised again to the requests that need what failed."""
        for ns in self.namespaces.values():
            try:
                ns.prepared.get()
            except Exception:  # noqa: BLE001 - an engine bug: the evaluations compiled one by one still answer
                log.exception("environment %s namespace %s: cannot prepare", self.name, ns.key)

    @property
    def unprepared(self) -> bool:
        return any(not ns.ready for ns in self.namespaces.values())

    def with_failure(self, message: str) -> EnvState:
        return EnvState(self.name, self.commit, self.namespaces, self.errors, self.loaded_at, message, time.time())


def empty_state(name: str) -> EnvState:
    return EnvState(name=name, commit=None, namespaces={})


def sse_event(digest: str) -> bytes:
    payload = orjson.dumps({"type": "refetchEvaluation", "etag": digest})
    return b"id: " + digest[:9].encode() + b"\ndata: " + payload + b"\n\n"


def build_namespace(key: str, commit: str, document: Any, digest: str, file: str = "",
                    prepared: Preparation | None = None) -> ServedNamespace:
    """A served namespace, built now unless `prepared` (`prepared.later`) builds it later."""
    prepared = prepared or Preparation.now(document, digest, file)
    return ServedNamespace(
        key=key,
        commit=commit,
        digest=digest,
        prepared=prepared,
        sse_event=sse_event(digest),
        flag_items=FlagItems(key, prepared.document),
    )


def _errors_of(problems: Any) -> list[str]:
    return [str(p) for p in problems or () if getattr(p, "severity", "error") == "error"]


def build_env_state(snapshot: Snapshot, previous: EnvState | None) -> EnvState:
    """A new EnvState from a store Snapshot. Unchanged namespaces (same digest) are reused as they are; an invalid
    one keeps its previous version. An environment's first state leaves big namespaces to be prepared after the
    swap (`EnvState.prepare`, prepared.py). Pure CPU work: run it off the event loop."""
    first = previous is None or not previous.loaded_at
    prev_ns = previous.namespaces if previous is not None else {}
    namespaces: dict[str, ServedNamespace] = {}
    errors: dict[str, str] = {}
    files = {path for path, _ in snapshot.files} | {ns.path for ns in snapshot.namespaces.values()}
    tree_errors = _errors_of(p for p in snapshot.problems if p.file not in files)
    for key, ns in snapshot.namespaces.items():
        old = prev_ns.get(key)
        problems = _errors_of(ns.problems)
        if not ns.valid or problems:
            errors[key] = "; ".join(problems) or f"namespace {key!r} could not be loaded"
            if old is not None:
                namespaces[key] = old
            continue
        if old is not None and old.digest == ns.digest:
            namespaces[key] = old
            continue
        try:
            later = prepare_later(ns) if first else None
            document = ns.document if later is None else None
            namespaces[key] = build_namespace(key, snapshot.commit, document, ns.digest, ns.path, later)
        except Exception as exc:  # an engine bug must not take the environment down: keep the last good one
            errors[key] = f"{ns.path or key}: cannot compile: {exc}"
            if old is not None:
                namespaces[key] = old
    if tree_errors:
        errors[""] = "; ".join(tree_errors)
    return EnvState(
        name=snapshot.environment,
        commit=snapshot.commit,
        namespaces=namespaces,
        errors=errors,
        loaded_at=time.time(),
    )
