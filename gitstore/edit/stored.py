"""The text index of a big namespace file (`locate.TextIndex`) and its document's key index (`places`), kept on disk
beside the parse cache, by blob id (`gitstore.format.cache.save_index`): the writer keeps those of each big file it
writes (it has them without a scan: `TextIndex.shifted`, `places.inherit`), so the first commit of another process
on that blob (a `flagdeck flag set` after another one, a console opened after a commit) reads them instead of
scanning the whole text and walking every flag (100,000 flags, 46 MB: ~120 ms of that commit; issue 18).

Never stale: an entry is named by the blob id (the file's content), the file name and a fingerprint of the code
that made it (the loader's, this package's); it holds the text's length and is checked like a parse cache entry (a
miss when anything is off). What it holds is checked against the text and the document it is used for (types,
order, bounds, counts, a few entries read again); the splicer checks what it uses, as it checks an index kept in
memory, and scans the text again when that does not line up (`gitstore.edit.writer`).
"""

from __future__ import annotations

import hashlib
import operator
from pathlib import Path
from typing import Any, TypeGuard

from gitstore.edit import locate, places
from gitstore.format import cache
from gitstore.model.documents import Document

SAVED_FROM = 1 << 20  # characters: a smaller text is scanned in a few milliseconds
_code: str | None = None


def code() -> str:
    """The fingerprint of what decides an entry: the loader's (`cache.fingerprint`) and this package's source."""
    global _code
    if _code is None:
        here = Path(__file__).resolve().parent
        digest = hashlib.sha1(cache.fingerprint().encode())
        for name in ("locate.py", "places.py", "stored.py"):
            digest.update(name.encode() + b"\0" + (here / name).read_bytes())
        _code = digest.hexdigest()
    return _code


def _lf(text: str) -> str:
    """The text the writer indexes (`writer.edit_file` edits CRLF files with LF line ends)."""
    return text.replace("\r\n", "\n") if "\r\n" in text else text


def save(directory: Path | None, blob: str, filename: str, text: str, document: Document) -> bool:
    """Keep the index of `text` (the file `filename` the writer has just written as the blob `blob`) and the key
    index of `document` (the namespace it holds), when the writer has them; whether an entry was written."""
    if directory is None or len(text) < SAVED_FROM:
        return False
    index = locate.remembered(_lf(text))
    if index is None:
        return False
    keys = {attr: _in_order(found) for attr in places.ATTRS if (found := places.known(document, attr)) is not None}
    payload = {"length": len(index.text), "markers": index.marks.markers, "tops": index.marks.tops,
               "dashes": {str(col): found for col, found in index.dashes.items()},
               "namespace": document.namespace.key, "places": keys}
    saved = cache.save_index(directory, blob, filename, code(), payload)
    if saved:
        try:
            cache.evict(directory)
        except OSError:
            pass
    return saved


def load(directory: Path | None, blob: str, filename: str, text: str, document: Document | None
         ) -> locate.TextIndex | None:
    """The index of `text` (the file `filename` as the blob `blob` holds it, with LF line ends) kept on disk, and
    `document` (the namespace it holds) given its key index; None when there is none that fits."""
    if directory is None or len(text) < SAVED_FROM:
        return None
    payload = cache.load_index(directory, blob, filename, code())
    if not isinstance(payload, dict):
        return None
    index = _index(payload, text)
    if index is None:
        return None
    found = payload.get("places")
    if document is not None and payload.get("namespace") == document.namespace.key and isinstance(found, dict):
        for attr in places.ATTRS:
            keys = _fits(found.get(attr), getattr(document, attr))
            if keys is not None:
                places.adopt(document, attr, keys)
    return index


def _in_order(index: dict[str, int]) -> list[str]:
    """The keys of a key index, in the order of their items."""
    keys = [""] * len(index)
    for key, n in index.items():
        keys[n] = key
    return keys


def _index(payload: dict[str, Any], text: str) -> locate.TextIndex | None:
    markers, tops, dashes = payload.get("markers", ()), payload.get("tops", ()), payload.get("dashes")
    if payload.get("length") != len(text) or not _offsets(markers, text) or not _offsets(tops, text) \
            or not isinstance(dashes, dict):
        return None
    if any(not text.startswith("\n", at) for at in tops) or not set(markers) <= set(tops):
        return None
    columns: dict[int, list[int]] = {}
    for col, found in dashes.items():
        if not col.isdigit() or not _offsets(found, text):
            return None
        lead = "\n" + " " * int(col) + "-"
        # a few read again: the first, the middle and the last (the blob id says they all are)
        if any(not text.startswith(lead, found[n] - 1) for n in {0, len(found) // 2, len(found) - 1} if found):
            return None
        columns[int(col)] = found
    return locate.TextIndex(text, locate.Marks(markers, tops), columns)


def _offsets(found: Any, text: str) -> TypeGuard[list[int]]:
    """A list of increasing offsets into `text`."""
    return isinstance(found, list) and (not found or set(map(type, found)) == {int} and 0 <= found[0]
                                        and found[-1] < len(text) and all(map(operator.lt, found, found[1:])))


def _fits(keys: Any, items: tuple[Any, ...]) -> dict[str, int] | None:
    """The key index of these items from their keys in order (`_in_order`): each said once, one for each item,
    the first, the middle and the last read again at their place; None when it does not fit."""
    if not isinstance(keys, list) or len(keys) != len(items) or keys and set(map(type, keys)) != {str}:
        return None
    index = dict(zip(keys, range(len(keys)), strict=True))
    if len(index) != len(keys) or any(items[n].key != keys[n] for n in {0, len(keys) // 2, len(keys) - 1} if keys):
        return None
    return index
