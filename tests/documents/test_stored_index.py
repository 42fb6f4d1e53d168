"""`gitstore.edit.stored`: the text index and key index the writer keeps on disk for a file it wrote, read back by
another process, against a scan of the whole text (`TextIndex(text)` and the old code, `locate_reference`) and the
key index built from a freshly loaded document, over seeded random files and edits (several documents, comments,
CRLF, the four layouts); and an entry that is cut short, corrupt, for another blob, file or code, or holds what does
not fit the text or the document, is a miss (nothing is used)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from gitstore.edit import locate, places, stored
from gitstore.edit.locate import TextIndex, scan_dashes
from gitstore.edit.writer import edit_file
from gitstore.format import cache
from gitstore.format.loader import load_document
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Document

from .test_locate_follow import FILE, _scan, _view, reference_marks
from .test_writer_fuzz import STYLES, _file, _flag

OTHER = "---\n# the other namespace\nnamespace: other\nflags:\n  - key: o1\n    name: O1\n" \
        "    type: BOOLEAN_FLAG_TYPE\n    enabled: true\n"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text counts as big, and nothing is remembered from another test."""
    monkeypatch.setattr(stored, "SAVED_FROM", 0)
    monkeypatch.setattr(locate, "_KEPT", type(locate._KEPT)())


def _blob(text: str) -> str:
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _written(rng: random.Random) -> tuple[str, Document]:
    """A file the writer has just written (a random file, then one flag changed, added or deleted), and the
    document it wrote."""
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(rng.randint(1, 30))], rng.choice(STYLES))
    if rng.random() < 0.25:
        text = text.rstrip("\n") + "\n" + OTHER
    elif rng.random() < 0.25:  # (not both: gitstore/format/yamlio.py counts no CRLF `---` line, and fails the file)
        text = text.replace("\n", "\r\n")
    doc = load_document(text, FILE, namespace="fz").document
    assert doc is not None
    flag = rng.choice(doc.flags)
    roll = rng.random()
    if roll < 0.6:
        change = Change("fz", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))
    elif roll < 0.8:
        change = Change("fz", Kind.FLAG, "added", _flag(rng, "added"))
    else:
        change = Change("fz", Kind.FLAG, flag.key, None)
    result = edit_file(text, FILE, [change], doc)
    return result.text, result.document


def _another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locate, "_KEPT", type(locate._KEPT)())


@pytest.mark.parametrize("seed", range(150))
def test_the_index_read_back_is_a_scan_of_the_text(seed: int, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(40_000 + seed)
    text, written = _written(rng)
    blob = _blob(text)
    saved = stored.save(tmp_path, blob, FILE, text, written)
    _another_process(monkeypatch)
    doc = load_document(text, FILE, namespace="fz").document  # what the other process reads
    assert doc is not None
    index = stored.load(tmp_path, blob, FILE, _lf(text), doc)
    if not saved:  # the writer re-emitted the file, and kept no index of it
        assert index is None
        return
    assert index is not None
    lf = _lf(text)
    assert index.marks == reference_marks(lf)
    for col, found in index.dashes.items():
        assert found == scan_dashes(lf, col), col
    assert _view(index) == _scan(lf) == _view(TextIndex(lf))
    for attr in places.ATTRS:
        got = places.known(doc, attr)
        if got is not None:
            assert got == {item.key: n for n, item in enumerate(getattr(doc, attr))}


def test_a_toggle_keeps_the_key_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case: one flag toggled; the other process's document gets the key index without building it."""
    rng = random.Random(5)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(40)], STYLES[0])
    doc = load_document(text, FILE).document
    assert doc is not None
    places.places(doc, "flags")
    change = Change("fz", Kind.FLAG, "f7", doc.flags[7].model_copy(update={"enabled": not doc.flags[7].enabled}))
    result = edit_file(text, FILE, [change], doc)
    assert stored.save(tmp_path, _blob(result.text), FILE, result.text, result.document)
    _another_process(monkeypatch)
    fresh = load_document(result.text, FILE).document
    assert fresh is not None
    assert stored.load(tmp_path, _blob(result.text), FILE, result.text, fresh) is not None
    assert places.known(fresh, "flags") == {f.key: n for n, f in enumerate(fresh.flags)}


def _saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, Path]:
    rng = random.Random(11)
    text, written = _written(rng)
    blob = _blob(text)
    assert stored.save(tmp_path, blob, FILE, text, written)
    _another_process(monkeypatch)
    return _lf(text), blob, cache.index_path(tmp_path, blob, FILE, stored.code())


def _load(tmp_path: Path, text: str, blob: str) -> tuple[locate.TextIndex | None, Document]:
    doc = load_document(text, FILE, namespace="fz").document
    assert doc is not None
    return stored.load(tmp_path, blob, FILE, text, doc), doc


