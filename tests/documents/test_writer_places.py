"""The one-flag commit's shortcuts (issue 18) against the walks they replace, over seeded random edits:
`gitstore.edit.places` (key -> index, handed from a document to the one a replacement makes) against walking every
item (`places.INDEXED = False`), `splice`'s `str.replace` against joining the pieces, and every spliced file read
back whole against the model after the edit (`apply_to_document`, the reference). The writer's whole-file read-back
is off (`VERIFY_WHOLE_BELOW = 0`), as for a big file, so a wrong splice cannot hide behind a re-emitted file."""

from __future__ import annotations

import random

import pytest

from gitstore.edit import locate, places, writer
from gitstore.edit.checks import changed_keys, check_written, normalised, written_document
from gitstore.edit.writer import edit_file, splice
from gitstore.format.loader import load_document
from gitstore.format.yamlemit import Style
from gitstore.model.changes import Change, Kind, apply_to_document, resource_value
from gitstore.model.documents import (
    Distribution,
    Document,
    Flag,
    FlagType,
    Rule,
    Segment,
    SegmentRef,
    Variant,
)

from .test_writer_fuzz import STYLES, _file, _flag

FILE = "fz/features.yaml"


@pytest.fixture(autouse=True)
def _no_whole_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "VERIFY_WHOLE_BELOW", 0)


def _reference(base: Document, changes: list[Change]) -> Document:
    """What the file must hold after the changes: the model's own function, on normalised resources."""
    normal = [Change(c.namespace, c.kind, c.key, normalised(c.value)) if isinstance(c.value, Flag | Segment) else c
              for c in changes]
    return apply_to_document(base, normal)


def _changes(rng: random.Random, base: Document, serial: int) -> list[Change]:
    """1-3 random changes: toggles, replaced flags, adds, deletes, renames (to a new key, or onto an existing one),
    the first or the last flag, a segment edited, added or deleted."""
    changes: list[Change] = []
    keys = [f.key for f in base.flags]
    for n in range(rng.choice([1, 1, 1, 2, 3])):
        roll = rng.random()
        key = rng.choice([keys[0], keys[-1], *rng.sample(keys, 1)]) if keys else f"new{serial}-{n}"
        current = base.flag(key)
        if roll < 0.35 and current is not None:
            changes.append(Change("fz", Kind.FLAG, key, current.model_copy(update={"enabled": not current.enabled})))
        elif roll < 0.55:
            changes.append(Change("fz", Kind.FLAG, key, _flag(rng, key)))
        elif roll < 0.65:
            changes.append(Change("fz", Kind.FLAG, key, None))
        elif roll < 0.75:
            new = f"new{serial}-{n}"
            changes.append(Change("fz", Kind.FLAG, new, _flag(rng, new)))
        elif roll < 0.85 and current is not None:
            target = rng.choice([f"renamed{serial}-{n}", *keys[:2]])  # a new key, or one that exists
            changes.append(Change("fz", Kind.FLAG, key, current.model_copy(update={"key": target})))
        elif roll < 0.88:
            segment = base.segment("seg") or Segment(key="seg", name="Seg", match_type="ALL_MATCH_TYPE")
            changes.append(Change("fz", Kind.SEGMENT, "seg", segment.model_copy(update={"name": f"S{serial}"})))
        elif roll < 0.94:
            changes.append(Change("fz", Kind.FLAG, key, _invalid(rng, key)))
        elif roll < 0.96:
            changes.append(Change("fz", Kind.SEGMENT, "seg", None))  # flags may still name it
        else:
            extra = f"extra{serial}"
            changes.append(Change("fz", Kind.SEGMENT, extra,
                                  Segment(key=extra, name="Extra", match_type="ANY_MATCH_TYPE")))
    return changes


