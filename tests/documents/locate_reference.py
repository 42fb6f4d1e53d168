"""`gitstore.edit.locate` before the index learnt to follow an edited text (commit c7766bd), kept verbatim as the
reference the new code is compared with (tests/documents/test_locate_follow.py): a whole-text scan per document and
per sequence."""

from __future__ import annotations

import re

from gitstore.edit.locate import DocIndex, TopKey, _line_end, content_end

_MARKER = re.compile(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|$)")
_TOP_KEY = re.compile(r"""^(?P<key>[^\s#\-'"\[{][^\n:]*?|"[^"\n]*"|'[^'\n]*')[ \t]*:(?:[ \t]|$)""", re.MULTILINE)
_TOP_CONTENT = re.compile(r"\n[^\s#]")


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