@pytest.mark.parametrize("damage", ["cut", "flip", "garbage", "empty", "header"])
def test_a_damaged_entry_is_a_miss_and_is_removed(damage: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    text, blob, path = _saved(tmp_path, monkeypatch)
    raw = path.read_bytes()
    damaged = {"cut": raw[:len(raw) // 2], "flip": raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],
               "garbage": b"\x00" * 64, "empty": b"", "header": raw.replace(b'"crc":', b'"crd":', 1)}[damage]
    path.write_bytes(damaged)
    index, doc = _load(tmp_path, text, blob)
    assert index is None and places.known(doc, "flags") is None
    assert not path.exists()


def test_another_blobs_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry copied under another blob's name (it says which blob it is for), or asked for with another
    file name or by other code, is not used."""
    text, blob, path = _saved(tmp_path, monkeypatch)
    other = "0" * 40
    path.rename(cache.index_path(tmp_path, other, FILE, stored.code()))
    assert _load(tmp_path, text, other)[0] is None
    assert not cache.index_path(tmp_path, other, FILE, stored.code()).exists()
    text, blob, path = _saved(tmp_path, monkeypatch)
    doc = load_document(text, FILE, namespace="fz").document
    assert stored.load(tmp_path, blob, "other/features.yaml", text, doc) is None
    monkeypatch.setattr(stored, "_code", "other code")
    assert _load(tmp_path, text, blob)[0] is None
    assert path.exists()  # another version's entry: left to eviction


def _twelve_flags() -> tuple[str, Document, str, dict[str, object]]:
    """A file of twelve flags, its document, blob id and the payload the writer would keep for it."""
    text = _file(random.Random(3), [_flag(random.Random(n), f"f{n}") for n in range(12)], STYLES[0])
    doc = load_document(text, FILE).document
    assert doc is not None
    return text, doc, _blob(text), _payload(text, doc)


def _payload(text: str, doc: Document) -> dict[str, object]:
    index = TextIndex(text)
    return {"length": len(text), "markers": index.marks.markers, "tops": index.marks.tops,
            "dashes": {str(c): d for c, d in index.dashes.items()}, "namespace": doc.namespace.key,
            "places": {"flags": [f.key for f in doc.flags]}}


BREAKS = {
    "length": lambda p, t: p.update(length=len(t) + 1),
    "unsorted": lambda p, t: p.update(dashes={"2": p["dashes"]["2"][::-1]}),
    "not a dash": lambda p, t: p.update(dashes={"2": [x + 1 for x in p["dashes"]["2"]]}),
    "past the end": lambda p, t: p.update(tops=[*p["tops"], len(t) + 5]),
    "a top not at a newline": lambda p, t: p.update(tops=sorted({*p["tops"], 1})),
    "a marker not a top": lambda p, t: p.update(markers=[3]),
    "strings": lambda p, t: p.update(tops=[str(x) for x in p["tops"]]),
    "column": lambda p, t: p.update(dashes={"x": []}),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_an_index_that_does_not_fit_the_text_is_a_miss(name: str, tmp_path: Path) -> None:
    text, doc, blob, payload = _twelve_flags()
    assert cache.save_index(tmp_path, blob, FILE, stored.code(), payload)
    assert stored.load(tmp_path, blob, FILE, text, doc) is not None  # unbroken: used
    places.forget(doc)
    BREAKS[name](payload, text)
    assert cache.save_index(tmp_path, blob, FILE, stored.code(), payload)
    assert stored.load(tmp_path, blob, FILE, text, doc) is None
    assert places.known(doc, "flags") is None


@pytest.mark.parametrize("name", ["another key", "count", "swapped ends", "said twice", "not a string",
                                  "another namespace"])
def test_a_key_index_that_does_not_fit_the_document_is_not_given(name: str, tmp_path: Path) -> None:
    text, doc, blob, payload = _twelve_flags()
    keys = payload["places"]["flags"]  # type: ignore[index]
    if name == "another key":
        keys[6] = "zz"
    elif name == "count":
        keys.pop()
    elif name == "swapped ends":
        keys[0], keys[-1] = keys[-1], keys[0]
    elif name == "said twice":
        keys[3] = keys[2]
    elif name == "not a string":
        keys[3] = 3
    else:
        payload["namespace"] = "other"
    assert cache.save_index(tmp_path, blob, FILE, stored.code(), payload)
    assert stored.load(tmp_path, blob, FILE, text, doc) is not None  # the text index fits
    assert places.known(doc, "flags") is None


def test_a_key_missing_from_an_index_read_from_disk_is_walked_for(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A key index read from disk that names another key in place of one (where no probe looks) is still given,
    but the key it lacks is looked for by walking the flags: it never reads as absent (a write would add it
    twice), and the commit writes what a scan writes."""
    text, doc, blob, payload = _twelve_flags()
    payload["places"]["flags"][5] = "zz"  # type: ignore[index]
    assert cache.save_index(tmp_path, blob, FILE, stored.code(), payload)
    assert stored.load(tmp_path, blob, FILE, text, doc) is not None
    assert places.known(doc, "flags") is not None  # given: the probes (first, middle, last) do not see it
    assert places.value_of(doc, Kind.FLAG, "f5") == doc.flags[5]
    assert places.value_of(doc, Kind.FLAG, "zz") is None
    change = [Change("fz", Kind.FLAG, "f5", doc.flags[5].model_copy(update={"enabled": not doc.flags[5].enabled}))]
    kept = stored.load(tmp_path, blob, FILE, text, doc)
    written = edit_file(text, FILE, change, doc, lambda t, d: kept).text
    _another_process(monkeypatch)
    fresh = load_document(text, FILE).document
    assert fresh is not None
    assert written == edit_file(text, FILE, change, fresh).text
    reread = load_document(written, FILE).document
    assert reread is not None and [f.key for f in reread.flags] == [f.key for f in doc.flags]
