"""Where things are in a big feature file, found with C-speed regular expressions over the whole text instead of a
parse: document boundaries, the top-level keys of each document, and the start of every item of a top-level block
sequence (`flags:` / `segments:`). A 10,000-flag file (4.9 MB) is indexed in milliseconds; only the item being
edited is then looked at closely (`gitstore.format.yamlscan`)."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Marks:
    """Where the two whole-text patterns match (the offset of the newline each match begins with): document
    markers (`_MARKER`) and lines starting at column 0 with content (`_TOP_CONTENT`). Each match depends only on a
    few characters around it (`WIDTH`), so the marks of an edited text are the old ones outside the edits plus a
    scan of the edited spans (`TextIndex.moved`)."""

    markers: list[int]
    tops: list[int]


# characters a match at offset x reads: x .. x + width - 1 (a lookahead included)
_MARKER_WIDTH, _TOP_WIDTH = 5, 2


def scan_marks(text: str) -> Marks:
    return scan(text)[0]


SCAN_COL = 2  # the dash column found with the marks (the canonical layout's items: `flags:\n  - key: ...`)
_SCAN = re.compile(rf"\n(?:[^\s#]| {{{SCAN_COL}}}-(?=[ \t\r\n]))")  # _TOP_CONTENT or _dash(SCAN_COL)


def scan(text: str) -> tuple[Marks, list[int]]:
    """The marks of `text` and `scan_dashes(text, SCAN_COL)`, in one pass over its lines instead of three (46 MB:
    ~2 million lines, each looked at by each pattern). The same offsets: every match of the two alternatives is
    found (a match holds no newline after its first character, so none hides another), a top-level line's second
    character is not a space and a dash line's is, and every `_MARKER` match is a `_TOP_CONTENT` one (`-`, `.`)."""
    tops: list[int] = []
    dashes: list[int] = []
    for match in _SCAN.finditer(text):
        at = match.start()
        if text[at + 1] == " ":
            dashes.append(at + 1)
        else:
            tops.append(at)
    return Marks([at for at in tops if _MARKER.match(text, at)], tops), dashes


def index_documents(text: str, marks: Marks | None = None) -> list[DocIndex] | None:
    """The non-empty documents of the stream with their top-level keys; None if the layout is not plain block
    style (content on a `---` line, top-level content that is not a `key:` line). `marks`: `scan_marks(text)`."""
    marks = marks or scan_marks(text)
    bounds = [0]
    markers = [m + 1 for m in marks.markers]
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
        # the matches a scan of text[max(start - 1, 0):end - 1] finds: each reads two characters before end - 1
        tops = marks.tops[bisect.bisect_left(marks.tops, max(start - 1, 0)):bisect.bisect_right(marks.tops, end - 3)]
        starts = [m + 1 for m in tops]
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


_FIRST = re.compile(r"^( *)(\S)", re.MULTILINE)


def _dash(col: int) -> re.Pattern[str]:
    return re.compile(rf"\n {{{col}}}-(?=[ \t\r\n])")


def scan_dashes(text: str, col: int) -> list[int]:
    """Start offsets of the `- ` item lines at column `col` (after a newline), in the whole text."""
    return [m.start() + 1 for m in _dash(col).finditer(text)]


