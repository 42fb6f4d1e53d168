"""The worked examples and boundary examples of flipt-compatibility §4.9 and §4.10, on documents built in the test."""

from __future__ import annotations

import pytest
from engine_docs import compiled, split, variants

from evaluator.engine import (
    FlagNotFound,
    Reason,
    WrongFlagType,
    evaluate,
    evaluate_boolean,
    evaluate_variant,
)
from evaluator.engine.buckets import boundaries, f32, threshold_value, variant_bucket

SEGMENT_ALL = {"key": "all"}  # no constraints: matches everyone


@pytest.mark.parametrize(
    ("rollouts", "expected"),
    [
        ((33.33, 33.33, 33.34), [333, 666, 1000]),
        ((25, 25, 25), [333, 666, 1000]),
        ((10, 20, 70), [100, 300, 1000]),
        ((20, 30), [400, 1000]),
        ((0.1, 0.2, 99.7), [1, 3, 1000]),
        ((50, 50), [500, 1000]),
        ((10,), [1000]),
    ],
)
def test_boundaries_are_float32_truncated_and_normalised(rollouts: tuple[float, ...], expected: list[int]) -> None:
    assert boundaries([f32(r) for r in rollouts]) == expected


@pytest.mark.parametrize(
    ("flag", "entity", "bucket"),
    [
        ("flag_001", "some-fixed-entity-id", 553),
        ("foo", "1", 244),
        ("foo", "2", 934),
        ("foo", "10", 54),
        ("foo", "01", 785),
        ("foo", "123", 253),
        ("flag_variant_and_segments", "some-fixed-entity-id", 531),
        ("flag_using_entity_id", "user@flipt.io", 939),
        ("checkout", "user-1", 118),
        ("checkout", "user-2", 356),
        ("checkout", "user-7", 811),
    ],
)
def test_variant_bucket_hashes_flag_key_then_entity(flag: str, entity: str, bucket: int) -> None:
    assert variant_bucket(flag, entity) == bucket


@pytest.mark.parametrize(
    ("flag", "entity", "value"),
    [("flag_boolean", "hello", 96), ("flag_boolean", "fixed", 9), ("test-flag", "test-entity", 65)],
)
def test_threshold_hashes_entity_then_flag_key(flag: str, entity: str, value: int) -> None:
    assert threshold_value(flag, entity) == value


def _foo(dists: list[dict]) -> object:
    keys = sorted({d["variant"] for d in dists})
    return compiled(
        [{"key": "foo", "enabled": True, "variants": variants(*keys), "rules": [{"segment": "all", "distributions": dists}]}],
        [SEGMENT_ALL],
    )


@pytest.mark.parametrize(
    ("dists", "entity", "variant"),
    [
        (split(("boz", 50), ("booz", 50)), "1", "boz"),  # 2
        (split(("boz", 50), ("booz", 50)), "2", "booz"),  # 3
        (split(("boz", 50), ("moz", 50)), "10", "boz"),  # 4
        (split(("boz", 50), ("moz", 50)), "01", "moz"),  # 5
        (split(("1", 0), ("2", 0), ("3", 50), ("4", 0), ("5", 0), ("6", 50)), "1", "3"),  # 6
        (split(("boz", 0), ("booz", 100)), "1", "booz"),  # 7
        (split(("boz", 10)), "123", "boz"),  # 8: v2 normalises a lone 10 % to everyone
    ],
)
def test_examples_2_to_8(dists: list[dict], entity: str, variant: str) -> None:
    result = evaluate_variant(_foo(dists), "foo", entity, {})
    assert (result.match, result.reason, result.variant_key, result.segment_keys) == (
        True, Reason.MATCH, variant, ["all"],
    )


