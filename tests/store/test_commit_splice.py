"""A run of one-flag commits through the store on a file big enough that the writer does not read it back whole
(issue 18): each commit's blob, read by a fresh loader, is the model after the edit; the snapshot the store
serves afterwards (from what the commit left in its parse cache) holds the same document and the digest of the
blob's bytes, as one a fresh store reads."""

from __future__ import annotations

import hashlib
import random

import pygit2

from gitstore.config import load_config
from gitstore.edit.checks import normalised
from gitstore.edit.writer import VERIFY_WHOLE_BELOW
from gitstore.format.loader import load_document
from gitstore.format.models import dump_document
from gitstore.git.refs import branch_ref
from gitstore.git.repo import build_tree, cas_ref, make_commit
from gitstore.model.changes import Change, Kind, apply_to_document
from gitstore.model.documents import Distribution, Document, Flag, Rule, Segment, SegmentRef, Variant
from gitstore.store import Store

from .conftest import ALICE

FILE = "default/features.yaml"


def _flag(n: int, enabled: bool = False) -> Flag:
    return Flag(key=f"flag-{n}", name=f"Flag {n}", description=f"flag number {n}", enabled=enabled,
                metadata={"owner": f"team-{n % 7}"},
                variants=(Variant(key="control", default=True), Variant(key="treatment")),
                rules=(Rule(segment=SegmentRef(keys=(f"segment-{n % 5}",)),
                            distributions=(Distribution(variant="control", rollout=50),
                                           Distribution(variant="treatment", rollout=50))),))


def _seed(store: Store) -> str:
    segments = tuple(Segment(key=f"segment-{n}", name=f"Segment {n}", match_type="ALL_MATCH_TYPE") for n in range(5))
    text = dump_document(Document(flags=tuple(_flag(n) for n in range(700)), segments=segments))
    lines = text.split("\n")
    at = lines.index("  - key: flag-350")
    text = "\n".join([*lines[:at], "  # a comment above flag-350", *lines[at:]])  # kept through every commit
    assert len(text) > VERIFY_WHOLE_BELOW
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    ref = branch_ref("main")
    parent = repo.references[ref].target
    tree = build_tree(repo, repo[parent].tree, {FILE: text.encode()})
    cas_ref(repo, ref, parent, make_commit(repo, tree, [parent], ALICE, "700 flags"), "test")
    return text


def _change(rng: random.Random, doc: Document, serial: int) -> Change:
    keys = [f.key for f in doc.flags]
    key = rng.choice([keys[0], keys[-1], "flag-350", rng.choice(keys)])
    current = doc.flag(key)
    assert current is not None
    roll = rng.random()
    if roll < 0.5:
        return Change("default", Kind.FLAG, key, current.model_copy(update={"enabled": not current.enabled}))
    if roll < 0.65:
        return Change("default", Kind.FLAG, key, current.model_copy(update={"description": f"edit {serial}"}))
    if roll < 0.75:
        return Change("default", Kind.FLAG, f"added-{serial}", _flag(1000 + serial))
    if key == "flag-350":  # stays, with the comment above it
        return Change("default", Kind.FLAG, key, current.model_copy(update={"name": f"Name {serial}"}))
    if roll < 0.85:
        return Change("default", Kind.FLAG, key, None)
    return Change("default", Kind.FLAG, key, current.model_copy(update={"key": f"renamed-{serial}"}))


def test_a_run_of_one_flag_commits_reads_back_as_the_model(store: Store) -> None:
    _seed(store)
    repo = pygit2.Repository(str(store.config.storage["local"].path))
    rng = random.Random(18)
    doc = store.snapshot("production").document("default")
    assert doc is not None and len(doc.flags) == 700
    for serial in range(14):
        change = _change(rng, doc, serial)
        store.commit("production", [change], ALICE)
        data = repo[repo.revparse_single("main").tree[FILE].id].data
        value = normalised(change.value) if isinstance(change.value, Flag) else None
        expected = apply_to_document(doc, [Change(change.namespace, change.kind, change.key, value)])
        fresh = load_document(data, FILE)
        assert fresh.errors == [] and fresh.document == expected, serial
        assert b"  # a comment above flag-350\n  - key: flag-350\n" in data, (serial, change)
        served = store.snapshot("production").namespaces["default"]
        assert served.document == expected and served.digest == hashlib.sha1(data).hexdigest()
        assert served.text.encode() == data
        doc = expected
    with Store(load_config(store.config.path)) as other:  # no parse cache: reads the blob itself
        again = other.snapshot("production").namespaces["default"]
        assert again.document == doc and again.digest == served.digest
