"""Differential test: our engine against Flipt's own Rust engine (PyPI `flipt-client`), which evaluates our client
snapshot documents fetched from a real HTTP server on 127.0.0.1. At least 10,000 evaluations must agree.

Known differences of the Rust engine from the Go server (flipt-compatibility §5) that the generator leaves in are detected
per case and counted: boundary rounding (Rust rounds `cum * 10`, Go truncates) is skipped; a disabled boolean flag
with no rollouts must come back from Rust as FLAG_DISABLED (Go: DEFAULT), both with `enabled` false. (Observed:
with rollouts that do not match, Rust answers DEFAULT like Go, narrower than flipt-compatibility §5 says.) The explain
trace of every case must agree with the untraced answer.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import Counter

import orjson
from flipt_client.models import EvaluationRequest
from flipt_peer import flipt_client, snapshot_server
from random_namespaces import random_inputs, random_namespace

from evaluator.client_snapshot import build_client_snapshot
from evaluator.engine import BooleanResult, Reason, Trace, VariantResult, compile_namespace, evaluate
from evaluator.engine.buckets import f32
from evaluator.engine.model import CompiledFlag
from gitstore.model.documents import OPERATORS

SEEDS = (11, 23, 37, 41, 53)
ENTITIES = 60
FLAGS = 50


def rust_bounds(rollouts: list[float]) -> list[int]:
    """The Rust engine's boundaries: like Go's but `round(cum * 10)` (half away from zero) instead of truncation."""
    total = 0.0
    for r in rollouts:
        total = f32(total + r)
    bounds, cum = [], 0.0
    for r in rollouts:
        cum = f32(cum + f32(f32(r / total) * 100.0))
        x = f32(cum * 10.0)
        bounds.append(int(x + 0.5) if x >= 0 else -int(-x + 0.5))
    bounds[-1] = 1000
    return bounds


def rounding_deviates(flag: CompiledFlag, trace: Trace) -> bool:
    """True when the matched rule's bucket lands on a different distribution under Rust's rounding."""
    step = next((s for s in trace.steps if s.matched), None)
    if step is None or step.bucket is None:
        return False
    rule = flag.rules[step.rank - 1]
    ours = bisect_left(rule.bounds, step.bucket.bucket + 1)
    theirs = bisect_left(rust_bounds([d.rollout for d in rule.kept]), step.bucket.bucket + 1)
    return rule.kept[ours].variant_key != rule.kept[theirs].variant_key


def attachment(text: str | None) -> object:
    return None if text in (None, "", "null") else json.loads(text)


def check_trace(result: VariantResult | BooleanResult, trace: Trace) -> None:
    assert trace.reason == result.reason.value
    assert trace.segment_keys == result.segment_keys
    matched = [s for s in trace.steps if s.matched]
    if result.reason is Reason.MATCH:
        assert len(matched) == 1 and matched[0] is trace.steps[-1]
        keys = [seg.key for seg in matched[0].segments if seg.matched]
        assert keys == result.segment_keys
        if matched[0].bucket is not None:
            assert matched[0].bucket.chosen == result.variant_key
    else:
        assert not matched
    assert trace.render()[-1].startswith("result: ")


def compare_seed(seed: int, counts: Counter[str], checked: Counter[tuple[str, str, bool]]) -> None:
    doc = random_namespace(seed, n_flags=FLAGS)
    ns = compile_namespace(doc, f"{doc.namespace.key}/features.yaml")
    body = orjson.dumps(build_client_snapshot(ns, "d" * 40))
    inputs = random_inputs(seed, ENTITIES)
    cases = [(key, entity, ctx) for entity, ctx in inputs for key in ns.flags]
    with snapshot_server() as server:
        server.bodies[ns.key] = ("d" * 40, body)
        with flipt_client(server, ns.key) as client:
            batch = client.evaluate_batch(
                [EvaluationRequest(flag_key=k, entity_id=e, context=c) for k, e, c in cases]
            ).responses
    assert len(batch) == len(cases)
    for (key, entity, ctx), theirs in zip(cases, batch, strict=True):
        trace = Trace()
        ours = evaluate(ns, key, entity, ctx)
        assert evaluate(ns, key, entity, ctx, trace=trace) == ours
        check_trace(ours, trace)
        checked.update(
            (c.type, c.operator, c.matched) for step in trace.steps for seg in step.segments for c in seg.constraints
        )
        where = f"seed {seed} flag {key} entity {entity!r} context {ctx}"
        if isinstance(ours, BooleanResult):
            got = theirs.boolean_evaluation_response
            assert got is not None, where
            if not ns.flags[key].enabled and not ns.flags[key].rollouts:
                assert (ours.enabled, ours.reason) == (False, Reason.DEFAULT), where
                assert (got.enabled, got.reason) == (False, Reason.FLAG_DISABLED.value), where
                counts["disabled boolean without rollouts: FLAG_DISABLED from Rust"] += 1
                continue
            assert (got.enabled, got.reason, sorted(got.segment_keys)) == (
                ours.enabled, ours.reason.value, sorted(ours.segment_keys)), where
        else:
            got = theirs.variant_evaluation_response
            assert got is not None, where
            if rounding_deviates(ns.flags[key], trace):
                counts["skipped: boundary rounding"] += 1
                continue
            assert (got.match, got.reason, got.variant_key, sorted(got.segment_keys)) == (
                ours.match, ours.reason.value, ours.variant_key, sorted(ours.segment_keys)), where
            if ours.match or ours.variant_key:
                assert attachment(got.variant_attachment) == attachment(ours.variant_attachment), where
        counts["agreed"] += 1
        counts[f"agreed {ours.reason.value}"] += 1


def test_engine_agrees_with_flipts_rust_engine() -> None:
    counts: Counter[str] = Counter()
    checked: Counter[tuple[str, str, bool]] = Counter()
    for seed in SEEDS:
        compare_seed(seed, counts, checked)
    print(dict(counts))
    assert counts["agreed"] >= 10_000
    for reason in Reason:
        assert counts[f"agreed {reason.value}"] >= 300, counts
    assert counts["skipped: boundary rounding"] < counts["agreed"] * 0.01
    for ctype, ops in OPERATORS.items():  # every operator of every type was checked; each type both ways
        missing = [op for op in ops if not (checked[(ctype.name, op, False)] or checked[(ctype.name, op, True)])]
        assert not missing, (ctype.name, missing)
        for outcome in (True, False):
            assert sum(checked[(ctype.name, op, outcome)] for op in ops) >= 50, (ctype.name, outcome, checked)