@pytest.mark.parametrize(("entity", "variant"), [("user-1", "a"), ("user-2", "a"), ("user-7", "b")])
def test_examples_16_to_18_rollouts_below_100_are_normalised(entity: str, variant: str) -> None:
    ns = compiled(
        [{"key": "checkout", "enabled": True, "variants": variants("a", "b"),
          "rules": [{"segment": "all", "distributions": split(("a", 20), ("b", 30))}]}],
        [SEGMENT_ALL],
    )
    assert evaluate_variant(ns, "checkout", entity, {}).variant_key == variant


def in_segment(key: str) -> dict:
    return {"key": key, "constraints": [{"type": "STRING", "property": "in_segment", "operator": "eq", "value": key}]}


@pytest.fixture(scope="module")
def integration():
    """The parts of Flipt's integration namespace the worked examples use (same keys, rules and segments)."""
    segments = [in_segment(f"segment_00{i}") for i in range(1, 6)] + [
        {"key": "segment_no_constraints"},
        {"key": "segment_anding", "constraints": [
            {"type": "STRING", "property": "anding", "operator": "eq", "value": "segment"}]},
        {"key": "segment_entity_id", "constraints": [
            {"type": "ENTITY_ID", "property": "entity", "operator": "eq", "value": "user@flipt.io"}]},
    ]
    fifty = split(("variant_001", 50), ("variant_002", 50))
    flags = [
        {"key": "flag_001", "enabled": True, "variants": variants("variant_001", "variant_002"),
         "rules": [{"segment": f"segment_00{i}", "distributions": fifty} for i in range(1, 6)]},
        {"key": "flag_variant_and_segments", "enabled": True, "variants": variants("variant_001", "variant_002"),
         "rules": [{"segment": {"keys": ["segment_001", "segment_anding"], "operator": "AND_SEGMENT_OPERATOR"},
                    "distributions": fifty}]},
        {"key": "flag_using_entity_id", "enabled": True, "variants": variants("variant_001"),
         "rules": [{"segment": "segment_entity_id", "distributions": split(("variant_001", 100))}]},
        {"key": "flag_disabled", "enabled": False},
        {"key": "flag_no_distributions", "enabled": True, "variants": variants("variant_001"),
         "rules": [{"segment": "segment_001"}]},
        {"key": "flag_boolean", "enabled": False, "rollouts": [
            {"segment": {"key": "segment_001", "value": True}},
            {"segment": {"key": "segment_002"}},
            {"segment": {"key": "segment_003", "value": True}},
            {"segment": {"key": "segment_004"}},
            {"threshold": {"percentage": 50, "value": True}},
        ]},
        {"key": "flag_boolean_no_constraints", "enabled": False,
         "rollouts": [{"segment": {"key": "segment_no_constraints", "value": True}}]},
        {"key": "test-flag", "enabled": True, "rollouts": [{"threshold": {"percentage": 5, "value": False}}]},
    ]
    return compiled(flags, segments)


def test_example_1_rule_on_segment_005(integration) -> None:
    r = evaluate_variant(integration, "flag_001", "some-fixed-entity-id", {"in_segment": "segment_005"})
    assert (r.match, r.reason, r.variant_key, r.segment_keys, r.variant_attachment) == (
        True, Reason.MATCH, "variant_002", ["segment_005"], "null",
    )


def test_example_9_and_rule_reports_both_segments(integration) -> None:
    ctx = {"in_segment": "segment_001", "anding": "segment"}
    r = evaluate_variant(integration, "flag_variant_and_segments", "some-fixed-entity-id", ctx)
    assert (r.variant_key, sorted(r.segment_keys)) == ("variant_002", ["segment_001", "segment_anding"])
    r = evaluate_variant(integration, "flag_variant_and_segments", "some-fixed-entity-id", {"in_segment": "segment_001"})
    assert (r.match, r.reason, r.variant_key) == (False, Reason.UNKNOWN, "")


def test_example_10_entity_id_constraint(integration) -> None:
    r = evaluate_variant(integration, "flag_using_entity_id", "user@flipt.io", {})
    assert (r.variant_key, r.segment_keys) == ("variant_001", ["segment_entity_id"])
    assert evaluate_variant(integration, "flag_using_entity_id", "other@flipt.io", {}).match is False


