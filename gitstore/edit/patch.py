"""Field-level patching of one sequence item (a flag or a segment): only the fields whose value changed are
rewritten, in the file's own indentation; every other line of the item (comments included) stays byte for byte.
Toggling `enabled` is therefore a one-line diff."""

from __future__ import annotations

from typing import Any

import orjson

from gitstore.format.yamlemit import Style, item_lines, mapping_lines
from gitstore.format.yamlscan import Lines, Node, mapping_entries, sequence_items

FLAG_ORDER = ("key", "name", "type", "description", "enabled", "metadata", "variants", "rules", "rollouts")
SEGMENT_ORDER = ("key", "name", "description", "constraints", "match_type")
_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """Equal as data, type-exact (`True` is not `1`), key order significant."""
    if a is _MISSING or b is _MISSING:
        return a is b
    return orjson.dumps(a) == orjson.dumps(b)


def item_node(lines: list[str], dash_col: int) -> Node:
    """The mapping inside an item whose first line is `- key: value` (or a lone `-`)."""
    after = lines[0][dash_col + 1:]
    inline = after.lstrip(" \t")
    if inline and not inline.startswith("#"):
        return Node(0, len(lines), dash_col + 1 + len(after) - len(inline))
    return Node(1, len(lines))


def detect_style(lines: list[str], dash_col: int, default: Style) -> Style:
    """The indentation an item's author used for nested mappings and sequences."""
    lines = Lines(lines)
    entries = mapping_entries(lines, item_node(lines, dash_col))
    indent = seq_indent = None
    for entry in entries or ():
        if entry.node is None:
            continue
        for i in range(entry.node.start, entry.node.end):
            stripped = lines[i].lstrip(" ")
            if stripped and not stripped.startswith("#"):
                offset = len(lines[i]) - len(stripped) - entry.col
                if stripped.startswith("- ") or stripped == "-":
                    seq_indent = seq_indent if seq_indent is not None else offset
                elif offset > 0:
                    indent = indent if indent is not None else offset
                break
    return Style(indent=indent or default.indent,
                 seq_indent=seq_indent if seq_indent is not None else default.seq_indent)


Edit = tuple[int, int, int, list[str]]  # (first line, line after, rank among siblings, replacement lines)


def patch_item(text: str, dash_col: int, old: dict[str, Any], new: dict[str, Any], order: tuple[str, ...],
               style: Style) -> str | None:
    """The item's text with only what changed rewritten, down to one entry of a nested list (one distribution's
    rollout, one variant's name); None when the item's layout is not one this can patch safely (the caller then
    re-emits the whole item)."""
    lines = Lines(text[:-1].split("\n") if text.endswith("\n") else text.split("\n"))
    edits = _patch_mapping(lines, item_node(lines, dash_col), old, new, order, style)
    if edits is None:
        return None
    for start, end, _rank, replacement in sorted(edits, key=lambda e: (e[0], e[2]), reverse=True):
        lines[start:end] = replacement
    return "\n".join(lines) + "\n"


def _patch_mapping(lines: list[str], node: Node, old: dict[str, Any], new: dict[str, Any],
                   order: tuple[str, ...], style: Style) -> list[Edit] | None:
    entries = mapping_entries(lines, node)
    if not entries:
        return None
    col = entries[0].col
    by_key = {e.key: e for e in entries}
    fields = list(order) + [k for k in new if k not in order] + [k for k in by_key if k not in order and k not in new]
    edits: list[Edit] = []
    for rank, name in enumerate(fields):
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if same(before, after):
            continue
        entry = by_key.get(name)
        shares_dash = entry is not None and node.col is not None and entry.line == node.start
        if entry is not None and after is _MISSING:
            if shares_dash:
                return None
            edits.append((entry.line, entry.end, rank, []))
        elif entry is not None:
            nested = _patch_value(lines, entry.node, before, after, style) if entry.node is not None else None
            if nested is not None:
                edits.extend(nested)
                continue
            replacement = mapping_lines({name: after}, col, style)
            if shares_dash:
                if len(lines[entry.line]) < col:
                    return None
                replacement[0] = lines[entry.line][:col] + replacement[0][col:]
            if entry.end == entry.line + 1 and len(replacement) == 1:
                replacement[0] += trailing_comment(lines[entry.line], entry.col)
            edits.append((entry.line, entry.end, rank, replacement))
        elif after is not _MISSING:
            at = _insertion_line(fields[:rank], by_key)
            if at is None:
                return None
            edits.append((at, at, rank, mapping_lines({name: after}, col, style)))
    return edits


def _patch_value(lines: list[str], node: Node, before: Any, after: Any, style: Style) -> list[Edit] | None:
    """Edits inside a block value: a mapping key by key, a list element by element (when elements were only
    changed, appended or dropped at the end); None when the whole value should be re-emitted."""
    if isinstance(before, dict) and isinstance(after, dict) and before and after:
        return _patch_mapping(lines, node, before, after, tuple(after), style)
    if not (isinstance(before, list) and isinstance(after, list) and before and after):
        return None
    items = sequence_items(lines, node)
    if items is None or len(items) != len(before):
        return None
    edits: list[Edit] = []
    for i, (item, old, new) in enumerate(zip(items, before, after, strict=False)):
        if same(old, new):
            continue
        nested = None
        if isinstance(old, dict) and isinstance(new, dict) and item.node is not None:
            nested = _patch_mapping(lines, item.node, old, new, tuple(new), style)
        edits.extend(nested if nested is not None else [(item.line, item.end, i, item_lines(new, item.col, style))])
    for i in range(len(after), len(before)):
        edits.append((items[i].line, items[i].end, i, []))
    extra = [line for element in after[len(before):] for line in item_lines(element, items[0].col, style)]
    if extra:
        edits.append((items[-1].end, items[-1].end, len(items), extra))
    return edits


def trailing_comment(line: str, col: int) -> str:
    """The ` # comment` after a one-line scalar entry (with its leading spaces), or "". Flow collections are not
    looked into."""
    colon = line.find(":", col)
    rest = line[colon + 1:] if colon >= 0 else ""
    value = rest.lstrip(" ")
    offset = len(line) - len(value)
    if value.startswith(('"', "'")):
        quote, i = value[0], 1
        while i < len(value):
            if quote == '"' and value[i] == "\\":
                i += 2
                continue
            if value[i] == quote:
                if quote == "'" and value[i + 1:i + 2] == "'":
                    i += 2
                    continue
                break
            i += 1
        after = value[i + 1:]
        stripped = after.lstrip(" \t")
        return after if stripped.startswith("#") and after != stripped else ""
    if value.startswith(("[", "{", "#")):
        return ""
    at = line.find(" #", offset)
    if at < 0:
        return ""
    start = at
    while start > offset and line[start - 1] in " \t":
        start -= 1
    return line[start:]


def _insertion_line(preceding: list[str], by_key: dict[str, Any]) -> int | None:
    """After the last present field that comes before the new one in Flipt's order."""
    for name in reversed(preceding):
        if name in by_key:
            return int(by_key[name].end)
    return None