def _invalid(rng: random.Random, key: str) -> Flag:
    """A flag a write must refuse: a rule naming an unknown segment, a distribution naming an unknown variant, or
    a variant key said twice."""
    flag = _flag(rng, key)
    variants = (Variant(key="on"), Variant(key="off"))
    broken = rng.choice([
        {"rules": (Rule(segment=SegmentRef(keys=("nope",))),)},
        {"variants": variants, "rules": (Rule(segment=SegmentRef(keys=("seg",)),
                                              distributions=(Distribution(variant="gone", rollout=50),)),)},
        {"variants": (*variants, Variant(key="on"))},
    ])
    return flag.model_copy(update={"type": FlagType.VARIANT, **broken})


def _both_paths(monkeypatch: pytest.MonkeyPatch, fn):  # type: ignore[no-untyped-def]
    """fn() with the index, then walking every item."""
    monkeypatch.setattr(places, "INDEXED", True)
    indexed = _outcome(fn)
    monkeypatch.setattr(places, "INDEXED", False)
    walked = _outcome(fn)
    monkeypatch.setattr(places, "INDEXED", True)
    return indexed, walked


def _outcome(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the same refusal on both paths is the point
        return ("raised", type(exc).__name__, str(exc))


def _edit(text: str, changes: list[Change], base: Document):  # type: ignore[no-untyped-def]
    result = edit_file(text, FILE, changes, base)
    return result.text, result.document, result.rewritten


@pytest.mark.parametrize("seed", range(60))
def test_a_run_of_commits_reads_back_as_the_model_on_both_paths(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight commits in a row, each on the text and document the previous one wrote (as the store's parse cache
    hands them on): the indexed and walked paths write the same bytes, and the file read back whole is the model
    after the edit; refusals are the same on both. The positions the writer keeps for the next commit (shifted
    from the last ones, `locate.TextIndex.shifted`) are those a fresh scan finds."""
    rng = random.Random(seed)
    style: Style = rng.choice(STYLES)
    text = _file(rng, [_flag(rng, f"f{i}") for i in range(rng.randint(2, 30))], style)
    loaded = load_document(text, FILE)
    assert loaded.errors == [] and loaded.document is not None
    base = loaded.document
    for serial in range(8):
        changes = _changes(rng, base, serial)
        indexed, walked = _both_paths(monkeypatch, lambda: _edit(text, changes, base))  # noqa: B023
        assert indexed == walked, changes
        if indexed[0] == "raised":
            continue
        new_text, document, _ = indexed
        expected = _reference(base, changes)
        again = load_document(new_text, FILE)
        assert again.errors == [], new_text
        assert again.document == expected == document, new_text
        for key in {c.key for c in changes} | {f.key for f in expected.flags[:2]}:
            assert places.value_of(document, Kind.FLAG, key) == resource_value(document, Kind.FLAG, key)
        kept, fresh = locate.indexed(new_text), locate.TextIndex(new_text)  # kept: shifted from the last one
        assert kept.docs == fresh.docs, (changes, new_text)
        for top in (k for d in fresh.docs or () for k in d.keys.values()):
            assert kept.items(top) == fresh.items(top), (changes, new_text)
        text, base = new_text, document  # the next commit's base, index included


@pytest.mark.parametrize("seed", range(40))
def test_written_document_and_check_written_agree_with_the_walks(seed: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """On documents with and without repeated keys (which have no index), `written_document` equals the model's
    `apply_to_document`, and `check_written` finds the same problems on both paths."""
    rng = random.Random(1000 + seed)
    flags = [_flag(rng, f"f{i}") for i in range(rng.randint(1, 12))]
    if rng.random() < 0.3:
        flags.append(flags[rng.randrange(len(flags))])  # a key said twice
    base = Document(flags=tuple(flags), segments=(Segment(key="seg", name="Seg", match_type="ALL_MATCH_TYPE"),))
    changes = _changes(rng, base, seed)
    new, walked_new = _both_paths(monkeypatch, lambda: written_document(base, changes))
    assert new == walked_new == _reference(base, changes)
    if isinstance(new, Document):
        flags_changed, segments_changed = changed_keys(changes, Kind.FLAG), changed_keys(changes, Kind.SEGMENT)
        removed = {c.key for c in changes if c.kind is Kind.SEGMENT}
        found = _both_paths(monkeypatch, lambda: check_written(new, flags_changed, segments_changed, "1.6", FILE,
                                                               removed, base))
        assert found[0] == found[1]
    for key in [f.key for f in flags] + ["missing"]:
        assert places.value_of(base, Kind.FLAG, key) == resource_value(base, Kind.FLAG, key)


def test_a_replacement_hands_the_index_on_and_other_changes_do_not() -> None:
    base = Document(flags=tuple(Flag(key=f"f{i}", name=f"F{i}") for i in range(5)))
    index = places.places(base, "flags")
    assert index == {f"f{i}": i for i in range(5)}
    toggled = written_document(base, [Change("default", Kind.FLAG, "f3", base.flags[3].model_copy(
        update={"enabled": True}))])
    assert places.places(toggled, "flags") is index  # handed on, not rebuilt
    added = written_document(toggled, [Change("default", Kind.FLAG, "f9", Flag(key="f9", name="F9"))])
    assert places.places(added, "flags") == {**index, "f9": 5}  # built anew
    deleted = written_document(added, [Change("default", Kind.FLAG, "f0", None)])
    assert places.places(deleted, "flags") == {"f1": 0, "f2": 1, "f3": 2, "f4": 3, "f9": 4}


@pytest.mark.parametrize("seed", range(200))
def test_splice_is_the_edits_applied(seed: int) -> None:
    """`splice` (one edit: `str.replace` when the span comes first; else one join) against applying the edits by
    slicing, on texts where a span's text also appears earlier, non-ASCII text, empty spans and several edits."""
    rng = random.Random(seed)
    words = ["- key: a\n", "  name: x\n", "é\n", "# c\n", "\n", "  - key: a\n"]
    text = "".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
    edits: list[tuple[int, int, str]] = []
    taken = 0
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if taken > len(text):
            break
        start = rng.randint(taken, len(text))
        end = rng.randint(start, min(len(text), start + 30))
        edits.append((start, end, rng.choice(["", "X", "  - key: b\n", "ü"])))
        taken = end + 1
    expected = text
    for start, end, replacement in sorted(edits, reverse=True):
        expected = expected[:start] + replacement + expected[end:]
    assert splice(text, edits) == expected


def test_a_flag_with_an_old_warning_may_still_be_toggled_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check_written` holds against a changed flag only the strict problems its base version did not have (the
    base version is found through the index)."""
    text = ('version: "1.6"\nnamespace: fz\nflags:\n  - key: first\n    name: First\n    enabled: false\n'
            "  - key: old\n    name: Old\n    enabled: false\n    variants:\n      - key: on\n    rules:\n"
            "      - segment: seg\n        distributions:\n          - variant: gone\n            rollout: 50\n"
            "segments:\n  - key: seg\n    name: Seg\n    match_type: ALL_MATCH_TYPE\n")
    loaded = load_document(text, FILE)
    assert loaded.errors == [] and loaded.document is not None
    base = loaded.document
    old = base.flag("old")
    assert old is not None
    toggle = [Change("fz", Kind.FLAG, "old", old.model_copy(update={"enabled": True}))]
    indexed, walked = _both_paths(monkeypatch, lambda: _edit(text, toggle, base))
    assert indexed == walked and indexed[0] != "raised"
    assert indexed[0] == text.replace("Old\n    enabled: false", "Old\n    enabled: true")
    worse = [Change("fz", Kind.FLAG, "old", old.model_copy(update={"variants": (*old.variants, Variant(key="on"))}))]
    indexed, walked = _both_paths(monkeypatch, lambda: _edit(text, worse, base))
    assert indexed == walked and indexed[0] == "raised" and "duplicate variant key 'on'" in indexed[2]