@pytest.mark.parametrize(
    ("entity", "context", "enabled", "reason", "segments"),
    [
        ("hello", {}, False, Reason.DEFAULT, []),  # 11: 96 >= 50
        ("fixed", {}, True, Reason.MATCH, []),  # 12: 9 < 50
        ("fixed", {"in_segment": "segment_001"}, True, Reason.MATCH, ["segment_001"]),  # 13
        ("hello", {"in_segment": "segment_002"}, False, Reason.MATCH, ["segment_002"]),
    ],
)
def test_examples_11_to_13_boolean_rollouts(integration, entity, context, enabled, reason, segments) -> None:
    r = evaluate_boolean(integration, "flag_boolean", entity, context)
    assert (r.enabled, r.reason, r.segment_keys) == (enabled, reason, segments)


def test_examples_14_15_thresholds(integration) -> None:
    r = evaluate_boolean(integration, "test-flag", "test-entity", {})
    assert (r.enabled, r.reason) == (True, Reason.DEFAULT)  # 65 >= 5: the flag's own enabled
    ns = compiled([{"key": "test-flag", "enabled": True, "rollouts": [{"threshold": {"percentage": 70, "value": False}}]}])
    r = evaluate_boolean(ns, "test-flag", "test-entity", {})
    assert (r.enabled, r.reason) == (False, Reason.MATCH)  # 65 < 70


def test_example_19_no_match_without_default(integration) -> None:
    r = evaluate_variant(integration, "flag_001", "any", {"in_segment": "unknown"})
    assert (r.match, r.reason, r.variant_key, r.variant_attachment, r.segment_keys) == (
        False, Reason.UNKNOWN, "", "", [],
    )


def test_example_20_disabled_variant_flag(integration) -> None:
    r = evaluate_variant(integration, "flag_disabled", "any", {})
    assert (r.match, r.reason, r.variant_key) == (False, Reason.FLAG_DISABLED, "")


def test_example_21_matching_rule_without_distributions(integration) -> None:
    r = evaluate_variant(integration, "flag_no_distributions", "any", {"in_segment": "segment_001"})
    assert (r.match, r.reason, r.variant_key, r.segment_keys) == (True, Reason.MATCH, "", ["segment_001"])


def test_example_22_segment_without_constraints(integration) -> None:
    r = evaluate_boolean(integration, "flag_boolean_no_constraints", "", {})
    assert (r.enabled, r.reason, r.segment_keys) == (True, Reason.MATCH, ["segment_no_constraints"])


def test_errors(integration) -> None:
    with pytest.raises(FlagNotFound) as nf:
        evaluate(integration, "nope", "x", {})
    assert (nf.value.code, nf.value.message) == (5, 'flag "default/nope" not found')
    with pytest.raises(WrongFlagType) as wt:
        evaluate_variant(integration, "flag_boolean", "x", {})
    assert (wt.value.code, wt.value.message) == (3, "flag type BOOLEAN_FLAG_TYPE invalid")
    with pytest.raises(WrongFlagType) as wt:
        evaluate_boolean(integration, "flag_001", "x", {})
    assert wt.value.message == "flag type VARIANT_FLAG_TYPE invalid"


def test_bucket_666_of_25_25_25_goes_to_the_third_variant_as_on_the_go_server() -> None:
    """Go truncates 666.66 to 666 (the Rust engine rounds to 667 and would answer "b", flipt-compatibility §5)."""
    import zlib

    entity = next(f"e{i}" for i in range(100_000) if zlib.crc32(f"foo-e{i}".encode()) % 1000 == 666)
    ns = compiled(
        [{"key": "foo-", "enabled": True, "variants": variants("a", "b", "c"),
          "rules": [{"segment": "all", "distributions": split(("a", 25), ("b", 25), ("c", 25))}]}],
        [SEGMENT_ALL],
    )
    assert evaluate_variant(ns, "foo-", entity, {}).variant_key == "c"
