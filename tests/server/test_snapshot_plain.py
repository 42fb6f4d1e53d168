"""The client snapshot written straight from a namespace's checked plain data (`client_snapshot_from_data`, what
`flagdeck export --format json` and an evaluator starting on a big namespace use, issue 18) against the way it
replaces (models built, the namespace compiled, `build_client_snapshot`): the same bytes on every fixture, on the
benchmark's flags, on hand-made shapes the plain way must leave to the compiler, and on hundreds of seeded random
namespaces of every shape the snapshot has."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from evaluator.client_snapshot import _Builder, build_client_snapshot, client_snapshot_from_data
from evaluator.engine.compiler import Compiler
from gitstore.format.loader import _groups, load_document
from gitstore.format.models import build_document, build_segment

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DIGEST = "0123456789abcdef0123456789abcdef01234567"
SHAPES = """\
version: "1.6"
namespace: {key: shapes, name: Shapes}
flags:
  - key: plain
    name: Plain
    enabled: true
    variants:
      - {key: "on", default: true, attachment: {b: 1, a: "<&>"}}
      - {key: "off", name: Off}
    rules:
      - segment: everyone
        distributions: [{variant: "on", rollout: 33.3}, {variant: "off", rollout: 66.7}]
      - segment: {keys: [everyone, pro, everyone], operator: AND_SEGMENT_OPERATOR}
        distributions: [{variant: "off", rollout: 0}, {variant: "on", rollout: 100}]
      - segment: {keys: [pro]}
        distributions: [{variant: "on", rollout: 50}]
  - key: two-defaults
    name: Two defaults
    variants: [{key: a, default: true}, {key: b, default: true}, {key: c, attachment: [1, 2]}]
    rules: [{segment: broken, distributions: [{variant: a, rollout: 100}]}]
  - key: broken-in-a-list
    name: Broken in a list
    variants: [{key: a}]
    rules: [{segment: {keys: [pro, broken], operator: OR_SEGMENT_OPERATOR}, distributions: [{variant: a, rollout: 1}]}]
  - key: boolean
    name: Boolean
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - {description: half, threshold: {percentage: 50, value: true}}
      - {segment: {keys: [pro, everyone], operator: AND_SEGMENT_OPERATOR, value: false}}
      - {segment: {key: broken, value: true}}
  - key: bare
    name: Bare
    type: BOOLEAN_FLAG_TYPE
segments:
  - {key: everyone, name: Everyone, match_type: ANY_MATCH_TYPE}
  - key: pro
    name: Pro
    constraints:
      - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}
      - {type: NUMBER_COMPARISON_TYPE, property: seats, operator: isoneof, value: [1, 2.5]}
  - key: broken
    name: Broken
    constraints: [{type: DATETIME_COMPARISON_TYPE, property: at, operator: gt, value: "not a time"}]
---
namespace: shapes
flags:
  - key: second-document
    name: Second
    variants: [{key: x, default: true}]
    rules: [{segment: pro, distributions: [{variant: x, rollout: 100}]}]
