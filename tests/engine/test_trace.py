"""The explain trace: what it records and how it renders (the differential test checks it agrees everywhere)."""

from __future__ import annotations

from engine_docs import compiled, variants

from evaluator.engine import Trace, evaluate, evaluate_boolean, evaluate_variant


def ns():
    segments = [
        {"key": "adults", "constraints": [
            {"type": "NUMBER", "property": "age", "operator": "gt", "value": "30"},
            {"type": "BOOLEAN", "property": "beta", "operator": "true", "value": ""},
            {"type": "DATETIME", "property": "signup", "operator": "lt", "value": "2024-01-01"}]},
        {"key": "pro", "constraints": [{"type": "STRING", "property": "plan", "operator": "eq", "value": "pro"}]},
        {"key": "broken", "constraints": [{"type": "NUMBER", "property": "age", "operator": "lt", "value": "x"}]},
    ]
    flags = [
        {"key": "checkout", "enabled": True, "variants": variants("a", "b"),
         "rules": [{"segment": {"keys": ["adults", "broken"]}, "distributions": [{"variant": "a", "rollout": 100}]},
                   {"segment": "pro", "distributions": [{"variant": "a", "rollout": 20}, {"variant": "b", "rollout": 30}]}]},
        {"key": "off", "enabled": False, "variants": [{"key": "a", "default": True}]},
        {"key": "dark", "enabled": True, "rollouts": [
            {"segment": {"key": "pro", "value": False}}, {"threshold": {"percentage": 50, "value": True}}]},
    ]
    return compiled(flags, segments)


def test_variant_trace_records_constraints_buckets_and_dropped_segments() -> None:
    trace = Trace()
    context = {"age": "forty", "plan": "pro"}
    result = evaluate_variant(ns(), "checkout", "user-7", context, trace=trace)
    assert result.variant_key == "b"  # bucket 811 (flipt-compatibility §4.9 example 18)
    first, second = trace.steps
    assert (first.kind, first.rank, first.operator, first.matched, first.dropped) == ("rule", 1, "OR", False, ("broken",))
    [adults] = first.segments
    [age] = adults.constraints  # ALL stops at the first failure
    assert (age.type, age.property, age.operator, age.value, age.actual, age.matched, age.failure) == (
        "NUMBER", "age", "gt", "30", "forty", False, "not a number")
    assert second.matched and second.bucket is not None
    assert (second.bucket.bucket, second.bucket.ranges, second.bucket.chosen) == (811, [("a", 0, 400), ("b", 400, 1000)], "b")
    lines = trace.render()
    assert lines[0] == 'flag checkout (VARIANT_FLAG_TYPE, enabled), entity "user-7"'
    assert "  segment broken: dropped (malformed constraint), never matches" in lines
    assert '    NUMBER age gt "30": context "forty" -> no match (not a number)' in lines
    assert "    (2 more constraints not checked)" in lines
    assert '  bucket: crc32("checkout" + "user-7") = 2096998811 -> 811 of 1000' in lines
    assert "    b: [400, 1000)  <- bucket 811" in lines
    assert lines[-1] == "result: variant b, MATCH_EVALUATION_REASON, segments pro"


def test_failure_reasons_per_type() -> None:
    trace = Trace()
    evaluate(ns(), "checkout", "u", {"age": "31", "beta": "yes", "plan": "free"}, trace=trace)
    [beta] = trace.steps[0].segments[0].constraints[1:]
    assert (beta.matched, beta.failure) == (False, "not a boolean")
    evaluate(ns(), "checkout", "u", {"age": "31", "beta": "true", "signup": "later"}, trace=trace)
    signup = trace.steps[0].segments[0].constraints[2]
    assert (signup.actual, signup.failure) == ("later", "not a date")
    pro = trace.steps[1].segments[0].constraints[0]
    assert (pro.actual, pro.failure, pro.render()) == (None, "value missing", 'STRING plan eq "pro": value missing -> no match')
    assert trace.render()[-1] == "result: no variant, UNKNOWN_EVALUATION_REASON"


def test_disabled_and_boolean_traces() -> None:
    trace = Trace()
    evaluate_variant(ns(), "off", "u", {}, trace=trace)
    assert trace.render() == [
        'flag off (VARIANT_FLAG_TYPE, disabled), entity "u"',
        "flag disabled: rules are not evaluated",
        "result: variant a, FLAG_DISABLED_EVALUATION_REASON",
    ]
    result = evaluate_boolean(ns(), "dark", "user-1", {"plan": "free"}, trace=trace)
    segment_step, threshold_step = trace.steps
    assert (segment_step.kind, segment_step.matched) == ("segment rollout", False)
    assert threshold_step.threshold is not None and threshold_step.matched
    assert result.enabled is True
    lines = trace.render()
    assert "threshold rollout 2: match; value true" in lines
    assert any(line.strip().startswith('threshold: crc32("user-1" + "dark")') and line.endswith("< 50") for line in lines)
    assert lines[-1] == "result: enabled true, MATCH_EVALUATION_REASON"


def test_a_trace_object_is_reset_between_evaluations() -> None:
    trace = Trace()
    evaluate(ns(), "checkout", "u", {"plan": "pro"}, trace=trace)
    evaluate(ns(), "dark", "u", {"plan": "pro"}, trace=trace)
    assert trace.flag_key == "dark" and [s.kind for s in trace.steps] == ["segment rollout"]
    assert trace.segment_keys == ["pro"]
