"""What the server serves: one immutable `EnvState` per environment, swapped atomically on reload.

`build_env_state` turns a store `Snapshot` into compiled namespaces plus every response body that does not depend
on the request (client snapshot, stream line, SSE event, flag list), so the snapshot/304 path does no work. A
namespace whose new version is invalid keeps its last good version and reports the error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from evaluator.client_snapshot import build_client_snapshot
from evaluator.engine import CompiledNamespace, compile_namespace
from evaluator.server.flag_list import FlagItems
from gitstore.git.snapshot import Snapshot
from gitstore.model.documents import FlagType


@dataclass(frozen=True, slots=True)
class ServedNamespace:
    key: str
    commit: str  # the commit this version was built from
    digest: str
    compiled: CompiledNamespace
    snapshot_body: bytes  # client snapshot document (flipt-compatibility §6.4)
    stream_line: bytes  # b'{"result": <snapshot>}\n'
    sse_event: bytes  # refetch notification (flipt-compatibility §6.5)
    flag_items: FlagItems  # GET /api/v1/namespaces/{ns}/flags: each flag, in key order, on first use (flag_list.py)
    bulk_keys: tuple[str, ...] = ()  # OFREP bulk default: boolean flags and enabled variant flags
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvState:
    name: str
    commit: str | None
    namespaces: Mapping[str, ServedNamespace]
    errors: Mapping[str, str] = field(default_factory=dict)  # namespace ("" = whole tree) -> last error text
    loaded_at: float = 0.0  # wall-clock time of the last successful swap
    last_error: str | None = None  # last reload failure (store/Git), cleared by the next good reload
    last_error_at: float | None = None

    def with_failure(self, message: str) -> EnvState:
        return EnvState(self.name, self.commit, self.namespaces, self.errors, self.loaded_at, message, time.time())


def empty_state(name: str) -> EnvState:
    return EnvState(name=name, commit=None, namespaces={})


def sse_event(digest: str) -> bytes:
    payload = orjson.dumps({"type": "refetchEvaluation", "etag": digest})
    return b"id: " + digest[:9].encode() + b"\ndata: " + payload + b"\n\n"


def build_namespace(key: str, commit: str, document: Any, digest: str, file: str = "") -> ServedNamespace:
    compiled = compile_namespace(document, file)
    snapshot = build_client_snapshot(compiled, digest)
    body = orjson.dumps(snapshot)
    return ServedNamespace(
        key=key,
        commit=commit,
        digest=digest,
        compiled=compiled,
        snapshot_body=body,
        stream_line=b'{"result":' + body + b"}\n",
        sse_event=sse_event(digest),
        flag_items=FlagItems(key, document),
        bulk_keys=tuple(f.key for f in document.flags if f.enabled or f.type == FlagType.BOOLEAN),
        warnings=tuple(str(p) for p in compiled.warnings),
    )


def _errors_of(problems: Any) -> list[str]:
    return [str(p) for p in problems or () if getattr(p, "severity", "error") == "error"]


def build_env_state(snapshot: Snapshot, previous: EnvState | None) -> EnvState:
    """A new EnvState from a store Snapshot. Unchanged namespaces (same digest) are reused as they are; an invalid
    one keeps its previous version. Pure CPU work: run it off the event loop."""
    prev_ns = previous.namespaces if previous is not None else {}
    namespaces: dict[str, ServedNamespace] = {}
    errors: dict[str, str] = {}
    files = {path for path, _ in snapshot.files} | {ns.path for ns in snapshot.namespaces.values()}
    tree_errors = _errors_of(p for p in snapshot.problems if p.file not in files)
    for key, ns in snapshot.namespaces.items():
        old = prev_ns.get(key)
        problems = _errors_of(ns.problems)
        if ns.document is None or problems:
            errors[key] = "; ".join(problems) or f"namespace {key!r} could not be loaded"
            if old is not None:
                namespaces[key] = old
            continue
        if old is not None and old.digest == ns.digest:
            namespaces[key] = old
            continue
        try:
            namespaces[key] = build_namespace(key, snapshot.commit, ns.document, ns.digest, ns.path)
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
