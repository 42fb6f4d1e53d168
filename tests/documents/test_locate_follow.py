"""`locate.TextIndex.follow` and `shifted` (the index of an edited text from the old index plus a scan of what
changed) against a scan of the whole new text by the code they replace (`locate_reference`, the old `locate`) and
by today's `TextIndex(text)`, over seeded random edits: another writer's commits (adds, updates, deletes, renames,
the first and the last flag), comments, edits touching several places, document markers and top-level keys typed
in, whole-file rewrites, CRLF, another key order, and the writer's own edits (several, touching, at one place)."""

from __future__ import annotations

import random

import pytest

from gitstore.edit import locate, places
from gitstore.edit.locate import TextIndex, scan_dashes, scan_marks
from gitstore.edit.writer import apply_changes, edit_file, splice
from gitstore.format.loader import load_document
from gitstore.model.changes import Change, Kind

from . import locate_reference as reference
from .test_writer_fuzz import STYLES, _file, _flag

FILE = "fz/features.yaml"
SNIPPETS = ["\n", "  - key: x\n", "---\n", "--- # doc\n", "...\n", "# c\n", "segments:\n", "flags:\n", "  ", "-",
            "- ", "\r\n", "%YAML 1.2\n", "é", "x: 1\n", "\n- key: y\n", "    - key: z\n", "\n  -\n", "key", ":"]


def _scan(text: str) -> tuple[object, dict[tuple[int, str], object]]:
    """What the old code finds in `text`: the documents and every top-level key's sequence items."""
    docs = reference.index_documents(text)
    return docs, {(k.start, k.key): reference.sequence_items(text, k) for d in docs or () for k in d.keys.values()}


def _view(index: TextIndex) -> tuple[object, dict[tuple[int, str], object]]:
    docs = index.docs
    return docs, {(k.start, k.key): index.items(k) for d in docs or () for k in d.keys.values()}


def _agrees(index: TextIndex, text: str) -> None:
    assert index.text is text
    assert _view(index) == _scan(text) == _view(TextIndex(text))
    assert index.marks == scan_marks(text) == reference_marks(text)
    for col, found in index.dashes.items():
        assert found == scan_dashes(text, col), col


def _base(rng: random.Random) -> str:
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(rng.randint(1, 25))], rng.choice(STYLES))
    return text.replace("\n", "\r\n") if rng.random() < 0.1 else text


