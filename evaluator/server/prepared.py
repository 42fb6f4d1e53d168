"""A served namespace's costly forms (compiled flags, the client snapshot document and its stream line, the OFREP
bulk keys, the compiler's warnings), built once, now or later (issue 18).

At 100,000 flags they take seconds: building the flag models from the checked data, compiling them, writing the
snapshot document. An environment's first state (nothing served yet: the evaluator starting) does not wait for
them when a namespace file is big (`LATER_BYTES`): it is served as soon as its file is loaded and checked, each
flag compiled the first time an evaluation asks for it (`LazyFlags`, the same answer as the whole compile), while
`Preparation.get` builds the rest in the background (the Reloader runs it right after the swap). It writes the
client snapshot first, straight from the checked plain data (`client_snapshot_from_data`: the same document, a
quarter of the time), so a client snapshot waits only for that; a request that needs the rest (a stream, the OFREP
bulk call) waits for all of it; /health says `"prepared": false` meanwhile, with no warnings yet. Every later state (a reload) is built whole before it is
swapped in, the previous one serving meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from evaluator.client_snapshot import build_client_snapshot, client_snapshot_from_data
from evaluator.engine import CompiledNamespace, compile_namespace
from evaluator.engine.compiler import LazyFlags
from gitstore.format.models import build_flag, build_segment
from gitstore.git.snapshot import NamespaceSnapshot
from gitstore.model.documents import Document, Flag, FlagType

log = logging.getLogger("flagdeck.evaluator")
LATER_BYTES = 1_000_000  # a namespace file this big (~2,000 flags) is prepared after the first swap


@dataclass(frozen=True, slots=True)
class Built:
    compiled: CompiledNamespace
    snapshot_body: bytes  # client snapshot document (flipt-compatibility §6.4)
    stream_line: bytes  # b'{"result": <snapshot>}\n'
    bulk_keys: tuple[str, ...]  # OFREP bulk default: boolean flags and enabled variant flags
    warnings: tuple[str, ...]


def build(document: Document, digest: str, file: str = "", body: bytes | None = None) -> Built:
    """`body`: the client snapshot document when it was written already (from the plain data)."""
    compiled = compile_namespace(document, file)
    if body is None:
        body = orjson.dumps(build_client_snapshot(compiled, digest))
    return Built(
        compiled=compiled,
        snapshot_body=body,
        stream_line=b'{"result":' + body + b"}\n",
        bulk_keys=tuple(f.key for f in document.flags if f.enabled or f.type == FlagType.BOOLEAN),
        warnings=tuple(str(p) for p in compiled.warnings),
    )


class Preparation:
    """`build(document(), digest, file)` once, by whichever thread asks first (`get`); until then `compiled` is
    `lazy` (flags compiled one by one), or the built one. `plain`: writes the client snapshot document without
    the models (`snapshot_body` answers with it before the rest is built; `get` writes it first and keeps it)."""

    __slots__ = ("_body", "_body_lock", "_built", "_digest", "_document", "_error", "_file", "_lazy", "_lock",
                 "_plain")

    def __init__(self, document: Callable[[], Document], digest: str, file: str = "",
                 lazy: CompiledNamespace | None = None, built: Built | None = None,
                 plain: Callable[[], bytes] | None = None):
        self._document, self._digest, self._file, self._lazy = document, digest, file, lazy
        self._built = built
        self._error: Exception | None = None
        self._lock = threading.Lock()
        self._plain = plain
        self._body: bytes | None = None
        self._body_lock = threading.Lock()  # taken after `_lock` (in `get`), never before it

    @classmethod
    def now(cls, document: Document, digest: str, file: str = "") -> Preparation:
        return cls(lambda: document, digest, file, built=build(document, digest, file))

    @property
    def done(self) -> Built | None:
        return self._built

    def get(self) -> Built:
        """The built forms (blocking: built here unless another thread is building them or has)."""
        found = self._built
        if found is not None:
            return found
        with self._lock:
            if self._built is None:
                if self._error is not None:
                    raise self._error
                try:
                    body = self._plain_body()  # first: what a client snapshot waits for
                    self._built = build(self._document(), self._digest, self._file, body)
                except Exception as exc:
                    self._error = exc
                    raise
                self._lazy = self._plain = None  # and its flag index: the built form answers from now on
            return self._built

    def _plain_body(self) -> bytes | None:
        """The client snapshot written from the plain data (once), or None without plain data or should writing
        it fail (then `build` writes it from the compiled namespace)."""
        with self._body_lock:
            if self._body is None and self._plain is not None:
                try:
                    self._body = self._plain()
                except Exception:  # noqa: BLE001 - a bug here must not cost the namespace: the models' way answers
                    log.exception("namespace file %s: cannot write its client snapshot from the plain data", self._file)
                    self._plain = None
            return self._body

    @property
    def body_ready(self) -> bool:
        """Whether `snapshot_body` answers without waiting."""
        return self._built is not None or self._body is not None

    def snapshot_body(self) -> bytes:
        """The client snapshot document (blocking: written from the plain data when the namespace has it and is
        not built yet, else built with the rest)."""
        built = self._built
        if built is not None:
            return built.snapshot_body
        body = self._plain_body()
        return body if body is not None else self.get().snapshot_body

    @property
    def compiled(self) -> CompiledNamespace:
        built, lazy = self._built, self._lazy
        if built is not None:
            return built.compiled
        return lazy if lazy is not None else self.get().compiled

    def document(self) -> Document:
        return self._document()


def later(ns: NamespaceSnapshot) -> Preparation | None:
    """A Preparation of a big valid namespace serving its flags compiled one by one until built; None when the
    namespace is small (build it now) or already built."""
    if ns.source is None or len(ns.text) < LATER_BYTES:
        return None
    parts = ns.source.parts(ns.key)
    if parts is None:
        return None
    index: dict[str, tuple[dict[str, Any], int]] = {}
    place = 0
    for doc in parts:
        for data in doc.get("flags") or ():
            index.setdefault(data["key"], (data, place))
            place += 1

    def flag(key: str) -> tuple[Flag, int]:
        data, at = index[key]
        return build_flag(data), at

    segments = [build_segment(s) for doc in parts for s in doc.get("segments") or ()]
    lazy = CompiledNamespace(ns.key, LazyFlags(index, segments, flag, ns.path), [], None)
    source = ns.source
    return Preparation(lambda: source[ns.key], ns.digest, ns.path, lazy,
                       plain=lambda: orjson.dumps(client_snapshot_from_data(parts, ns.digest, ns.path)))
