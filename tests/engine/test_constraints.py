"""Constraint matching per type and operator (flipt-compatibility §4.5), through whole evaluations, and malformed values."""

from __future__ import annotations

import pytest
from engine_docs import compiled, variants

from evaluator.engine import Reason, evaluate_variant
from evaluator.engine.goparse import go_parse_float, go_trim, parse_instant

MISSING = None  # the property is absent from the context


def matches(ctype: str, op: str, value: str, actual: str | None, entity: str = "e-1") -> bool:
    constraint = {"type": ctype, "property": "p", "operator": op, "value": value}
    ns = compiled(
        [{"key": "f", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": "s", "distributions": [{"variant": "on", "rollout": 100}]}]}],
        [{"key": "s", "constraints": [constraint]}],
    )
    assert not ns.warnings, ns.warnings
    context = {} if actual is None else {"p": actual}
    result = evaluate_variant(ns, "f", entity, context)
    assert result.reason in (Reason.MATCH, Reason.UNKNOWN)
    return result.match


STRING_CASES = [
    ("eq", "pro", "pro", True), ("eq", "pro", "Pro", False), ("eq", "pro", " pro", False), ("eq", "pro", MISSING, False),
    ("neq", "pro", "free", True), ("neq", "pro", "pro", False), ("neq", "pro", "", False), ("neq", "pro", MISSING, False),
    ("empty", "", "", True), ("empty", "", "  \t", True), ("empty", "", MISSING, True), ("empty", "", "x", False),
    ("empty", "", "\x1c", False),  # Go's TrimSpace keeps U+001C (Python's strip() would not)
    ("notempty", "", "x", True), ("notempty", "", " ", False), ("notempty", "", MISSING, False),
    ("prefix", "ab", "abc", True), ("prefix", "ab", "  abc", True), ("prefix", "ab", "xab", False),
    ("prefix", "ab", MISSING, False),
    ("suffix", "bc", "abc  ", True), ("suffix", "bc", "bca", False),
    ("contains", "b", "abc", True), ("contains", "z", "abc", False), ("contains", " ", " a", True),
    ("notcontains", "z", "abc", True), ("notcontains", "b", "abc", False), ("notcontains", "z", "", False),
    ("isoneof", '["a","b"]', "a", True), ("isoneof", '["a","b"]', "c", False), ("isoneof", '["a",""]', "", False),
    ("isnotoneof", '["a","b"]', "c", True), ("isnotoneof", '["a","b"]', "a", False),
    ("isnotoneof", '["a"]', MISSING, False),
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), STRING_CASES)
def test_string(op: str, value: str, actual: str | None, expected: bool) -> None:
    assert matches("STRING", op, value, actual) is expected


@pytest.mark.parametrize(
    ("op", "value", "entity", "expected"),
    [
        ("eq", "user@flipt.io", "user@flipt.io", True), ("neq", "a", "b", True), ("prefix", "user", "user-1", True),
        ("suffix", "-1", "user-1", True), ("contains", "er-", "user-1", True), ("notcontains", "x", "user-1", True),
        ("isoneof", '["u1","u2"]', "u2", True), ("isnotoneof", '["u1"]', "u1", False),
        ("empty", "", "", True), ("notempty", "", "", False), ("neq", "a", "", False),
    ],
)
def test_entity_id_looks_at_the_entity_not_the_context(op: str, value: str, entity: str, expected: bool) -> None:
    assert matches("ENTITY_ID", op, value, "ignored", entity=entity) is expected


NUMBER_CASES = [
    ("eq", "3", "3", True), ("eq", "3", "3.0", True), ("eq", "3", "3e0", True), ("eq", "1000", "1_000", True),
    ("eq", "0.25", "0x1p-2", True), ("eq", "3", " 3", False), ("eq", "3", "3 ", False), ("eq", "3", "three", False),
    ("eq", "3", "0x3", False),  # a hex float needs its p exponent
    ("eq", "3", "1__2", False), ("eq", "3", "_3", False), ("eq", "3", "1e400", False),  # overflow is an error
    ("neq", "3", "4", True), ("neq", "3", "3", False), ("neq", "3", "x", False), ("neq", "3", "", False),
    ("neq", "3", "NaN", True),
    ("lt", "10", "9.99", True), ("lt", "10", "10", False), ("lt", "10", "-Inf", True), ("lt", "10", "-infinity", True),
    ("lte", "10", "10", True), ("gt", "10", "+Inf", True), ("gt", "10", "-nan", False), ("gte", "10", "10", True),
    ("gt", "10", MISSING, False), ("gt", "10", "", False),
    ("present", "", "1", True), ("present", "", " ", False), ("present", "", MISSING, False),
    ("notpresent", "", MISSING, True), ("notpresent", "", "x", False),
    ("isoneof", "[3,3.14159,4]", "3.14159", True), ("isoneof", "[3]", "3.0", True), ("isoneof", "[3]", "abc", False),
    ("isnotoneof", "[5,3.14159,4]", "3", True), ("isnotoneof", "[3]", "3", False), ("isnotoneof", "[3]", "x", False),
    ("eq", "", "3", False),  # an empty constraint value is not prepared: no match, segment kept
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), NUMBER_CASES)
def test_number(op: str, value: str, actual: str | None, expected: bool) -> None:
    assert matches("NUMBER", op, value, actual) is expected