def _writer_edit(rng: random.Random, text: str) -> str:
    """Another writer's commit through the writer: an update, add, delete or rename, often of the first or last
    flag."""
    loaded = load_document(text, FILE)
    doc = loaded.document
    if doc is None or not doc.flags:
        return text + "# nothing to edit\n"
    flag = rng.choice([doc.flags[0], doc.flags[-1], rng.choice(doc.flags)])
    roll = rng.random()
    if roll < 0.4:
        change = Change("fz", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
    elif roll < 0.6:
        change = Change("fz", Kind.FLAG, flag.key, _flag(rng, flag.key))
    elif roll < 0.75:
        change = Change("fz", Kind.FLAG, flag.key, None)
    elif roll < 0.9:
        change = Change("fz", Kind.FLAG, f"new{rng.randrange(1000)}", _flag(rng, "new"))
        change = Change("fz", Kind.FLAG, change.key, change.value.model_copy(update={"key": change.key}))
    else:
        change = Change("fz", Kind.FLAG, flag.key, flag.model_copy(update={"key": f"renamed{rng.randrange(99)}"}))
    try:
        return apply_changes(text, FILE, [change], doc)
    except Exception:  # noqa: BLE001 - a refused write: edit the text by hand instead
        return _text_edit(rng, text)


def _text_edit(rng: random.Random, text: str) -> str:
    """1-3 spans of the text replaced by snippets (several places in one commit), or a line moved."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        start = rng.randint(0, len(text))
        end = min(len(text), start + rng.choice([0, 0, 1, 3, 20, 200]))
        new = "".join(rng.choice(SNIPPETS) for _ in range(rng.choice([0, 1, 1, 2, 4])))
        text = text[:start] + new + text[end:]
    return text


def _other_writer(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.4:
        return _writer_edit(rng, text)
    if roll < 0.75:
        return _text_edit(rng, text)
    if roll < 0.8:
        return text + f"# appended {rng.randrange(99)}\n"
    if roll < 0.84:
        return "# prepended\n" + text
    if roll < 0.88:
        return text.replace("\n", "\r\n") if "\r\n" not in text else text.replace("\r\n", "\n")
    if roll < 0.92 and "\nsegments:" in text:  # another key order: segments first
        head, segments = text.split("\nsegments:", 1)
        version, _, rest = head.partition("\nflags:")
        return f"{version}\nsegments:{segments}flags:{rest}\n"
    if roll < 0.96:  # the whole file rewritten
        return _base(rng)
    lines = text.split("\n")  # the first or the last flag's lines gone
    dashes = [n for n, line in enumerate(lines) if line.lstrip().startswith("- key:")]
    if not dashes:
        return text[: len(text) // 2]
    at = rng.choice([dashes[0], dashes[-1]])
    return "\n".join(lines[:at] + lines[at + rng.randint(1, 12):])


@pytest.mark.parametrize("seed", range(150))
def test_following_another_writers_text_finds_what_a_scan_finds(seed: int) -> None:
    """A chain of texts, each another writer's edit of the one before: each index is followed from the previous
    one (its items asked for or not) and equals a scan of the whole text, old code and new."""
    rng = random.Random(seed)
    text = _base(rng)
    index = TextIndex(text)
    for _ in range(6):
        if rng.random() < 0.7:
            _view(index)  # the items of each sequence found, so their dash lines are kept and moved
        new = _other_writer(rng, text)
        followed = index.follow(new)
        _agrees(followed, new)
        index, text = followed, new


@pytest.mark.parametrize("seed", range(100))
def test_the_writers_own_edits_move_the_index_as_a_scan_finds(seed: int) -> None:
    """`shifted`: edits as `splice` applies them (several, touching, overlapping, at one place, empty)."""
    rng = random.Random(10_000 + seed)
    text = _base(rng)
    index = TextIndex(text)
    for _ in range(5):
        _view(index)
        edits = []
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            start = rng.randint(0, len(text))
            end = min(len(text), start + rng.choice([0, 1, 5, 40]))
            edits.append((start, end, "".join(rng.choice(SNIPPETS) for _ in range(rng.randint(0, 3)))))
        new = splice(text, edits)
        moved = index.shifted(new, edits)
        _agrees(moved, new)
        index, text = moved, new


@pytest.mark.parametrize("seed", range(300))
def test_differing_spans_make_the_other_text(seed: int) -> None:
    """The spans `differing_spans` finds, each replaced by the other text's characters there, make the other text
    (so what lies between them is the same in both); a text that differs in one place gives one span."""
    rng = random.Random(seed)
    alphabet = rng.choice(["ab", "abé\n", "x", "abcdefghij\n  -"])
    a = "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 100, 20_000, 200_000])))
    b = a
    edits = rng.choice([0, 1, 1, 2, 3, 12])
    for _ in range(edits):
        at = rng.randint(0, len(b))
        b = b[:at] + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300))) + b[at + rng.randint(0, 300):]
    spans = locate.differing_spans(a, b)
    made, done, shift = [], 0, 0
    for start, end, delta in spans:
        assert done <= start <= end
        made += [a[done:start], b[start + shift:end + shift + delta]]
        done, shift = end, shift + delta
    made.append(a[done:])
    assert "".join(made) == b
    assert len(b) - len(a) == shift
    if edits == 1 and len(a) > 1000:
        assert len(spans) <= 1


def test_a_toggle_and_a_line_far_apart_are_two_small_spans() -> None:
    a = "".join(f"  - key: f{i}\n    enabled: true\n" for i in range(20_000))
    b = a.replace("key: f10000\n    enabled: true", "key: f10000\n    enabled: false") + "# theirs\n"
    spans = locate.differing_spans(a, b)
    assert len(spans) == 2 and all(end - start < 2000 for start, end, _ in spans)


def test_the_writer_follows_the_text_it_wrote_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """After another writer's commit the writer's index is followed from the one it kept (not scanned whole), and
    its commit writes what it writes from a scan."""
    rng = random.Random(3)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(30)], STYLES[0])
    doc = load_document(text, FILE).document
    assert doc is not None
    mine = apply_changes(text, FILE, [Change("fz", Kind.FLAG, "f3", doc.flags[3].model_copy(
        update={"enabled": not doc.flags[3].enabled}))], doc)
    theirs = mine.replace("f20\n", "f20\n    description: theirs\n", 1)
    assert theirs != mine
    scans: list[str] = []
    monkeypatch.setattr(locate, "scan", lambda t: scans.append(t) or (reference_marks(t), scan_dashes(t, 2)))
    followed = locate.indexed(theirs)
    assert scans == [] and followed.origin is not None and followed.origin[0].text is mine
    base = load_document(theirs, FILE).document
    assert base is not None
    change = [Change("fz", Kind.FLAG, "f5", base.flags[5].model_copy(update={"enabled": not base.flags[5].enabled}))]
    written = apply_changes(theirs, FILE, change, base)
    monkeypatch.setattr(locate, "FOLLOW", False)
    monkeypatch.setattr(locate, "_KEPT", type(locate._KEPT)())
    assert apply_changes(theirs, FILE, change, base) == written


def reference_marks(text: str) -> locate.Marks:
    return locate.Marks([m.start() for m in reference._MARKER.finditer(text)],
                        [m.start() for m in reference._TOP_CONTENT.finditer(text)])


@pytest.mark.parametrize("seed", range(120))
def test_the_key_index_moved_is_the_one_built(seed: int) -> None:
    """`places.follow`: the key index of the document the writer made, moved to the document of another writer's
    text, is the one built from that document (or none is given: it is built when asked for)."""
    rng = random.Random(20_000 + seed)
    text = _base(rng)
    doc = load_document(text, FILE).document
    if doc is None or not doc.flags:
        return
    locate._KEPT.clear()
    moved = 0
    for _ in range(4):
        if not doc.flags:
            break
        flag = rng.choice(doc.flags)
        change = Change("fz", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
        result = edit_file(text.replace("\r\n", "\n"), FILE, [change], doc)
        mine, made = result.text, result.document
        assert places.places(made, "flags") is not None
        theirs = _other_writer(rng, mine)
        loaded = load_document(theirs, FILE)
        if loaded.document is None:
            return
        index = locate.kept(theirs)
        if index is not None:
            places.follow(index, loaded.document)
        found = places._known(loaded.document, "flags")
        built = {f.key: n for n, f in enumerate(loaded.document.flags)}
        if found is not None:
            assert found[1] == built, (mine, theirs)
            moved += 1
        text, doc = theirs, loaded.document
        del made
    MOVED.append(moved)


MOVED: list[int] = []


def test_the_key_index_is_moved_for_a_toggle_and_an_added_flag() -> None:
    """The common cases are moved, not built: a flag toggled in the middle, a flag added at the end."""
    rng = random.Random(5)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(40)], STYLES[0])
    doc = load_document(text, FILE).document
    assert doc is not None
    for edit in (lambda t: t.replace("key: f20\n", "key: f20\n    description: theirs\n", 1),
                 lambda t: t.replace("segments:", "  - key: added\n    name: Added\nsegments:", 1)):
        locate._KEPT.clear()
        flag = doc.flags[3]
        result = edit_file(text, FILE, [Change("fz", Kind.FLAG, flag.key, flag.model_copy(
            update={"enabled": not flag.enabled}))], doc)
        assert places.places(result.document, "flags") is not None
        theirs = edit(result.text)
        other = load_document(theirs, FILE).document
        assert other is not None
        index = locate.kept(theirs)
        assert index is not None and index.origin is not None
        places.follow(index, other)
        found = places._known(other, "flags")
        assert found is not None and found[1] == {f.key: n for n, f in enumerate(other.flags)}


def test_a_wrong_key_index_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every use of a key index checks the key at the place it found (an index is never wrong; if a moved one were,
    the write must still be right): two places swapped on purpose, the commit writes what the walk writes."""
    from gitstore.edit import writer

    monkeypatch.setattr(writer, "VERIFY_WHOLE_BELOW", 0)
    rng = random.Random(11)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(12)], STYLES[0])
    doc = load_document(text, FILE).document
    assert doc is not None
    flag = doc.flags[4]
    change = [Change("fz", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled,
                                                                         "name": "Changed"}))]
    monkeypatch.setattr(places, "INDEXED", False)
    walked = edit_file(text, FILE, change, doc)
    monkeypatch.setattr(places, "INDEXED", True)
    index = places.places(doc, "flags")
    assert index is not None
    index["f4"], index["f7"] = 7, 4  # wrong on purpose
    locate._KEPT.clear()
    result = edit_file(text, FILE, change, doc)
    assert (result.text, result.document) == (walked.text, walked.document)
    assert load_document(result.text, FILE).document == walked.document
