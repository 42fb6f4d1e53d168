"""The splice itself (`gitstore.edit.writer` decides when): the edits that apply changes to the items of a
namespace file's text where they are, found through the text's index (`gitstore.edit.locate`), each spliced item
verified by parsing it back; `Fallback` when that cannot be done safely (the writer then re-emits the file)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import yaml_rs

from gitstore.edit.locate import DocIndex, TextIndex, TopKey, content_end, leading_comments, remember
from gitstore.edit.patch import FLAG_ORDER, SEGMENT_ORDER, detect_style, patch_item
from gitstore.edit.places import WALK, place_of
from gitstore.format.models import build_flag, build_segment
from gitstore.format.serialize import flag_to_data, namespace_to_data, segment_to_data
from gitstore.format.validation import Checker, namespace_key
from gitstore.format.yamlemit import CANONICAL, Style, item_lines, mapping_lines
from gitstore.format.yamlio import parse_documents
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Document, Flag, Segment


class Fallback(Exception):
    """The splice cannot be done safely; re-emit the file."""


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, replacement) applied: in file order, edits at one place in the reverse of
    their order (as applying them from the end did). One edit that replaces a span found nowhere before it is a
    `str.replace`, which copies a 46 MB text once into the result; anything else is one join of the pieces (the
    slices are copied twice)."""
    if len(edits) == 1:
        start, end, replacement = edits[0]
        old = text[start:end]
        if old and text.find(old, 0, end) == start:
            return text.replace(old, replacement, 1)
    pieces: list[str] = []
    at = 0
    for _, (start, end, replacement) in sorted(enumerate(edits), key=lambda e: (e[1][0], e[1][1], -e[0])):
        pieces += (text[at:start], replacement)
        at = max(at, end)
    pieces.append(text[at:])
    return "".join(pieces)


class _Spans:
    """Item spans (start, end) computed on demand: the end of an item needs a look at its last lines."""

    def __init__(self, text: str, starts: list[int], limit: int, col: int):
        self.text, self.starts, self.limit, self.col = text, starts, limit, col

    def __len__(self) -> int:
        return len(self.starts)

    def __bool__(self) -> bool:
        return bool(self.starts)

    def __getitem__(self, n: int) -> tuple[int, int]:
        n = n % len(self.starts)
        nxt = self.starts[n + 1] if n + 1 < len(self.starts) else self.limit
        return self.starts[n], content_end(self.text, self.starts[n], nxt, self.col)


