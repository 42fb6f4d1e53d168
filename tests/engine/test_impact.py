"""Impact preview: shares known exactly by construction, populations that exercise every constraint, sample files."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from engine_docs import compiled, make_doc, variants

from evaluator.engine import compile_namespace, evaluate_variant
from evaluator.engine.impact import Entity, build_population, impact, load_population

PLAN_PRO = {"key": "pro", "constraints": [{"type": "STRING", "property": "plan", "operator": "eq", "value": "pro"}]}


def checkout(dists: list[tuple[str, float]], segment: str = "all", enabled: bool = True):
    return compiled(
        [{"key": "checkout", "enabled": enabled, "variants": variants("blue", "green"),
          "rules": [{"segment": segment, "distributions": [{"variant": v, "rollout": r} for v, r in dists]}]}],
        [{"key": "all"}, PLAN_PRO],
    )


POPULATION = [Entity(f"u-{i}", {"plan": "pro" if i % 4 == 0 else "free"}) for i in range(10_000)]


def test_split_change_moves_exactly_the_upper_buckets() -> None:
    before = checkout([("blue", 100)])
    after = checkout([("blue", 50), ("green", 50)])
    expected = sum(zlib.crc32(f"checkoutu-{i}".encode()) % 1000 >= 500 for i in range(10_000))
    report = impact(before, after, "checkout", POPULATION)
    assert (report.total, report.changed) == (10_000, expected)
    assert [(s.before, s.after, s.count) for s in report.shifts] == [("blue", "green", expected)]
    assert report.lines() == [f"{expected / 100:.1f}% of entities: blue -> green"]


def test_targeting_change_and_disabling() -> None:
    before = checkout([("blue", 100)])
    after = checkout([("blue", 100)], segment="pro")
    report = impact(before, after, "checkout", POPULATION)
    assert [(s.before, s.after, s.share) for s in report.shifts] == [("blue", "no variant", 0.75)]
    assert str(report.shifts[0]) == "75.0% of entities: blue -> no variant"
    off = impact(before, checkout([("blue", 100)], enabled=False), "checkout", POPULATION)
    assert [(s.before, s.after, s.count) for s in off.shifts] == [("blue", "disabled", 10_000)]
    assert impact(before, before, "checkout", POPULATION).lines() == ["no change for 10000 entities"]


def test_created_and_deleted_flags() -> None:
    ns = checkout([("blue", 100)])
    empty = compile_namespace(make_doc([]))
    assert impact(empty, ns, "checkout", POPULATION[:10]).shifts[0].before == "absent"
    assert impact(ns, None, "checkout", POPULATION[:10]).shifts[0].after == "absent"


def test_boolean_flag_impact() -> None:
    def ns(pct: float):
        return compiled([{"key": "dark", "enabled": False, "rollouts": [{"threshold": {"percentage": pct, "value": True}}]}])

    expected = sum(zlib.crc32(f"u-{i}dark".encode()) % 100 in range(10, 30) for i in range(10_000))
    report = impact(ns(10), ns(30), "dark", POPULATION)
    assert [(s.before, s.after, s.count) for s in report.shifts] == [("false", "true", expected)]


CONSTRAINTS = [
    ("STRING", "plan", "eq", "pro"), ("STRING", "plan", "prefix", "ent"), ("STRING", "email", "suffix", "@x.io"),
    ("STRING", "plan", "isoneof", '["a","b"]'), ("STRING", "tag", "notempty", ""),
    ("NUMBER", "age", "gt", "30"), ("NUMBER", "age", "lte", "18"), ("NUMBER", "seats", "isoneof", "[1,5]"),
    ("NUMBER", "seats", "present", ""), ("BOOLEAN", "beta", "true", ""), ("BOOLEAN", "beta", "false", ""),
    ("DATETIME", "signup", "lt", "2024-01-01"), ("DATETIME", "signup", "gte", "2024-06-01T12:00:00Z"),
    ("ENTITY_ID", "id", "eq", "vip-1"), ("ENTITY_ID", "id", "prefix", "staff-"),
]


def test_population_exercises_every_constraint_both_ways() -> None:
    segments = [
        {"key": f"s{i}", "constraints": [{"type": t, "property": p, "operator": o, "value": v}]}
        for i, (t, p, o, v) in enumerate(CONSTRAINTS)
    ]
    flags = [
        {"key": f"f{i}", "enabled": True, "variants": variants("on"),
         "rules": [{"segment": f"s{i}", "distributions": [{"variant": "on", "rollout": 100}]}]}
        for i in range(len(CONSTRAINTS))
    ]
    doc = make_doc(flags, segments)
    ns = compile_namespace(doc)
    population = build_population(doc, n=2000, seed=3)
    assert len(population) == 2000 and population == build_population(doc, n=2000, seed=3)
    for i, constraint in enumerate(CONSTRAINTS):
        outcomes = {evaluate_variant(ns, f"f{i}", e.entity_id, e.context).match for e in population}
        assert outcomes == {True, False}, constraint


def test_load_population(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text('{"entityId": "u1", "context": {"plan": "pro", "age": 42, "beta": true, "x": null}}\n\n'
                      '{"entityId": "u2"}\n')
    assert load_population(sample) == [
        Entity("u1", {"plan": "pro", "age": "42", "beta": "true"}), Entity("u2", {}),
    ]
    sample.write_text('{"entityId": "u1"}\n{"entityId": 3}\n')
    with pytest.raises(ValueError, match=r"sample.jsonl:2: expected"):
        load_population(sample)
    sample.write_text("{oops\n")
    with pytest.raises(ValueError, match=r"sample.jsonl:1: not JSON"):
        load_population(sample)
