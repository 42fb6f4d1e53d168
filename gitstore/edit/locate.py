"""Where things are in a big feature file, found with C-speed regular expressions over the whole text instead of a
parse: document boundaries, the top-level keys of each document, and the start of every item of a top-level block
sequence (`flags:` / `segments:`). A 10,000-flag file (4.9 MB) is indexed in milliseconds; only the item being
edited is then looked at closely (`gitstore.format.yamlscan`)."""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass

_MARKER = re.compile(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|$)")
_TOP_KEY = re.compile(r"""^(?P<key>[^\s#\-'"\[{][^\n:]*?|"[^"\n]*"|'[^'\n]*')[ \t]*:(?:[ \t]|$)""", re.MULTILINE)
_TOP_CONTENT = re.compile(r"\n[^\s#]")  # starts with a literal, so `re` skips ahead fast


@dataclass(frozen=True)
class TopKey:
    """A top-level entry: `start` of its line, `body` = offset after its key line, `end` = offset after its last
    content line (trailing blank lines and comments excluded), `inline` = the value text on the key line."""

    key: str
    start: int
    body: int
    end: int
    inline: str


@dataclass(frozen=True)
class DocIndex:
    start: int
    end: int
    keys: dict[str, TopKey]


def _line_end(text: str, pos: int) -> int:
    """Offset just after the newline ending the line that holds `pos` (or len(text))."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def content_end(text: str, start: int, limit: int, col: int = -1) -> int:
    """Offset after the last line of the block starting at `start` before `limit`: its last content line, or a
    later comment indented deeper than `col` (the block's own column: such a comment is inside the block).
    Trailing blank lines and comments at or left of `col` are not part of the span (comments directly above an
    item belong to that item)."""
    pos = limit
    while pos > start:
        line_start = text.rfind("\n", start, pos - 1) + 1
        if line_start < start:
            line_start = start
        line = text[line_start:pos]
        stripped = line.strip()
        if stripped and (not stripped.startswith("#") or len(line) - len(line.lstrip(" ")) > col >= 0):
            return pos
        pos = line_start
    return _line_end(text, start)


def index_documents(text: str) -> list[DocIndex] | None:
    """The non-empty documents of the stream with their top-level keys; None if the layout is not plain block
    style (content on a `---` line, top-level content that is not a `key:` line)."""
    bounds = [0]
    markers = [m.start() + 1 for m in _MARKER.finditer(text)]
    if text.startswith(("---", "...")) and text[3:4] in ("", " ", "\t", "\r", "\n"):
        markers.insert(0, 0)
    for at in markers:
        end = _line_end(text, at)
        rest = text[at + 3:end].strip()
        if rest and not rest.startswith("#"):
            return None
        bounds.extend((at, end))
    bounds.append(len(text))
    docs = []
    for i in range(0, len(bounds), 2):
        start, end = bounds[i], bounds[i + 1]
        starts = [m.start() + 1 for m in _TOP_CONTENT.finditer(text, max(start - 1, 0), end - 1)]
        if start == 0 and text[:1] not in ("", " ", "\t", "\n", "\r", "#"):
            starts.insert(0, 0)
        starts = [s for s in starts if not text.startswith("%", s)]
        if not starts:
            continue
        keys: dict[str, TopKey] = {}
        for n, s in enumerate(starts):
            m = _TOP_KEY.match(text, s, _line_end(text, s))
            if m is None:
                if text[s] == "-":
                    continue  # an indentless sequence item of the previous key
                return None
            key = m.group("key").strip().strip("'\"")
            nxt = next((x for x in starts[n + 1:] if text[x] != "-"), end)
            body = _line_end(text, s)
            inline = text[m.end():body].split(" #", 1)[0].strip()
            keys[key] = TopKey(key, s, body, content_end(text, s, nxt, 0), inline)
        docs.append(DocIndex(start, end, keys))
    return docs


def sequence_items(text: str, key: TopKey) -> tuple[int, list[int]] | None:
    """(dash column, start offset of each item) of the block sequence under a top-level key; None when the value
    is not a block sequence (inline `[]`, a mapping, ...). An empty value gives (-1, [])."""
    if key.inline:
        return None
    first = re.compile(r"^( *)(\S)", re.MULTILINE).search(text, key.body, key.end)
    while first is not None and first.group(2) == "#":
        first = re.compile(r"^( *)(\S)", re.MULTILINE).search(text, _line_end(text, first.start()), key.end)
    if first is None:
        return -1, []
    col = len(first.group(1))
    if first.group(2) != "-":
        return None
    dash = re.compile(rf"\n {{{col}}}-(?=[ \t\r\n])")
    starts = [m.start() + 1 for m in dash.finditer(text, key.body - 1, key.end)]
    if not starts or starts[0] != first.start():
        return None
    return col, starts


def leading_comments(text: str, start: int, floor: int, col: int | None = None) -> int:
    """Offset of the first of the comment lines directly above `start` (no blank line between), not before
    `floor`; with `col`, only comments at or left of that column (deeper ones close the previous block)."""
    pos = start
    while pos > floor:
        prev = text.rfind("\n", floor, pos - 1) + 1
        if prev < floor:
            prev = floor
        line = text[prev:pos]
        if not line.strip().startswith("#") or col is not None and len(line) - len(line.lstrip(" ")) > col:
            break
        pos = prev
    return pos


class TextIndex:
    """`index_documents(text)` and the items of its top-level sequences (`items`, each found when first asked
    for), kept for the last texts the writer wrote (`indexed`/`remember`): a commit's text is the next commit's
    base, and indexing 46 MB (100,000 flags) takes a quarter of a second. The index of a text the writer derives
    from its base's (`shifted`) is the one these functions would find."""

    def __init__(self, text: str, docs: list[DocIndex] | None = None,
                 sequences: dict[tuple[int, str], tuple[int, list[int]] | None] | None = None):
        self.text = text
        self.docs = index_documents(text) if docs is None and sequences is None else docs
        self.sequences = sequences if sequences is not None else {}

    def items(self, key: TopKey) -> tuple[int, list[int]] | None:
        """`sequence_items(text, key)`."""
        place = (key.start, key.key)
        if place not in self.sequences:
            self.sequences[place] = sequence_items(self.text, key)
        return self.sequences[place]

    def shifted(self, text: str, edits: list[tuple[int, int, str]]) -> TextIndex | None:
        """The index of `text`, which is this text with `edits` (start, end, replacement) applied, each replacing
        a non-empty span; None when an edit is not such a replacement, an indexed offset falls inside one, or one
        begins where a document or a top-level key begins (that key may be re-emitted, or gone). An item start
        where an edit begins stays when the edit writes something there (the item, patched), and goes when the
        edit deletes (the item with it); any other offset where a deletion begins makes None."""
        if self.docs is None or any(start >= end for start, end, _ in edits):
            return None
        spans = sorted((start, end, len(new) - (end - start), not new) for start, end, new in edits)
        ends, moved, total = [end for _, end, _, _ in spans], [0], 0
        for _, _, delta, _ in spans:
            total += delta
            moved.append(total)

        def move(offset: int, begins: bool = False) -> int:
            """`begins`: a document or a key begins at the offset."""
            at = bisect.bisect_right(ends, offset)  # the edits ending at or before the offset
            if at < len(spans) and (spans[at][0] < offset or spans[at][0] == offset and (begins or spans[at][3])):
                raise _Inside
            return offset + moved[at]

        try:
            docs = [DocIndex(move(d.start, True), move(d.end),
                             {name: TopKey(k.key, move(k.start, True), move(k.body), move(k.end), k.inline)
                              for name, k in d.keys.items()}) for d in self.docs]
            sequences: dict[tuple[int, str], tuple[int, list[int]] | None] = {}
            for (start, name), found in self.sequences.items():
                if found is not None:
                    col, starts = found
                    new: list[int] = []
                    done = 0
                    for (begin, end, _, gone), shift in zip(spans, moved, strict=False):
                        upto = bisect.bisect_right(starts, begin)
                        if upto < len(starts) and starts[upto] < end:
                            raise _Inside
                        keep = upto - 1 if gone and upto > done and starts[upto - 1] == begin else upto
                        new += [s + shift for s in starts[done:keep]] if shift else starts[done:keep]
                        done = upto
                    new += [s + total for s in starts[done:]]
                    found = (col, new)
                sequences[(move(start, True), name)] = found
        except _Inside:
            return None
        return TextIndex(text, docs, sequences)


class _Inside(Exception):
    """An indexed offset inside an edited span: the index cannot be shifted."""


# The last indexes, newest last, each found by its text (the very object, else an equal text: never a stale one).
# Not a dict keyed by the text: hashing a new 46 MB text costs ~40 ms of a one-flag commit at 100,000 flags, and
# a text the writer wrote comes back as the same object (the store's parse cache keeps it), else compares by
# length first.
def _same(a: str, b: str) -> bool:
    return a is b or len(a) == len(b) and a == b


class _Kept(list[TextIndex]):
    def get(self, text: str) -> TextIndex | None:
        return next((kept for kept in self if _same(kept.text, text)), None)


_KEPT = _Kept()
KEPT = 2
_lock = threading.Lock()


def indexed(text: str) -> TextIndex:
    """The index of `text`: remembered, or a new one."""
    with _lock:
        found = _KEPT.get(text)
        if found is not None:
            _KEPT.remove(found)
            _KEPT.append(found)
            return found
    return TextIndex(text)


def remember(index: TextIndex) -> None:
    with _lock:
        _KEPT[:] = [*(kept for kept in _KEPT if not _same(kept.text, index.text)), index][-KEPT:]
