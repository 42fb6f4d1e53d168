"""`locate.scan` (the marks and the column-2 dash lines found in one pass over a text) against the three patterns
it replaces, each run over the whole text on its own (`locate_reference`'s `_MARKER` and `_TOP_CONTENT`, and
`scan_dashes`' pattern), over seeded random texts built from the pieces where they could disagree: dash lines at
several columns, empty items (`  -` then a newline), markers with and without a comment, `...`, comments, CRLF,
tabs, Unicode spaces (`\\x85`, `\\xa0`, `\\u2028`: `\\s` in a str pattern), text at column 0, the text's first and
last characters."""

from __future__ import annotations

import random

import pytest

from gitstore.edit import locate
from gitstore.edit.locate import Marks, TextIndex, scan, scan_dashes

from . import locate_reference as reference
from .test_writer_fuzz import STYLES, _file, _flag

PIECES = ["\n", "\r\n", "  - key: a\n", "  -\n", "  -", "  -\t", "  -\r\n", "  --\n", "   - x\n", "- y\n",
          "    - z\n", "---\n", "--- # doc\n", "---", "...\n", "...", "----\n", "# c\n", "#\n", "flags:\n",
          "segments:\n", "  ", "-", " ", "\t", "x", "é", "\x85", "\xa0", "\u2028", "key: 1\n", "%YAML 1.2\n"]


def _reference(text: str) -> tuple[Marks, list[int]]:
    marks = Marks([m.start() for m in reference._MARKER.finditer(text)],
                  [m.start() for m in reference._TOP_CONTENT.finditer(text)])
    return marks, scan_dashes(text, 2)


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.3:  # a real file, pieces typed into it
        text = _file(rng, [_flag(rng, f"f{i}") for i in range(rng.randint(1, 12))], rng.choice(STYLES))
        for _ in range(rng.randint(0, 6)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(PIECES) + text[at:]
        return text
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 60)))


@pytest.mark.parametrize("seed", range(300))
def test_one_pass_finds_what_three_scans_find(seed: int) -> None:
    rng = random.Random(30_000 + seed)
    text = _random_text(rng)
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    assert scan(text) == _reference(text)


@pytest.mark.parametrize("text", ["", "\n", "\n  -", "\n  - ", "\n  -\n  - x", "\n---", "\n...\n---\n", "x\n- a",
                                  "\n  -\nflags:\n  - a\n", "\n\x85x\n\xa0y\n#z\n w\nv"])
def test_edge_texts(text: str) -> None:
    assert scan(text) == _reference(text)


def test_a_text_index_holds_the_dash_lines_it_scanned() -> None:
    """`TextIndex(text)` keeps the column-2 dash lines of its one pass: asked for, they are what a scan finds,
    and no second scan is made."""
    rng = random.Random(7)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(20)], STYLES[0])
    index = TextIndex(text)
    assert index.dashes == {locate.SCAN_COL: scan_dashes(text, locate.SCAN_COL)}
    assert index.marks == _reference(text)[0]
