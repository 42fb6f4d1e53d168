"""A light line scanner for block-style YAML: where each document, mapping entry and sequence item of a file
starts and ends, without parsing the values. Used to put line numbers on problems (yaml-rs gives none) and by the
minimal-diff writer to find the lines of one flag or segment in a 10,000-flag file in milliseconds.

It understands block mappings and sequences (any indentation, `- key: v` items, comments, blank lines, block and
multi-line scalars nested deeper). Flow collections spanning lines are treated as one opaque value. Anything it
cannot follow makes it return `None`; callers then fall back (ruamel for lines, a whole-file rewrite for edits).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property

_KEY = re.compile(r"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\[\]{},:][^#]*?)\s*:(?:[ \t]|$)""")


def is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


class Lines(list[str]):
    """The lines of a text, with each line's indentation (-1 for blank and comment lines) computed once: the
    scanner asks for them many times."""

    @cached_property
    def indents(self) -> list[int]:
        out = []
        for line in self:
            stripped = line.lstrip(" ")
            out.append(len(line) - len(stripped) if stripped.strip() and stripped[0] != "#" else -1)
        return out


def _indents(lines: list[str]) -> list[int]:
    return lines.indents if isinstance(lines, Lines) else Lines(lines).indents


@dataclass(frozen=True)
class Node:
    """A block value: lines [start, end); `col` is where the value begins on line `start` when it shares that line
    with a `- ` marker (an item `- key: v`), else None (the value starts on its own line)."""

    start: int
    end: int
    col: int | None = None


@dataclass(frozen=True)
class Entry:
    """One mapping entry or sequence item: its first line, the line after its last content line, the column of its
    key or dash, and its value (`node` None when the value is inline on the key line: a scalar or flow value)."""

    line: int
    end: int
    col: int
    node: Node | None
    key: str = ""


def split_documents(lines: list[str]) -> list[Node] | None:
    """The non-empty documents of a stream, in order (empty ones are dropped, as the parser drops them)."""
    docs: list[Node] = []
    start = 0
    for i, line in enumerate(lines + ["---"]):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t") or line.startswith("..."):
            if line.startswith("---") and line[3:].strip() and not line[3:].strip().startswith("#"):
                return None  # content on the marker line
            if any(is_content(text) and not text.startswith("%") for text in lines[start:i]):
                docs.append(Node(start, i))
            start = i + 1
    return docs


def _unquote(key: str) -> str:
    key = key.strip()
    if key.startswith('"') and key.endswith('"'):
        try:
            return str(json.loads(key))  # YAML's double-quoted escapes are JSON's, plus a few rare ones
        except ValueError:
            return key[1:-1]
    if key.startswith("'") and key.endswith("'"):
        return key[1:-1].replace("''", "'")
    return key


def _first_content(lines: list[str], node: Node) -> tuple[int, int] | None:
    """(line, column) of the first content of a node."""
    if node.col is not None:
        return node.start, node.col
    indents = _indents(lines)
    for i in range(node.start, node.end):
        if indents[i] >= 0:
            return i, indents[i]
    return None


def _entries(lines: list[str], node: Node, dash: bool) -> list[tuple[int, int, str]] | None:
    """(line, column, rest-of-line) of each entry start at the node's indentation."""
    first = _first_content(lines, node)
    if first is None:
        return []
    line0, col = first
    indents = _indents(lines)
    starts: list[tuple[int, int, str]] = []
    for i in range(line0, node.end):
        at = col if i == line0 else indents[i]
        if i != line0 and (at < 0 or at > col):
            continue
        if at < col:
            return None  # dedent inside the node: not block structure we follow
        text = lines[i]
        is_dash = text[at] == "-" and (at + 1 == len(text) or text[at + 1] in " \t")
        if is_dash and not dash and i != line0:
            continue  # an indentless sequence under the previous key
        if dash != is_dash:
            return None
        starts.append((i, at, text[at:]))
    return starts


def _last_content(lines: list[str], start: int, end: int) -> int:
    indents = _indents(lines)
    for i in range(end - 1, start, -1):
        if indents[i] >= 0:
            return i + 1
    return start + 1


def mapping_entries(lines: list[str], node: Node) -> list[Entry] | None:
    starts = _entries(lines, node, dash=False)
    if starts is None:
        return None
    result: list[Entry] = []
    for n, (line, col, rest) in enumerate(starts):
        found = _KEY.match(rest)
        if not found:
            return None
        nxt = starts[n + 1][0] if n + 1 < len(starts) else node.end
        end = _last_content(lines, line, nxt)
        value = rest[found.end():].split(" #", 1)[0].strip()
        opaque = value and not value.startswith(("&", "!")) or value.startswith(("|", ">"))
        child = None if opaque else Node(line + 1, end)
        result.append(Entry(line, end, col, child, _unquote(found.group("key"))))
    return result


def sequence_items(lines: list[str], node: Node) -> list[Entry] | None:
    starts = _entries(lines, node, dash=True)
    if starts is None:
        return None
    result: list[Entry] = []
    for n, (line, col, rest) in enumerate(starts):
        nxt = starts[n + 1][0] if n + 1 < len(starts) else node.end
        end = _last_content(lines, line, nxt)
        after = rest[1:]
        inline = after.lstrip(" \t")
        if inline and not inline.startswith("#"):
            child = Node(line, end, col + 1 + len(after) - len(inline))
        else:
            child = Node(line + 1, end)
        result.append(Entry(line, end, col, child))
    return result


class Locator:
    """Finds the line of a path (`("flags", 2, "rules", 0)`) in one document of a file; caches what it scanned."""

    def __init__(self, text: str):
        self.lines = Lines(text.split("\n"))
        self.docs = split_documents(self.lines)
        self._maps: dict[Node, dict[str, Entry] | None] = {}
        self._seqs: dict[Node, list[Entry] | None] = {}

    def _map(self, node: Node) -> dict[str, Entry] | None:
        if node not in self._maps:
            entries = mapping_entries(self.lines, node)
            self._maps[node] = None if entries is None else {e.key: e for e in entries}
        return self._maps[node]

    def _seq(self, node: Node) -> list[Entry] | None:
        if node not in self._seqs:
            self._seqs[node] = sequence_items(self.lines, node)
        return self._seqs[node]

    def entry(self, doc: int, path: tuple[str | int, ...]) -> tuple[Entry | None, bool]:
        """The deepest entry along `path` and whether the whole path was found."""
        if self.docs is None or doc >= len(self.docs):
            return None, False
        node: Node | None = self.docs[doc]
        best: Entry | None = None
        for part in path:
            if node is None:
                return best, False
            if isinstance(part, int):
                items = self._seq(node)
                found = items[part] if items is not None and 0 <= part < len(items) else None
            else:
                mapping = self._map(node)
                found = mapping.get(part) if mapping is not None else None
            if found is None:
                return best, False
            best, node = found, found.node
        return best, True

    def line(self, doc: int, path: tuple[str | int, ...]) -> int:
        """1-based line of the path's entry, or of its deepest existing ancestor; 0 when nothing is known."""
        found, _ = self.entry(doc, path)
        if found is not None:
            return found.line + 1
        if self.docs and doc < len(self.docs):
            first = _first_content(self.lines, self.docs[doc])
            return first[0] + 1 if first else self.docs[doc].start + 1
        return 0
