"""One-flag commits through the store after another writer's commits (issue 18): the writer follows the text it
wrote last to the new one (`locate.TextIndex.follow`, `places.follow`) instead of scanning 46 MB again. Each
commit's blob, read by a fresh loader, is the model after the edit, the comment above flag-350 survives, and
the index the writer keeps is the one a scan finds. And a kept index that does not fit its text (a stale
position) costs a scan, not the file's comments."""

from __future__ import annotations

import logging
import random
import re

import pygit2
import pytest

from gitstore.edit import locate, places
from gitstore.edit.checks import normalised
from gitstore.format.loader import load_document
from gitstore.git.refs import branch_ref
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.model.changes import Change, Kind, apply_to_document
from gitstore.model.documents import Document, Flag
from gitstore.store import Store

from .conftest import ALICE
from .test_commit_splice import FILE, _change, _seed

COMMENT = b"  # a comment above flag-350\n  - key: flag-350\n"


def _outside(rng: random.Random, data: bytes, serial: int) -> bytes:
    """Another writer's edit of the file's bytes: a flag toggled or renamed, a flag's lines deleted or
    copied under a new key, a comment, the first or the last flag, or several of these at once."""
    for _ in range(rng.choice([1, 1, 2])):
        segments = data.index(b"\nsegments:")
        starts = [m.start() for m in re.compile(rb"\n  - key: ").finditer(data, 0, segments)]
        at = rng.choice([starts[0], starts[-1], rng.choice(starts)]) + 1
        end = data.find(b"\n  - key: ", at, segments) + 1 or segments + 1
        item = data[at:end]
        if b"flag-350\n" in item:
            item = item.replace(b"    name: ", b"    name: Theirs ", 1)
            data = data[:at] + item + data[end:]
            continue
        roll = rng.random()
        if roll < 0.4:
            item = item.replace(b"enabled: false", b"enabled: TRUE").replace(b"enabled: true", b"enabled: false")
            item = item.replace(b"enabled: TRUE", b"enabled: true")
        elif roll < 0.55:
            item = item.replace(b"    name: ", f"    name: Theirs {serial} ".encode(), 1)
        elif roll < 0.7:
            item = b""
        elif roll < 0.85:
            item += re.sub(rb"key: \S+", f"key: theirs-{serial}-{rng.randrange(999)}".encode(), item, count=1)
        else:
            item = f"  # their comment {serial}\n".encode() + item
        data = data[:at] + item + data[end:]
    return data


def _commit_outside(repo: pygit2.Repository, data: bytes) -> None:
    ref = branch_ref("main")
    parent = repo.references[ref].target
    tree = build_tree(repo, repo[parent].tree, {FILE: data})
    cas_ref(repo, ref, parent, make_commit(repo, tree, [parent], ALICE, "another writer"), "test")


def _kept_is_a_scan(text: str) -> None:
    kept = locate._KEPT.get(text)
    assert kept is not None
    fresh = locate.TextIndex(text)
    assert kept.docs == fresh.docs
    for key in (k for d in fresh.docs or () for k in d.keys.values()):
        assert kept.items(key) == fresh.items(key)


@pytest.mark.parametrize("seed", range(4))
def test_commits_after_another_writers_commits_read_back_as_the_model(store: Store, seed: int) -> None:
    _seed(store)
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    rng = random.Random(seed)
    doc = store.snapshot("production").document("default")
    assert doc is not None
    store.commit("production", [Change("default", Kind.FLAG, "flag-1", doc.flags[1].model_copy(
        update={"enabled": True}))], ALICE)  # the writer keeps the index of what it wrote
    followed = 0
    for serial in range(8):
        data = repo[repo.revparse_single("main").tree[FILE].id].data
        _commit_outside(repo, _outside(rng, data, serial))
        served = store.snapshot("production").namespaces["default"]  # the store follows, as a console does
        doc = served.document
        assert doc is not None, served.problems
        text = served.text
        change = _change(rng, doc, serial)
        store.commit("production", [change], ALICE)
        kept = locate._KEPT.get(text)
        followed += kept is not None and kept.origin is not None  # else scanned: edits far apart
        data = repo[repo.revparse_single("main").tree[FILE].id].data
        value = normalised(change.value) if isinstance(change.value, Flag) else None
        expected = apply_to_document(doc, [Change(change.namespace, change.kind, change.key, value)])
        fresh = load_document(data, FILE)
        assert fresh.errors == [] and fresh.document == expected, serial
        assert COMMENT in data, (serial, change)
        _kept_is_a_scan(data.decode())
        served = store.snapshot("production").namespaces["default"]
        assert served.document == expected
        found = places.places(expected, "flags")
        assert found is None or found == {f.key: n for n, f in enumerate(expected.flags)}
    assert followed >= 4


def test_a_kept_index_that_does_not_fit_is_scanned_again_and_the_comments_stay(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """A stale position in the kept index (an item start lost) made the writer re-emit the whole file, dropping
    every comment and the layout; it now scans the file once and splices again, and says so in the log."""
    _seed(store)
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    doc = store.snapshot("production").document("default")
    assert doc is not None
    store.commit("production", [Change("default", Kind.FLAG, "flag-1", doc.flags[1].model_copy(
        update={"enabled": True}))], ALICE)
    text = repo[repo.revparse_single("main").tree[FILE].id].data.decode()
    kept = locate._KEPT.get(text)
    assert kept is not None and kept.docs is not None
    found = kept.items(kept.docs[0].keys["flags"])
    assert found is not None
    del found[1][400]  # a stale index: one item start lost
    doc = store.snapshot("production").document("default")
    assert isinstance(doc, Document)
    change = Change("default", Kind.FLAG, "flag-9", doc.flags[9].model_copy(update={"enabled": True}))
    with caplog.at_level(logging.WARNING, logger="gitstore.edit.writer"):
        store.commit("production", [change], ALICE)
    data = repo[repo.revparse_single("main").tree[FILE].id].data
    assert COMMENT in data  # not re-emitted whole
    fresh = load_document(data, FILE)
    assert fresh.document == apply_to_document(doc, [Change("default", Kind.FLAG, "flag-9",
                                                            normalised(change.value))])
    assert "did not fit" in caplog.text and "written whole" not in caplog.text
    _kept_is_a_scan(data.decode())
