"""Canonical writing: Flipt's key order, version 1.6, quoting that every YAML reader agrees on, exact round-trips."""

from __future__ import annotations

import random

import pytest
import yaml

from gitstore.edit.writer import edit_file
from gitstore.format.loader import load_document
from gitstore.format.models import document_to_data, dump_document, dump_json
from gitstore.format.validation_rules import normalise_value
from gitstore.format.yamlemit import scalar
from gitstore.format.yamlio import go_number
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import (
    ComparisonType,
    Constraint,
    Distribution,
    Document,
    Flag,
    FlagType,
    MatchType,
    NamespaceInfo,
    Rollout,
    RolloutSegment,
    RolloutThreshold,
    Rule,
    Segment,
    SegmentOperator,
    SegmentRef,
    Variant,
)

TRICKY = ["on", "off", "yes", "No", "null", "~", "true", "1.6", "010", "1e3", "0x1F", "2024-01-01", "-", "- x",
          "a: b", "a #b", "#x", "[x]", "{x}", "*x", "&x", "!x", "%x", "@x", "`x`", "'q'", '"dq"', " lead", "trail ",
          "tab\there", "é ü 中文", "\u2028sep", "bell\x07", "", ".inf", "1_000", "+1", ".5", "x\ny", "x\n", "\nx",
          "x\n\n", "  indented\nline", "key: value\n- item\n"]


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_scalars_read_back_the_same_in_yaml_1_2_and_1_1(text: str) -> None:
    doc = Document(namespace=NamespaceInfo(key="n", name=text or None),
                   flags=(Flag(key="f", name="F", description=text),))
    dumped = dump_document(doc)
    assert load_document(dumped, "n/features.yaml").document == doc
    assert yaml.safe_load(dumped)["flags"][0]["description"] == text  # PyYAML is YAML 1.1


def test_key_order_and_version() -> None:
    flag = Flag(key="k", name="N", type=FlagType.BOOLEAN, description="d", enabled=True, metadata={"a": 1},
                variants=(Variant(key="v", name="V", description="vd", default=True, attachment={"x": [1]}),),
                rules=(Rule(segment=SegmentRef(keys=("s",)), distributions=(Distribution(variant="v", rollout=50),)),),
                rollouts=(Rollout(description="r", segment=RolloutSegment(keys=("s", "t"),
                                                                          operator=SegmentOperator.AND, value=True)),
                          Rollout(threshold=RolloutThreshold(percentage=12.5, value=False))))
    doc = Document(version="1.3", namespace=NamespaceInfo(key="ns"), flags=(flag,),
                   segments=(Segment(key="s", name="S", match_type=MatchType.ANY), Segment(key="t", name="T",
                             match_type=MatchType.ALL)))
    data = document_to_data(doc)
    assert list(data) == ["version", "namespace", "flags", "segments"] and data["version"] == "1.6"
    assert list(data["flags"][0]) == ["key", "name", "type", "description", "enabled", "metadata", "variants",
                                      "rules", "rollouts"]
    assert list(data["segments"][0]) == ["key", "name", "match_type"]
    text = dump_document(doc)
    assert text.startswith('version: "1.6"\nnamespace: ns\nflags:\n  - key: k\n    name: "N"\n')  # YAML 1.1 "no"
    assert "rollout: 50\n" in text and "percentage: 12.5\n" in text
    assert load_document(text, "ns/features.yaml").document == doc.model_copy(update={"version": "1.6"})


def test_every_flag_carries_enabled() -> None:
    text = dump_document(Document(flags=(Flag(key="a", name="A"),)))
    assert "    enabled: false\n" in text


def test_json_dump_loads_back() -> None:
    doc = Document(namespace=NamespaceInfo(key="j"), flags=(Flag(key="a", name="A", enabled=True),))
    assert load_document(dump_json(doc), "j/features.json").document == doc


def test_constraint_value_normalisation() -> None:
    assert normalise_value([3, 3.14159, 4.0]) == "[3,3.14159,4]"
    assert normalise_value(["a", True, None, 1e21]) == '["a","true","",1e+21]'
    assert normalise_value(30) == "30" and normalise_value(0.5) == "0.5" and normalise_value(True) == "true"
    assert normalise_value(None) == "" and normalise_value(1e-7) == "1e-7" and normalise_value(123456789.0) == \
        "123456789"
    assert go_number(2.5e16) == "25000000000000000"
    text = ('version: "1.6"\nsegments:\n  - key: s\n    name: S\n    match_type: ALL_MATCH_TYPE\n    constraints:\n'
            "      - {type: NUMBER_COMPARISON_TYPE, property: p, operator: eq, value: 30.0}\n"
            "      - {type: BOOLEAN_COMPARISON_TYPE, property: b, operator: 'true', value: null}\n")
    doc = load_document(text, "x.yaml").document
    assert [c.value for c in doc.segments[0].constraints] == ["30", ""]
    assert scalar("30") == '"30"'


def _random_document(rng: random.Random) -> Document:
    words = TRICKY + ["plain", "Two words", "ünï", "x,y"]
    segments = tuple(
        Segment(key=f"s{i}", name=rng.choice(words) or "S", description=rng.choice([None, *words]),
                match_type=rng.choice(list(MatchType)),
                constraints=tuple(Constraint(type=ComparisonType.STRING, property=rng.choice(words) or "p",
                                             operator="isoneof" if list_value else rng.choice(["eq", "prefix"]),
                                             value='["a","on"]' if list_value else rng.choice(words))
                                  for list_value in [rng.random() < 0.4 for _ in range(rng.randint(0, 2))]))
        for i in range(rng.randint(1, 4)))
    flags = []
    for i in range(rng.randint(1, 6)):
        variants = tuple(Variant(key=f"v{j}", name=rng.choice([None, "V"]), attachment=rng.choice(
            [None, {"k": rng.choice(words)}, [1, "on", {"n": None}]])) for j in range(rng.randint(0, 3)))
        rules = tuple(Rule(segment=SegmentRef(keys=(rng.choice(segments).key,)),
                           distributions=tuple(Distribution(variant=v.key, rollout=rng.choice([0, 33.3, 100]))
                                               for v in variants[:1])) for _ in range(rng.randint(0, 2)))
        flags.append(Flag(key=f"f{i}", name=rng.choice(words) or "F", description=rng.choice([None, *words]),
                          enabled=rng.random() < 0.5, metadata=rng.choice([None, {"team": rng.choice(words)}]),
                          variants=variants, rules=rules))
    return Document(namespace=NamespaceInfo(key="r"), flags=tuple(flags), segments=segments)


@pytest.mark.parametrize("seed", range(25))
def test_random_documents_round_trip_and_survive_random_edits(seed: int) -> None:
    rng = random.Random(seed)
    doc = _random_document(rng)
    text = dump_document(doc)
    loaded = load_document(text, "r/features.yaml")
    assert loaded.errors == [] and loaded.document == doc
    assert dump_document(loaded.document) == text
    other = _random_document(rng)
    target = rng.choice(doc.flags)
    replacement = rng.choice(other.flags).model_copy(update={"key": target.key, "rules": ()})
    result = edit_file(text, "r/features.yaml", [Change("r", Kind.FLAG, target.key, replacement)])
    again = load_document(result.text, "r/features.yaml").document
    assert again.flag(target.key) == replacement
    assert [f for f in again.flags if f.key != target.key] == [f for f in doc.flags if f.key != target.key]