"""


def _both(parts: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    new = orjson.dumps(client_snapshot_from_data(copy.deepcopy(parts), DIGEST, "f", WHEN))
    old = orjson.dumps(build_client_snapshot(build_document(parts), DIGEST, WHEN))
    return new, old


def _same_for_every_namespace(docs: list[Any]) -> int:
    compared = 0
    for parts in _groups(docs).values():
        new, old = _both(parts)
        assert new == old
        compared += 1
    return compared


def _loaded(text: str, name: str = "shapes/features.yaml") -> list[Any]:
    result = load_document(text, name)
    assert result.data is not None, result.problems
    return result.data


def test_hand_made_shapes_give_the_same_snapshot() -> None:
    docs = _loaded(SHAPES)
    assert _same_for_every_namespace(docs) == 1
    snapshot = client_snapshot_from_data(_groups(docs)["shapes"], DIGEST, "f", WHEN)
    assert [f["key"] for f in snapshot["flags"]] == ["plain", "two-defaults", "broken-in-a-list", "boolean", "bare",
                                                     "second-document"]
    assert snapshot["flags"][1]["rules"][0]["segments"] == []  # the broken segment dropped, as the compiler does


def test_ordinary_flags_are_written_from_their_data_and_the_others_left_to_the_compiler() -> None:
    docs = _loaded(SHAPES)
    parts = _groups(docs)["shapes"]
    compiler = Compiler([build_segment(s) for doc in parts for s in doc.get("segments") or ()], "f")
    builder = _Builder(DIGEST, "t")
    taken = [f["key"] for doc in parts for f in doc["flags"] if builder.plain_flag(f, compiler.segments) is not None]
    assert taken == ["plain", "bare", "second-document"]


def test_the_benchmark_flags_give_the_same_snapshot_from_their_data() -> None:
    from bench.gitstore import features

    docs = _loaded(features("default", 300, 7).decode(), "default/features.yaml")
    assert _same_for_every_namespace(docs) == 1
    parts = _groups(docs)["default"]
    compiler = Compiler([build_segment(s) for s in parts[0]["segments"]], "f")
    assert all(_Builder(DIGEST, "t").plain_flag(f, compiler.segments) is not None for f in parts[0]["flags"])


def test_every_valid_fixture_gives_the_same_snapshot() -> None:
    compared = 0
    for path in sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()):
        result = load_document(path.read_bytes(), f"{path.parent.name}/{path.name}")
        if result.data is not None:
            compared += _same_for_every_namespace(result.data)
    assert compared > 20


def _random_namespace(rng: random.Random) -> dict[str, Any]:
    """A namespace of every shape the snapshot has: variant and boolean flags, defaults (none, one, several),
    attachments, rules naming one or several segments (repeated, AND/OR), distributions of 0 to 100, rollouts,
    segments that compile and one the compiler drops."""
    segments: list[dict[str, Any]] = [
        {"key": "everyone", "name": "Everyone", "match_type": "ANY_MATCH_TYPE"},
        {"key": "pro", "name": "Pro", "match_type": "ALL_MATCH_TYPE", "constraints": [
            {"type": "STRING_COMPARISON_TYPE", "property": "plan", "operator": "eq", "value": "pro"},
            {"type": "NUMBER_COMPARISON_TYPE", "property": "seats", "operator": "isoneof", "value": [1, 2.5]}]},
        {"key": "broken", "name": "Broken", "match_type": "ALL_MATCH_TYPE", "constraints": [
            {"type": "DATETIME_COMPARISON_TYPE", "property": "at", "operator": "gt", "value": "not a time"}]},
    ]
    keys = [s["key"] for s in segments]

    def ref() -> Any:
        if rng.random() < 0.5:
            return rng.choice(keys)
        found: dict[str, Any] = {"keys": [rng.choice(keys) for _ in range(rng.randint(1, 3))]}
        if rng.random() < 0.7:
            found["operator"] = rng.choice(["AND_SEGMENT_OPERATOR", "OR_SEGMENT_OPERATOR"])
        return found

    flags = []
    for n in range(rng.randint(1, 12)):
        flag: dict[str, Any] = {"key": f"f{n}", "name": f"F {n}", "enabled": rng.random() < 0.5}
        if rng.random() < 0.3:
            flag["type"] = "BOOLEAN_FLAG_TYPE"
            flag["rollouts"] = [
                {"threshold": {"percentage": rng.choice([0, 12.5, 50, 100]), "value": rng.random() < 0.5}}
                if rng.random() < 0.5 else {"segment": {**(lambda r: {"keys": [r]} if isinstance(r, str) else r)(
                    ref()), "value": rng.random() < 0.5}} for _ in range(rng.randint(0, 3))]
        else:
            if rng.random() < 0.5:
                flag["type"] = "VARIANT_FLAG_TYPE"
            variants = []
            for v in range(rng.randint(0, 3)):
                variant: dict[str, Any] = {"key": f"v{v}"}
                if rng.random() < 0.3:
                    variant["default"] = True
                if rng.random() < 0.3:
                    variant["attachment"] = rng.choice([{"b": 1, "a": "<&>"}, [1, 2.5], {"x": None}])
                variants.append(variant)
            flag["variants"] = variants
            rules = []
            for _ in range(rng.randint(0, 3)):
                rule: dict[str, Any] = {"segment": ref()}
                chosen = [v["key"] for v in variants if rng.random() < 0.7]
                if chosen:
                    share = rng.choice([0, 100 / len(chosen), 33.3, 10])
                    rule["distributions"] = [{"variant": key, "rollout": share} for key in chosen]
                rules.append(rule)
            flag["rules"] = rules
        flags.append(flag)
    return {"version": "1.6", "namespace": rng.choice(["default", {"key": "default", "name": "D"}]),
            "flags": flags, "segments": segments}


@pytest.mark.parametrize("seed", range(10))
def test_seeded_random_namespaces_give_the_same_snapshot(seed: int) -> None:
    rng = random.Random(seed)
    compared = 0
    for _ in range(30):
        text = orjson.dumps(_random_namespace(rng))  # through the loader: what it checks and hands on
        result = load_document(text, "default/features.json")
        if result.data is not None:
            compared += _same_for_every_namespace(result.data)
    assert compared >= 20  # most of them are valid: the comparison means something
