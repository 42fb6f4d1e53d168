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

import bisect
import threading
import weakref
from typing import TYPE_CHECKING

from gitstore.model.changes import Kind, resource_value
from gitstore.model.documents import Document, Flag, NamespaceInfo, Segment

if TYPE_CHECKING:
    from gitstore.edit.locate import TextIndex

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


def known(doc: Document, attr: str) -> dict[str, int] | None:
    """The index of `doc`'s `attr` when one is kept (never built here); None otherwise."""
    found = _known(doc, attr)
    return found[1] if found is not None else None


class Unchecked(dict[str, int]):
    """A key index read from disk (`adopt`): what it finds is checked at its place, like any; a key it does not
    hold is looked for by walking the items (`place_of`), so a key missing from it never reads as absent."""


def adopt(doc: Document, attr: str, index: dict[str, int]) -> None:
    """Give `doc` this index of its `attr` (read from disk by `gitstore.edit.stored`), unless it has one."""
    if INDEXED and _known(doc, attr) is None:
        _keep(doc, attr, Unchecked(index))


WALK = -1
"""`place_of`'s answer when the index cannot say: the caller walks the items."""


def place_of(doc: Document, attr: str, key: str) -> int | None:
    """Where `key` is in `doc.flags` (attr "flags") or `doc.segments`: its index, None when it is not there, or
    `WALK` when the document has no index (a key said twice, indexing off), the index names another item there
    (never: an index is right; checked here, once for every caller, so a wrong one costs a walk, not a wrong
    write), or an index read from disk (`Unchecked`) does not hold the key."""
    index = places(doc, attr)
    if index is None:
        return WALK
    n = index.get(key)
    if n is None:
        return WALK if isinstance(index, Unchecked) else None
    return n if getattr(doc, attr)[n].key == key else WALK


def value_of(doc: Document | None, kind: Kind, key: str) -> Flag | Segment | NamespaceInfo | None:
    """`gitstore.model.changes.resource_value`, through the index."""
    if doc is None or kind is Kind.NAMESPACE:
        return resource_value(doc, kind, key)
    attr = "flags" if kind is Kind.FLAG else "segments"
    n = place_of(doc, attr, key)
    if n == WALK:
        return resource_value(doc, kind, key)
    item: Flag | Segment | None = getattr(doc, attr)[n] if n is not None else None
    return item


MOVED_MAX = 5_000  # items whose place changes: beyond, the index is built anew (as fast)


def follow(index: TextIndex, doc: Document) -> None:
    """`doc` is the parsed document of `index.text`, a text the writer followed from one it kept the document of
    (`locate.TextIndex.follow`: another writer's commit came between; `index.origin`): give `doc` that document's
    index, moved over the spans that differ, instead of building it (100,000 flags: ~40 ms). Only when that is its
    index for certain: the file holds one document in both texts, each sequence's items are its document's (same
    count) at the same column, and an item whose text lies between two spans is at the same place in both texts,
    so it has the same key: no alias in the text (`*`: an alias reads another item's text) and no directive in a
    span (`%`: tags). The keys of the other items are read from the documents; a key said twice, or more than
    `MOVED_MAX` items moved, leave `doc` without (its index is then built when asked for, as before)."""
    if not INDEXED or index.origin is None:
        return
    old_index, spans = index.origin
    old_doc = old_index.document() if old_index.document is not None else None
    if not isinstance(old_doc, Document) or "*" in index.text or len(old_index.docs or ()) != 1 \
            or len(index.docs or ()) != 1:
        return
    shift = 0
    for start, end, delta in spans:
        if "%" in old_index.text[start:end] or "%" in index.text[start + shift:end + shift + delta]:
            return
        shift += delta
    for attr in ATTRS:
        old = _known(old_doc, attr)
        if old is not None and old[1] is not None and _known(doc, attr) is None:
            moved = _moved(old[1], old_index, index, (old_doc, doc), attr, spans)
            if moved is not None:
                _keep(doc, attr, moved)


def _moved(old: dict[str, int], old_index: TextIndex, index: TextIndex, docs: tuple[Document, Document],
           attr: str, spans: list[tuple[int, int, int]]) -> dict[str, int] | None:
    old_key, new_key = (old_index.docs or [])[0].keys.get(attr), (index.docs or [])[0].keys.get(attr)
    if old_key is None or new_key is None:
        return None
    old_seq, new_seq = old_index.items(old_key), index.items(new_key)
    old_items, new_items = getattr(docs[0], attr), getattr(docs[1], attr)
    if old_seq is None or new_seq is None or old_seq[0] != new_seq[0] or len(old_seq[1]) != len(old_items) \
            or len(new_seq[1]) != len(new_items):
        return None
    a, b = old_seq[1], new_seq[1]
    # the text between spans (segments of `a`, each moved by the spans before it): the items wholly inside one
    # are at the same place in `b`, moved alike; an item's text ends where the next one starts, or the sequence ends
    kept: list[tuple[int, int, int]] = []  # (first item in a, past the last, first item in b)
    bounds, shift = [], 0
    for start, end, delta in spans:
        bounds.append((shift, start))
        shift += delta
        bounds.append((shift, end))
    pairs = [(0, 0, bounds[0][1]) if bounds else (0, 0, len(old_index.text))]
    pairs += [(bounds[i][0], bounds[i][1], bounds[i + 1][1] if i + 1 < len(bounds) else len(old_index.text))
              for i in range(1, len(bounds), 2)]
    for moved_by, lo, hi in pairs:
        first = bisect.bisect_left(a, lo)
        past = bisect.bisect_right(a, hi)
        if past == len(a) and old_key.end > hi or past < len(a) and a[past] > hi:
            past -= 1  # the last item starting in the segment ends after it
        if past <= first:
            continue
        at = bisect.bisect_left(b, a[first] + moved_by)
        ends = (_end(a, past - 1, old_key.end) + moved_by, _end(b, at + past - first - 1, new_key.end))
        if at + past - first > len(b) or ends[0] != ends[1] \
                or b[at:at + past - first] != ([s + moved_by for s in a[first:past]] if moved_by else a[first:past]):
            return None
        kept.append((first, past, at))
    new = type(old)(old)  # an Unchecked one stays so
    moved, done_a, done_b = 0, 0, 0
    added: list[int] = []
    for first, past, at in [*kept, (len(a), len(a), len(b))]:
        for n in range(done_a, first):  # items in spans: gone, or read anew below
            if new.pop(old_items[n].key, None) != n:
                return None
        added += range(done_b, at)
        if at != first:
            moved += past - first
            if moved > MOVED_MAX:
                return None
            for n in range(first, past):
                new[old_items[n].key] = n + at - first
        done_a, done_b = past, at + past - first
    if len(added) > MOVED_MAX:
        return None
    for n in added:
        key = new_items[n].key
        if key in new:
            return None  # a key said twice (the index is built, and finds it)
        new[key] = n
    return new if len(new) == len(new_items) else None


def _end(starts: list[int], n: int, limit: int) -> int:
    return starts[n + 1] if n + 1 < len(starts) else limit


def forget(doc: Document) -> None:
    """Drop the indexes of `doc` (the writer distrusts what it derived them from): built again when asked for."""
    with _lock:
        for attr in ATTRS:
            _kept.pop((id(doc), attr), None)


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