class Splicer:
    def __init__(self, text: str, filename: str, ns: str, base: Document, new: Document, index: TextIndex):
        self.text, self.filename, self.ns, self.base, self.new = text, filename, ns, base, new
        self.version = base.version
        self.aligned = False
        self.index = index  # kept when `text` is what the writer wrote last, or followed from it (locate.TextIndex)
        docs = self.index.docs
        if docs is None:
            raise Fallback("layout")
        self.doc, self._keys = self._locate(docs)
        self.edits: list[tuple[int, int, str]] = []

    def _locate(self, docs: list[DocIndex]) -> tuple[DocIndex, dict[str, list[str]]]:
        """The document holding the namespace and the keys of its flags and segments, in file order (when the
        file holds one document they are the base's, listed when first asked for: `keys`)."""
        if len(docs) == 1:
            self.aligned = True
            return docs[0], {}
        plain = parse_documents(self.text, self.filename)
        mine = [i for i, d in enumerate(plain) if isinstance(d, dict) and namespace_key(d) == self.ns]
        if len(plain) != len(docs) or len(mine) != 1:
            raise Fallback("one namespace spread over several documents")
        data = plain[mine[0]]
        return docs[mine[0]], {k: [item["key"] for item in data.get(k) or ()] for k in ("flags", "segments")}

    def keys(self, attr: str) -> list[str]:
        """The keys of the namespace's flags or segments, in file order."""
        if attr not in self._keys:
            self._keys[attr] = [item.key for item in getattr(self.base, attr)]
        return self._keys[attr]

    def count(self, attr: str) -> int:
        """len(self.keys(attr)), without listing them."""
        return len(getattr(self.base, attr)) if self.aligned else len(self._keys[attr])

    def run(self, changes: list[Change]) -> str:
        for kind, attr, order in ((Kind.FLAG, "flags", FLAG_ORDER), (Kind.SEGMENT, "segments", SEGMENT_ORDER)):
            mine = [c for c in changes if c.kind is kind]
            if mine:
                self._sequence(attr, order, mine)
        if any(c.kind is Kind.NAMESPACE for c in changes) and self.new.namespace != self.base.namespace:
            self._namespace()
        out = splice(self.text, self.edits)
        following = self.index.shifted(out, self.edits)  # the next commit's base, indexed without a scan
        following.document = weakref.ref(self.new)
        remember(following)
        return out

    # -- one top-level sequence -----------------------------------------------------------------------------------
    def _sequence(self, attr: str, order: tuple[str, ...], changes: list[Change]) -> None:
        new_items = getattr(self.new, attr)
        top = self.doc.keys.get(attr)
        found = self.index.items(top) if top is not None else (-1, [])
        if found is None:
            if top is None or top.inline not in ("[]", "null", "~"):
                raise Fallback("flow style")
            found = (-1, [])
        dash_col, starts = found
        if len(starts) != self.count(attr):
            raise Fallback("item count")
        limit = top.end if top is not None else self.doc.end
        spans = _Spans(self.text, starts, limit, dash_col)
        default_style = Style(CANONICAL.indent, dash_col if dash_col >= 0 else CANONICAL.seq_indent)
        if self._in_place(attr, order, changes, spans, dash_col, default_style):
            return
        keys = self.keys(attr)
        old_items = {item.key: item for item in getattr(self.base, attr)}
        new_by_key: dict[str, Flag | Segment] = {item.key: item for item in new_items}
        renamed = {c.key: c.value for c in changes if isinstance(c.value, Flag | Segment) and c.value.key != c.key}
        touched = {c.key for c in changes}
        placed: list[str] = []
        for n, key in enumerate(keys):
            new = new_by_key.get(key) or renamed.get(key)
            if new is not None and new.key != key and new.key in old_items:
                raise Fallback("renamed onto an existing key")
            if new is not None:
                placed.append(new.key)
            if key not in touched:
                continue
            start, end = spans[n]
            self._check_identity(start, end, dash_col, key, attr)
            if new is None:
                assert top is not None  # there are items, so their sequence's key
                floor = spans[n - 1][1] if n else top.body
                start = leading_comments(self.text, start, floor, dash_col)
                if self.text[start - 2:start] == "\n\n" and self.text[end:end + 1] == "\n":
                    end += 1  # do not leave two blank lines where one separated the items
                self.edits.append((start, end, ""))
            elif new != old_items[key]:
                self.edits.append((start, end, self._replacement(order, old_items[key], new, start, end,
                                                                 dash_col, default_style)))
        placed_keys = set(placed)
        appended = [item for item in new_items if item.key not in placed_keys]
        if placed + [item.key for item in appended] != [item.key for item in new_items]:
            raise Fallback("order differs")
        if appended:
            self._append(attr, appended, top, spans, dash_col, default_style)
        elif not placed and keys and top is not None and not top.inline:
            self.edits.append((top.start, top.body, ""))  # no items left: drop the `flags:` line too

    def _in_place(self, attr: str, order: tuple[str, ...], changes: list[Change], spans: _Spans, dash_col: int,
                  default_style: Style) -> bool:
        """Changes that each replace an existing item under its own key (a toggle, an edited rule: what nearly
        every commit is) patch those items where they are, found by position, without walking every item (100,000
        flags: 0.3 s). False when any change adds, deletes or renames, or the keys are not the base's."""
        old, new = getattr(self.base, attr), getattr(self.new, attr)
        if not self.aligned or len(new) != len(old) or not all(
                isinstance(c.value, Flag | Segment) and c.value.key == c.key for c in changes):
            return False
        found = [place_of(self.base, attr, c.key) for c in changes]  # the base's keys are the file's (aligned)
        if None in found:  # not in the file yet: an addition
            return False
        if WALK not in found:
            at = sorted({n for n in found if n is not None})
        else:
            keys = self.keys(attr)
            try:
                at = sorted({keys.index(c.key) for c in changes})
            except ValueError:
                return False
        if any(new[n].key != old[n].key for n in at):
            return False
        for n in at:
            start, end = spans[n]
            self._check_identity(start, end, dash_col, old[n].key, attr)
            if new[n] != old[n]:
                self.edits.append((start, end, self._replacement(order, old[n], new[n], start, end, dash_col,
                                                                 default_style)))
        return True

    def _check_identity(self, start: int, end: int, dash_col: int, key: str, attr: str) -> None:
        data = self._parse_item(self.text[start:end], dash_col)
        if not isinstance(data, dict) or data.get("key") != key:
            raise Fallback(f"{attr} item is not {key!r}")

    def _replacement(self, order: tuple[str, ...], old: Flag | Segment, new: Flag | Segment, start: int, end: int,
                     dash_col: int, default: Style) -> str:
        item_text = self.text[start:end]
        style = detect_style(item_text.rstrip("\n").split("\n"), dash_col, default)
        new_data = self._data(new)
        patched = patch_item(item_text, dash_col, self._data(old), new_data, order, style)
        if patched is None or not self._verified(patched, dash_col, new):
            patched = "\n".join(item_lines(new_data, dash_col, style)) + "\n"  # the whole item, re-emitted
            if not self._verified(patched, dash_col, new):
                raise Fallback("item did not verify")
        return patched if item_text.endswith("\n") else patched[:-1]

    def _data(self, item: Flag | Segment) -> dict[str, Any]:
        return flag_to_data(item, self.version) if isinstance(item, Flag) else segment_to_data(item, self.version)

    def _append(self, attr: str, items: list[Flag | Segment], top: TopKey | None, spans: _Spans,
                dash_col: int, default: Style) -> None:
        style = default
        if spans:
            last = self.text[spans[-1][0]:spans[-1][1]]
            style = detect_style(last.rstrip("\n").split("\n"), dash_col, default)
        col = dash_col if dash_col >= 0 else style.seq_indent
        block = ""
        for item in items:
            emitted = "\n".join(item_lines(self._data(item), col, style)) + "\n"
            if not self._verified(emitted, col, item):
                raise Fallback("appended item did not verify")
            block += emitted
        if spans:
            at = spans[-1][1]
            self.edits.append((at, at, block if self.text[at - 1] == "\n" else "\n" + block))
        elif top is not None:
            self.edits.append((top.start, top.end, f"{attr}:\n{block}"))
        else:
            at = self._insertion_point(attr)
            prefix = "" if at == 0 or self.text[at - 1] == "\n" else "\n"
            self.edits.append((at, at, f"{prefix}{attr}:\n{block}"))

    def _insertion_point(self, attr: str) -> int:
        """Where a missing top-level key goes: flags before `segments:` (Flipt's order), else after the last key."""
        if attr == "flags" and "segments" in self.doc.keys:
            seg = self.doc.keys["segments"]
            return leading_comments(self.text, seg.start, self.doc.start)
        return max((k.end for k in self.doc.keys.values()), default=self.doc.end)

    def _namespace(self) -> None:
        lines = "\n".join(mapping_lines({"namespace": namespace_to_data(self.new.namespace)}, 0, CANONICAL)) + "\n"
        top = self.doc.keys.get("namespace")
        if top is not None:
            self.edits.append((top.start, top.end, lines))
        else:
            version = self.doc.keys.get("version")
            at = version.end if version is not None else self.doc.start
            self.edits.append((at, at, lines))

    # -- verification ------------------------------------------------------------------------------------------------
    def _parse_item(self, item_text: str, dash_col: int) -> Any:
        lines = [line[dash_col:] if not line[:dash_col].strip() else "" for line in item_text.split("\n")]
        try:
            parsed = yaml_rs.loads("\n".join(lines), parse_datetime=False)
        except yaml_rs.YAMLDecodeError:
            return None
        return parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else None

    def _verified(self, item_text: str, dash_col: int, expected: Flag | Segment) -> bool:
        data = self._parse_item(item_text, dash_col)
        if not isinstance(data, dict):
            return False
        checker = Checker(0, self.version)
        build: Callable[[dict[str, Any]], Flag | Segment]
        if isinstance(expected, Flag):
            checker.flag(data, ("flags", 0))
            build = build_flag
        else:
            checker.segment(data, ("segments", 0))
            build = build_segment
        if any(f.severity == "error" for f in checker.findings):
            return False
        return build(data) == expected
