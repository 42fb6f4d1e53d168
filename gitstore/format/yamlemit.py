"""A small, deterministic YAML emitter for plain data in block style, used for whole documents and for single
items spliced into an existing file in that file's own indentation.

Strings are written plain only when every YAML reader (1.1 and 1.2) reads them back as the same string: words like
`on`, `off`, `yes`, `no`, `null`, numbers, dates and anything with YAML indicators are double-quoted. Multi-line
strings use `|` block scalars.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gitstore.format.yamlio import go_number


@dataclass(frozen=True)
class Style:
    """`indent`: columns from a key to its nested mapping's keys; `seq_indent`: columns from a key to the dash of
    its sequence's items (0 = "indentless" `key:\\n- item`). Item content always sits two columns after the dash."""

    indent: int = 2
    seq_indent: int = 2


CANONICAL = Style()

_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_ ./@()+,=-]*")
_NUMBERISH = re.compile(
    r"[-+]?(?:\.?\d[\d_]*(?:\.[\d_]*)?(?:[eE][-+]?\d+)?|0[xXoObB][0-9a-fA-F_]+|\.(?:inf|nan|Inf|NaN|INF|NAN))"
)
_DATEISH = re.compile(r"\d{4}-\d\d?-\d\d?")
_SPECIAL = frozenset(
    "y n yes no on off true false null ~ Y N YES NO ON OFF TRUE FALSE NULL Yes No On Off True False Null".split()
)
_NONPRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def scalar(value: Any) -> str:
    """One scalar (or an empty collection) as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_number(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    text = str(value)
    if (
        _PLAIN.fullmatch(text)
        and not text.endswith(" ")
        and text not in _SPECIAL
        and not _NUMBERISH.fullmatch(text)
        and not _DATEISH.match(text)
    ):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _NONPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _block_literal(text: str) -> str | None:
    """`|` / `|-` header for a multi-line string that a block literal can carry exactly, else None."""
    if "\n" not in text or "\r" in text or text.endswith("\n\n") or text.startswith((" ", "\n")):
        return None
    if _NONPRINTABLE.search(text) or any(ord(c) < 32 and c not in "\n\t" for c in text):
        return None
    if any(line.startswith(("\t",)) for line in text.split("\n")):
        return None
    return "|" if text.endswith("\n") else "|-"


def mapping_lines(data: dict[str, Any], col: int, style: Style) -> list[str]:
    """A mapping whose keys sit at column `col`."""
    pad = " " * col
    out: list[str] = []
    for key, value in data.items():
        head = f"{pad}{scalar(key)}:"
        if isinstance(value, dict) and value:
            out.append(head)
            out.extend(mapping_lines(value, col + style.indent, style))
        elif isinstance(value, list | tuple) and value:
            out.append(head)
            for item in value:
                out.extend(item_lines(item, col + style.seq_indent, style))
        elif isinstance(value, str) and (header := _block_literal(value)):
            out.append(f"{head} {header}")
            out.extend(_literal_body(value, col + style.indent))
        else:
            out.append(f"{head} {scalar(value)}")
    return out


def item_lines(item: Any, col: int, style: Style) -> list[str]:
    """One sequence item whose dash sits at column `col`."""
    pad = " " * col
    if isinstance(item, dict) and item:
        lines = mapping_lines(item, col + 2, style)
    elif isinstance(item, list | tuple) and item:
        lines = []
        for sub in item:
            lines.extend(item_lines(sub, col + 2, style))
    elif isinstance(item, str) and (header := _block_literal(item)):
        return [f"{pad}- {header}", *_literal_body(item, col + 2)]
    else:
        return [f"{pad}- {scalar(item)}"]
    lines[0] = f"{pad}- {lines[0][col + 2:]}"
    return lines


def _literal_body(text: str, col: int) -> list[str]:
    body = text[:-1] if text.endswith("\n") else text
    return [(" " * col + line) if line else "" for line in body.split("\n")]


def emit_document(data: dict[str, Any], style: Style = CANONICAL) -> str:
    return "\n".join(mapping_lines(data, 0, style)) + "\n"


__all__ = ["CANONICAL", "Style", "emit_document", "item_lines", "mapping_lines", "scalar"]
