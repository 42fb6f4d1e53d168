"""Where each flag and segment of a document is (key -> index), so a one-flag commit at 100,000 flags finds its flag
without walking every flag (issue 18).

An index is built once per document, the first time it is asked for (100,000 flags: ~10 ms), and handed on to the
document a write makes when that write only replaces items under their own keys (`inherit`): the store's parse
cache then holds that very document as the next commit's base, so a run of one-flag commits builds it once.
Documents are frozen, found by identity and held weakly (an index dies with its document). A document with a key
said twice has no index (None): callers then walk the items as before, which keeps "the first one wins" and the
duplicate checks exactly as they were. `INDEXED = False` makes every caller walk (the tests compare both paths).
"""

from __future__ import annotations

import threading
import weakref

from gitstore.model.changes import Kind, resource_value
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment

INDEXED = True
ATTRS = ("flags", "segments")

_kept: dict[tuple[int, str], tuple[weakref.ref[Document], dict[str, int] | None]] = {}
_lock = threading.Lock()


def places(doc: Document, attr: str) -> dict[str, int] | None:
    """key -> index of `doc.flags` (attr "flags") or `doc.segments`; None when a key is said twice (or indexing
    is off). Never modify the answer."""
    if not INDEXED:
        return None
    found = _known(doc, attr)
    if found is not None:
        return found[1]
    items: tuple[Flag | Segment, ...] = getattr(doc, attr)
    built = {item.key: n for n, item in enumerate(items)}
    index = built if len(built) == len(items) else None
    _keep(doc, attr, index)
    return index


def inherit(old: Document, new: Document, attr: str) -> None:
    """`new`'s items of `attr` have the same keys at the same places as `old`'s (the caller knows: it replaced
    items under their own keys, or kept the same tuple): `new` takes `old`'s index, when there is one."""
    found = _known(old, attr)
    if found is not None:
        _keep(new, attr, found[1])


def value_of(doc: Document | None, kind: Kind, key: str) -> Flag | Segment | NamespaceInfo | None:
    """`gitstore.model.changes.resource_value`, through the index."""
    if doc is None or kind is Kind.NAMESPACE:
        return resource_value(doc, kind, key)
    attr = "flags" if kind is Kind.FLAG else "segments"
    index = places(doc, attr)
    if index is None:
        return resource_value(doc, kind, key)
    n = index.get(key)
    return getattr(doc, attr)[n] if n is not None else None


def _known(doc: Document, attr: str) -> tuple[weakref.ref[Document], dict[str, int] | None] | None:
    with _lock:
        found = _kept.get((id(doc), attr))
    return found if found is not None and found[0]() is doc else None


def _keep(doc: Document, attr: str, index: dict[str, int] | None) -> None:
    """Remember the index of a document, forgetting those of documents gone (no weakref callback: one could run
    inside the lock, from a garbage collection)."""
    with _lock:
        for place in [place for place, (ref, _) in _kept.items() if ref() is None]:
            del _kept[place]
        _kept[(id(doc), attr)] = (weakref.ref(doc), index)