BOOLEAN_CASES = [
    ("true", "", "true", True), ("true", "", "TRUE", True), ("true", "", "t", True), ("true", "", "1", True),
    ("true", "", "false", False), ("true", "", "yes", False), ("true", "", "foo", False), ("true", "", " true", False),
    ("true", "", MISSING, False),
    ("false", "", "F", True), ("false", "", "0", True), ("false", "", "True", False), ("false", "", "foo", False),
    ("false", "", "", False),
    ("present", "", "x", True), ("present", "", MISSING, False), ("notpresent", "", "", True),
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), BOOLEAN_CASES)
def test_boolean(op: str, value: str, actual: str | None, expected: bool) -> None:
    assert matches("BOOLEAN", op, value, actual) is expected


DATETIME_CASES = [
    ("eq", "2006-01-02", "2006-01-02T00:00:00Z", True),
    ("eq", "2006-01-02T00:00:00Z", "2006-01-02", True),
    ("eq", "2006-01-02T02:00:00+02:00", "2006-01-02T00:00:00Z", True),
    ("eq", "2006-01-02T00:00:00Z", "2006-01-02T00:00:00.000000001Z", False),
    ("lt", "2006-01-02T00:00:00Z", "2006-01-01T23:59:59.999Z", True),
    ("lt", "2006-01-02", "2006-01-02", False), ("lte", "2006-01-02", "2006-01-02", True),
    ("gt", "2006-01-02", "2006-01-02T00:00:01Z", True), ("gte", "2006-01-02", "2006-01-01", False),
    ("neq", "2006-01-02", "2007-01-02", True), ("neq", "2006-01-02", "not a date", False),
    ("eq", "2006-01-02", "2006-01-02 00:00:00", False),  # the T is required
    ("eq", "2006-01-02", "2006-1-2", False), ("eq", "2006-02-28", "2006-02-29", False),
    ("eq", "2006-01-02", MISSING, False),
    ("present", "", "2006-01-02", True), ("present", "", MISSING, False), ("notpresent", "", " ", True),
]


@pytest.mark.parametrize(("op", "value", "actual", "expected"), DATETIME_CASES)
def test_datetime(op: str, value: str, actual: str | None, expected: bool) -> None:
    assert matches("DATETIME", op, value, actual) is expected


def test_go_parsers() -> None:
    assert go_trim("\u2003 x\u00a0\n") == "x"
    assert go_trim("\x1fx") == "\x1fx"
    assert go_parse_float("0x1.8p1") == 3.0
    assert go_parse_float("-0X_1P+2") == -4.0
    assert go_parse_float("1_0.5_0") == 10.5
    assert go_parse_float(".5e1") == 5.0
    assert go_parse_float("1.") == 1.0
    assert go_parse_float("1_") is None
    assert go_parse_float("+nan") is None
    assert go_parse_float("0x1p2000") is None
    assert parse_instant("1970-01-01T00:00:01,5Z") == 1_500_000_000
    assert parse_instant("2000-02-29") is not None
    assert parse_instant("1900-02-29") is None
    assert parse_instant("2006-01-02T24:00:00Z") is None