def sequence_items(text: str, key: TopKey, dashes: Callable[[int], list[int]] | None = None
                   ) -> tuple[int, list[int]] | None:
    """(dash column, start offset of each item) of the block sequence under a top-level key; None when the value
    is not a block sequence (inline `[]`, a mapping, ...). An empty value gives (-1, []). `dashes`: a function
    giving `scan_dashes(text, col)` (kept ones), else the text is scanned."""
    if key.inline:
        return None
    first = _FIRST.search(text, key.body, key.end)
    while first is not None and first.group(2) == "#":
        first = _FIRST.search(text, _line_end(text, first.start()), key.end)
    if first is None:
        return -1, []
    col = len(first.group(1))
    if first.group(2) != "-":
        return None
    found = dashes(col) if dashes is not None else scan_dashes(text, col)
    # the matches of a scan of text[key.body - 1:key.end]: each reads col + 3 characters from its newline, a
    # lookahead included
    starts = found[bisect.bisect_left(found, key.body):bisect.bisect_right(found, key.end - col - 2)]
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
    base, and indexing 46 MB (100,000 flags) takes a quarter of a second. What the index holds is derived from
    where a few patterns match (`Marks`, the dash lines of each column), and each match reads only a few characters:
    the index of an edited text (`shifted`: the writer's own edits; `follow`: another writer's text, compared with
    this one) keeps the matches outside the edited spans, moved, and scans only those spans, so it is the index a
    scan of the whole text finds."""

    def __init__(self, text: str, marks: Marks | None = None, dashes: dict[int, list[int]] | None = None,
                 document: Any = None):
        self.text = text
        self.dashes = dashes if dashes is not None else {}
        if marks is None:
            marks, self.dashes[SCAN_COL] = scan(text)
        self.marks = marks
        self.docs = index_documents(text, self.marks)
        self.sequences: dict[tuple[int, str], tuple[int, list[int]] | None] = {}
        self.document = document  # a weakref to the parsed document of `text`, when the writer made both
        self.origin: tuple[TextIndex, list[tuple[int, int, int]]] | None = None  # `follow`: from what, the spans

    def items(self, key: TopKey) -> tuple[int, list[int]] | None:
        """`sequence_items(text, key)`."""
        place = (key.start, key.key)
        if place not in self.sequences:
            self.sequences[place] = sequence_items(self.text, key, self._dashes)
        return self.sequences[place]

    def _dashes(self, col: int) -> list[int]:
        if col not in self.dashes:
            self.dashes[col] = scan_dashes(self.text, col)
        return self.dashes[col]

    def shifted(self, text: str, edits: list[tuple[int, int, str]]) -> TextIndex:
        """The index of `text`, which is this text with `edits` (start, end, replacement) applied (`splice`)."""
        spans: list[list[int]] = []  # [start, end, length in `text`]: edits that touch or overlap are one span
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
            if spans and start <= spans[-1][1]:
                span = spans[-1]
                span[2] += len(new) + max(0, start - span[1])  # what `splice` keeps between them, then the new
                span[1] = max(span[1], end)
            else:
                spans.append([start, end, len(new)])
        moved = [(start, end, length - (end - start)) for start, end, length in spans]
        if sum(delta for _, _, delta in moved) != len(text) - len(self.text):
            return self.follow(text)  # not what `splice` makes of these edits: compare the texts instead
        return self.moved(text, moved)

    def follow(self, text: str, spans: list[tuple[int, int, int]] | None = None) -> TextIndex:
        """The index of `text`, another version of this text; `spans`: `differing_spans(self.text, text)`."""
        spans = differing_spans(self.text, text) if spans is None else spans
        index = self.moved(text, spans)
        index.origin = (self, spans)
        return index

    def moved(self, text: str, spans: list[tuple[int, int, int]]) -> TextIndex:
        """The index of `text`, which is this text with each span (start, end, change of length) replaced; the
        spans are sorted and do not overlap."""
        marks = Marks(_moved(self.marks.markers, _MARKER, _MARKER_WIDTH, text, spans),
                      _moved(self.marks.tops, _TOP_CONTENT, _TOP_WIDTH, text, spans))
        dashes = {col: _moved(found, _dash(col), col + 3, text, spans, 1) for col, found in self.dashes.items()}
        return TextIndex(text, marks, dashes)


def _moved(old: list[int], pattern: re.Pattern[str], width: int, text: str, spans: list[tuple[int, int, int]],
           lead: int = 0) -> list[int]:
    """The offsets where `pattern` matches in `text` (plus `lead`), from `old` (the same in the text before the
    spans were replaced): a match reads `width` characters from its offset, so one that reads none of a span's
    characters is found again, moved by the spans before it; around each span the new text is scanned."""
    out: list[int] = []
    done, shift = 0, 0  # old offsets below `done` are placed; `shift` = change of length of the spans placed
    for start, end, delta in spans:
        keep = bisect.bisect_right(old, start - width + lead, done)  # matches that end before the span
        out += [m + shift for m in old[done:keep]] if shift else old[done:keep]
        new_start, new_end = start + shift, end + shift + delta  # the span in `text`
        lo, hi = max(new_start - width + 1, 0), new_end - 1
        scan = max(lo, out[-1] - lead + 1 if out else 0)
        out += [m.start() + lead for m in pattern.finditer(text, scan, min(len(text), hi + width + 1))
                if m.start() <= hi]
        shift += delta
        done = bisect.bisect_left(old, end + lead, keep)
    out += [m + shift for m in old[done:]] if shift else old[done:]
    return out


SPANS_MAX = 8  # differing spans looked for; the rest of the text is then one span


def differing_spans(a: str, b: str) -> list[tuple[int, int, int]]:
    """Where `b` differs from `a`, as the spans of `a` (start, end, change of length) that, replaced, make `b`; the
    text between them is the same in both (compared). Found by comparing growing chunks from the start and the end
    and, between, by finding the text that follows a difference in `b` again in `a` a little further on (46 MB
    with one flag changed: ~10 ms). Not the fewest or smallest spans: spans that differ."""
    spans: list[tuple[int, int, int]] = []
    at_a = at_b = _common(a, b, 0, 0, len(a), len(b))
    tail = _common_tail(a, b, at_a, at_b)
    end_a, end_b = len(a) - tail, len(b) - tail
    while at_a != end_a or at_b != end_b:
        found = _resync(a, b, at_a, at_b, end_a, end_b) if len(spans) < SPANS_MAX - 1 else None
        if found is None:
            spans.append((at_a, end_a, (end_b - at_b) - (end_a - at_a)))
            break
        next_a, next_b = found
        spans.append((at_a, next_a, (next_b - at_b) - (next_a - at_a)))
        same = _common(a, b, next_a, next_b, end_a, end_b)
        at_a, at_b = next_a + same, next_b + same
    return spans


def _resync(a: str, b: str, at_a: int, at_b: int, end_a: int, end_b: int) -> tuple[int, int] | None:
    """Offsets (in a, in b) after a difference at (at_a, at_b) from which the texts are the same again for a
    while: a piece of `b` a little after the difference, found in `a` near where it would be; None when there is
    no such piece before the common tail."""
    for gap in (64, 1024, 16384):
        piece_at = at_b + gap
        if piece_at + 64 > end_b:
            return None
        piece = b[piece_at:piece_at + 64]
        found = a.find(piece, at_a, min(end_a, at_a + 4 * gap + 8192))
        if found >= 0:
            return found, piece_at
    return None


def _gallop(n: int, same: Callable[[int, int], bool]) -> int:
    """The length (at most `n`) two texts have in common, where `same(lo, upto)` says whether they agree from `lo`
    to `upto` (the part before `lo` known equal): compares growing chunks while they agree, then halves down into
    the first that does not (a few compares of a 46 MB text, not a character loop)."""
    lo, step = 0, 1 << 12
    while lo < n:
        hi = min(n, lo + step)
        if not same(lo, hi):
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if same(lo, mid):
                    lo = mid
                else:
                    hi = mid
            return lo
        lo, step = hi, min(step * 2, 1 << 20)
    return n


def _common_tail(a: str, b: str, at_a: int, at_b: int) -> int:
    """How many characters `a[at_a:]` and `b[at_b:]` have in common at their end."""
    return _gallop(min(len(a) - at_a, len(b) - at_b),
                   lambda lo, upto: b.endswith(a[len(a) - upto:len(a) - lo], 0, len(b) - lo))


def _common(a: str, b: str, at_a: int, at_b: int, end_a: int, end_b: int) -> int:
    """How many characters `a[at_a:end_a]` and `b[at_b:end_b]` have in common at their start."""
    return _gallop(min(end_a - at_a, end_b - at_b),
                   lambda lo, upto: b.startswith(a[at_a + lo:at_a + upto], at_b + lo))


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
FOLLOW = True  # False: a text not remembered is scanned whole (the tests compare both)
_lock = threading.Lock()


def indexed(text: str) -> TextIndex:
    """The index of `text`: remembered (`kept`), or a new one."""
    found = kept(text)
    return found if found is not None else TextIndex(text)


def kept(text: str) -> TextIndex | None:
    """The index of `text` when it costs no scan of the whole text: remembered, else followed from a remembered
    text that differs from it in one span of less than half of it (another writer's commit changed the text the
    writer wrote last: only that span is scanned), and then remembered; None when there is none."""
    with _lock:
        found = _KEPT.get(text)
        if found is not None:
            _KEPT.remove(found)
            _KEPT.append(found)
            return found
        candidates = _KEPT[::-1]  # the newest first
    if not FOLLOW:
        return None
    best: tuple[int, TextIndex, list[tuple[int, int, int]]] | None = None
    for near in candidates:
        spans = differing_spans(near.text, text)
        differs = sum(end - start + max(delta, 0) for start, end, delta in spans)  # characters to scan
        if best is None or differs < best[0]:
            best = (differs, near, spans)
        if differs < len(text) // 8:
            break  # close enough: the others are not compared
    if best is None or best[0] > len(text) // 2:  # mostly different (another file): a scan is as fast
        return None
    followed = best[1].follow(text, best[2])
    remember(followed)
    return followed


def remembered(text: str) -> TextIndex | None:
    """The index of `text` when it is remembered (no follow)."""
    with _lock:
        return _KEPT.get(text)


def remember(index: TextIndex) -> None:
    with _lock:
        _KEPT[:] = [*(kept for kept in _KEPT if not _same(kept.text, index.text)), index][-KEPT:]
