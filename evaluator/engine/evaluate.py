"""Variant and boolean evaluation with Flipt v2 Go server semantics (flipt-compatibility §4.2-§4.5).

Every function takes an optional `trace`; when given, the same code path records why it answered as it did.
The untraced path only pays for `trace is not None` checks.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Mapping
from typing import TypeVar

from evaluator.engine.buckets import BUCKETS, PERCENT, to_bytes
from evaluator.engine.constraints import CompiledConstraint
from evaluator.engine.errors import FlagNotFound, WrongFlagType
from evaluator.engine.model import CompiledFlag, CompiledNamespace, CompiledSegment
from evaluator.engine.results import BooleanResult, Reason, VariantResult
from evaluator.engine.trace import (
    MISSING,
    BucketCheck,
    ConstraintCheck,
    SegmentCheck,
    Step,
    ThresholdCheck,
    Trace,
)
from gitstore.model.documents import ComparisonType

_MATCH = Reason.MATCH
_EMPTY = "no constraint value"


def _segment_matches(
    seg: CompiledSegment, entity_id: str, context: Mapping[str, str], check: SegmentCheck | None
) -> bool:
    """ALL: every constraint matches (stop at the first that does not); ANY: one does, or there are none."""
    match_all = seg.match_all
    for c in seg.constraints:
        v: str | None
        if c.entity:
            v = entity_id
        else:
            v = context.get(c.property)
            if v is None:
                v = ""
        r = c.match(v)
        if check is not None:
            check.constraints.append(_constraint_check(c, entity_id, context, r))
        if match_all:
            if not r:
                return False
        elif r:
            return True
    return match_all or not seg.constraints


def _constraint_check(
    c: CompiledConstraint, entity_id: str, context: Mapping[str, str], r: bool | None
) -> ConstraintCheck:
    actual = entity_id if c.entity else context.get(c.property)
    failure = ""
    if actual is None:
        failure = MISSING
    elif r is None:
        failure = c.failure if c.value or c.type is ComparisonType.BOOLEAN else _EMPTY
    return ConstraintCheck(
        type=c.type.name,
        property="entity id" if c.entity else c.property,
        operator=c.operator,
        value=c.value,
        actual=actual,
        matched=bool(r),
        failure=failure,
    )


def _matched_keys(
    segments: tuple[CompiledSegment, ...],
    is_and: bool,
    entity_id: str,
    context: Mapping[str, str],
    step: Step | None,
) -> list[str] | None:
    """The keys of the matching segments when the rule or rollout matches, else None. All segments are evaluated
    (Flipt reports every matching key); AND needs all of them, OR at least one. AND with no segments matches."""
    keys = []
    for seg in segments:
        check = None
        if step is not None:
            check = SegmentCheck(seg.key, "ALL" if seg.match_all else "ANY", len(seg.constraints))
            step.segments.append(check)
        if _segment_matches(seg, entity_id, context, check):
            keys.append(seg.key)
            if check is not None:
                check.matched = True
    if (len(keys) == len(segments)) if is_and else keys:
        return keys
    return None


def _variant(flag: CompiledFlag, entity_id: str, context: Mapping[str, str], trace: Trace | None) -> VariantResult:
    if trace is not None:
        trace.start(flag.key, flag.type.value, entity_id, flag.enabled)
    if not flag.enabled:
        result = VariantResult(
            flag.key, False, Reason.FLAG_DISABLED, flag.default_key, flag.default_attachment, []
        )
        if trace is not None:
            trace.note = "flag disabled: rules are not evaluated"
        return _finish(result, trace)
    for rule in flag.rules:
        step = None
        if trace is not None:
            step = Step("rule", rule.rank, rule.operator.name.split("_")[0], dropped=rule.dropped)
            trace.steps.append(step)
        keys = _matched_keys(rule.segments, rule.is_and, entity_id, context, step)
        if keys is None:
            continue
        kept = rule.kept
        if not kept:
            if step is not None:
                step.matched = True
                step.note = "no distributions with a rollout above 0"
            return _finish(VariantResult(flag.key, True, _MATCH, flag.default_key, flag.default_attachment, keys), trace)
        try:
            raw = entity_id.encode()
        except UnicodeEncodeError:
            raw = to_bytes(entity_id)
        h = zlib.crc32(raw, flag.seed)
        bucket = h % BUCKETS
        bounds = rule.bounds
        d = kept[bisect_left(bounds, bucket + 1)]
        if step is not None:
            step.matched = True
            starts = (0,) + bounds[:-1]
            ranges = [(k.variant_key, s, e) for k, s, e in zip(kept, starts, bounds, strict=True)]
            step.bucket = BucketCheck(flag.key, entity_id, h, bucket, ranges, d.variant_key)
        return _finish(VariantResult(flag.key, True, _MATCH, d.variant_key, d.attachment, keys), trace)
    reason = Reason.DEFAULT if flag.default_key else Reason.UNKNOWN
    return _finish(VariantResult(flag.key, False, reason, flag.default_key, flag.default_attachment, []), trace)


def _boolean(flag: CompiledFlag, entity_id: str, context: Mapping[str, str], trace: Trace | None) -> BooleanResult:
    if trace is not None:
        trace.start(flag.key, flag.type.value, entity_id, flag.enabled)
    for rollout in flag.rollouts:
        step = None
        threshold = rollout.threshold
        if threshold is not None:
            try:
                raw = entity_id.encode()
            except UnicodeEncodeError:
                raw = to_bytes(entity_id)
            h = zlib.crc32(flag.key_bytes, zlib.crc32(raw))
            value = h % PERCENT
            hit = value < threshold
            if trace is not None:
                step = Step("threshold rollout", rollout.rank, matched=hit, note=f"value {str(rollout.value).lower()}")
                step.threshold = ThresholdCheck(entity_id, flag.key, h, value, threshold, hit)
                trace.steps.append(step)
            if hit:
                return _finish(BooleanResult(flag.key, rollout.value, _MATCH, []), trace)
            continue
        if trace is not None:
            step = Step(
                "segment rollout",
                rollout.rank,
                rollout.operator.name.split("_")[0],
                dropped=rollout.dropped,
                note=f"value {str(rollout.value).lower()}",
            )
            trace.steps.append(step)
        keys = _matched_keys(rollout.segments, rollout.is_and, entity_id, context, step)
        if keys is not None:
            if step is not None:
                step.matched = True
            return _finish(BooleanResult(flag.key, rollout.value, _MATCH, keys), trace)
    return _finish(BooleanResult(flag.key, flag.enabled, Reason.DEFAULT, []), trace)


R = TypeVar("R", VariantResult, BooleanResult)


def _finish(result: R, trace: Trace | None) -> R:
    if trace is not None:
        trace.reason = result.reason.value
        trace.segment_keys = list(result.segment_keys)
        if isinstance(result, BooleanResult):
            trace.outcome = f"enabled {str(result.enabled).lower()}"
        else:
            trace.outcome = f"variant {result.variant_key}" if result.variant_key else "no variant"
    return result


def _lookup(ns: CompiledNamespace, flag_key: str) -> CompiledFlag:
    flag = ns.flags.get(flag_key)
    if flag is None:
        raise FlagNotFound(ns.key, flag_key)
    return flag


def evaluate_variant(
    ns: CompiledNamespace, flag_key: str, entity_id: str, context: Mapping[str, str], trace: Trace | None = None
) -> VariantResult:
    """`/evaluate/v1/variant`. Raises FlagNotFound, or WrongFlagType for a boolean flag."""
    flag = _lookup(ns, flag_key)
    if flag.is_boolean:
        raise WrongFlagType(flag.type.value)
    return _variant(flag, entity_id, context, trace)


def evaluate_boolean(
    ns: CompiledNamespace, flag_key: str, entity_id: str, context: Mapping[str, str], trace: Trace | None = None
) -> BooleanResult:
    """`/evaluate/v1/boolean`. Raises FlagNotFound, or WrongFlagType for a variant flag."""
    flag = _lookup(ns, flag_key)
    if not flag.is_boolean:
        raise WrongFlagType(flag.type.value)
    return _boolean(flag, entity_id, context, trace)


def evaluate(
    ns: CompiledNamespace, flag_key: str, entity_id: str, context: Mapping[str, str], trace: Trace | None = None
) -> VariantResult | BooleanResult:
    """Evaluate by the flag's own type."""
    flag = _lookup(ns, flag_key)
    if flag.is_boolean:
        return _boolean(flag, entity_id, context, trace)
    return _variant(flag, entity_id, context, trace)