MALFORMED = [
    ("NUMBER", "gt", "abc", "not a number"),
    ("NUMBER", "isoneof", '["1"]', "not a JSON array of numbers"),
    ("NUMBER", "isoneof", "[1e400]", "out of range"),
    ("NUMBER", "isoneof", "[NaN]", "not a JSON array of numbers"),
    ("STRING", "isoneof", "[1,2]", "not a JSON array of strings"),
    ("STRING", "isnotoneof", "a,b", "not a JSON array of strings"),
    ("DATETIME", "lt", "yesterday", "not an RFC 3339"),
]


@pytest.mark.parametrize(("ctype", "op", "value", "why"), MALFORMED)
def test_malformed_constraint_drops_its_segment_with_a_warning(ctype: str, op: str, value: str, why: str) -> None:
    bad = {"key": "bad", "constraints": [
        {"type": "STRING", "property": "x", "operator": "eq", "value": "1"},
        {"type": ctype, "property": "p", "operator": op, "value": value},
    ]}
    dist = [{"variant": "on", "rollout": 100}]
    ns = compiled(
        [{"key": "or-flag", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": {"keys": ["bad", "good"]}, "distributions": dist}]},
         {"key": "and-flag", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": {"keys": ["bad", "good"], "operator": "AND_SEGMENT_OPERATOR"}, "distributions": dist}]},
         {"key": "only-bad", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": {"keys": ["bad", "bad"], "operator": "AND_SEGMENT_OPERATOR"}, "distributions": dist}]},
         {"key": "or-only-bad", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": "bad", "distributions": dist}]}],
        [{"key": "good", "constraints": [{"type": "STRING", "property": "g", "operator": "eq", "value": "1"}]}, bad],
    )
    assert len(ns.warnings) == 4
    w = ns.warnings[0]
    assert (w.severity, w.file, w.path) == ("warning", "default/features.yaml", "flags[0].rules[0]")
    assert 'segment "bad"' in w.message and 'flag "or-flag"' in w.message
    assert "segments[1].constraints[1]" in w.message and why in w.message
    everything = {"x": "1", "p": value, "g": "1"}
    # OR: only "good" can match; AND: only "good" is required; AND with every segment dropped matches everyone.
    assert evaluate_variant(ns, "or-flag", "e", {"x": "1", "p": value}).match is False
    assert evaluate_variant(ns, "or-flag", "e", everything).segment_keys == ["good"]
    assert evaluate_variant(ns, "and-flag", "e", {"g": "1"}).segment_keys == ["good"]
    assert evaluate_variant(ns, "only-bad", "e", {}).match is True
    assert evaluate_variant(ns, "only-bad", "e", {}).segment_keys == []
    assert evaluate_variant(ns, "or-only-bad", "e", everything).match is False


def test_duplicate_segment_keys_in_a_rule_count_once() -> None:
    ns = compiled(
        [{"key": "f", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": {"keys": ["s", "s"], "operator": "AND_SEGMENT_OPERATOR"},
                     "distributions": [{"variant": "on", "rollout": 100}]}]}],
        [{"key": "s", "constraints": [{"type": "STRING", "property": "p", "operator": "eq", "value": "1"}]}],
    )
    assert evaluate_variant(ns, "f", "e", {"p": "1"}).segment_keys == ["s"]


def test_any_match_type_and_null_context_values() -> None:
    ns = compiled(
        [{"key": "f", "enabled": True, "variants": variants("on"),
          "rules": [{"segment": "s", "distributions": [{"variant": "on", "rollout": 100}]}]}],
        [{"key": "s", "match_type": "ANY_MATCH_TYPE", "constraints": [
            {"type": "STRING", "property": "a", "operator": "eq", "value": "1"},
            {"type": "NUMBER", "property": "b", "operator": "gt", "value": "5"}]}],
    )
    assert evaluate_variant(ns, "f", "e", {"b": "6"}).match is True
    assert evaluate_variant(ns, "f", "e", {"a": "2", "b": "x"}).match is False
    assert evaluate_variant(ns, "f", "e", {"a": None, "b": "7"}).match is True  # None counts as absent
