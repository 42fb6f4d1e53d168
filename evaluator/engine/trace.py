"""The "why" of one evaluation (issue 6), filled in by the evaluation functions themselves when they are given a
`Trace`: the trace is a record of the one code path that produced the answer, never a second implementation.

    trace = Trace()
    result = evaluate(ns, "checkout", "user-1", {"plan": "pro"}, trace=trace)
    print("\n".join(trace.render()))
"""

from __future__ import annotations

from dataclasses import dataclass, field

MISSING = "value missing"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class ConstraintCheck:
    type: str  # the comparison type without suffix: STRING, NUMBER, BOOLEAN, DATETIME, ENTITY_ID
    property: str  # the context property; "entity id" for ENTITY_ID constraints
    operator: str
    value: str  # the constraint's value
    actual: str | None  # the value looked at; None when the context lacks the property
    matched: bool
    failure: str = ""  # why it did not match beyond "false": value missing, not a number, not a date, ...

    def render(self) -> str:
        subject = "value missing" if self.actual is None else f"context {_q(self.actual)}"
        target = f" {_q(self.value)}" if self.value else ""
        outcome = "match" if self.matched else "no match"
        why = f" ({self.failure})" if self.failure and self.actual is not None else ""
        return f"{self.type} {self.property} {self.operator}{target}: {subject} -> {outcome}{why}"


@dataclass(slots=True)
class SegmentCheck:
    key: str
    match_type: str  # ALL or ANY
    total: int  # constraints in the segment
    matched: bool = False
    constraints: list[ConstraintCheck] = field(default_factory=list)

    def render(self) -> list[str]:
        head = f"segment {self.key} ({self.match_type}): {'match' if self.matched else 'no match'}"
        if self.total == 0:
            head += " (no constraints)"
        lines = [head] + ["  " + c.render() for c in self.constraints]
        skipped = self.total - len(self.constraints)
        if skipped:
            lines.append(f"  ({skipped} more constraint{'s' if skipped > 1 else ''} not checked)")
        return lines


@dataclass(slots=True)
class BucketCheck:
    """Variant bucketing: crc32(flag key + entity id) mod 1000 and the distribution ranges [start, end)."""

    flag_key: str
    entity_id: str
    hash: int
    bucket: int
    ranges: list[tuple[str, int, int]]
    chosen: str

    def render(self) -> list[str]:
        lines = [f"bucket: crc32({_q(self.flag_key)} + {_q(self.entity_id)}) = {self.hash} -> {self.bucket} of 1000"]
        for variant, start, end in self.ranges:
            mark = f"  <- bucket {self.bucket}" if start <= self.bucket < end else ""
            lines.append(f"  {variant}: [{start}, {end}){mark}")
        return lines


@dataclass(slots=True)
class ThresholdCheck:
    """Boolean threshold: crc32(entity id + flag key) mod 100 compared with the percentage."""

    entity_id: str
    flag_key: str
    hash: int
    value: int
    percentage: float
    matched: bool

    def render(self) -> str:
        sign = "<" if self.matched else ">="
        return (
            f"threshold: crc32({_q(self.entity_id)} + {_q(self.flag_key)}) = {self.hash} -> {self.value} of 100; "
            f"{self.value} {sign} {self.percentage:g}"
        )


@dataclass(slots=True)
class Step:
    """One rule (variant flags) or rollout (boolean flags), in rank order."""

    kind: str  # "rule", "segment rollout", "threshold rollout"
    rank: int
    operator: str = ""  # OR / AND for rules and segment rollouts
    segments: list[SegmentCheck] = field(default_factory=list)
    dropped: tuple[str, ...] = ()  # segments dropped when compiling (malformed constraints)
    matched: bool = False
    bucket: BucketCheck | None = None
    threshold: ThresholdCheck | None = None
    note: str = ""

    def render(self) -> list[str]:
        head = f"{self.kind} {self.rank}"
        if self.operator:
            head += f" ({self.operator})"
        head += ": match" if self.matched else ": no match"
        if self.note:
            head += f"; {self.note}"
        lines = [head]
        for key in self.dropped:
            lines.append(f"  segment {key}: dropped (malformed constraint), never matches")
        if self.operator and not self.segments and not self.dropped:
            lines.append("  no segments")
        for segment in self.segments:
            lines.extend("  " + line for line in segment.render())
        if self.threshold is not None:
            lines.append("  " + self.threshold.render())
        if self.bucket is not None:
            lines.extend("  " + line for line in self.bucket.render())
        return lines


@dataclass(slots=True)
class Trace:
    flag_key: str = ""
    flag_type: str = ""
    entity_id: str = ""
    enabled: bool = False
    steps: list[Step] = field(default_factory=list)
    reason: str = ""
    outcome: str = ""  # "variant blue", "no variant", "enabled true"
    segment_keys: list[str] = field(default_factory=list)
    note: str = ""  # e.g. "flag disabled"

    def start(self, flag_key: str, flag_type: str, entity_id: str, enabled: bool) -> None:
        self.flag_key, self.flag_type, self.entity_id, self.enabled = flag_key, flag_type, entity_id, enabled
        self.steps = []
        self.reason = self.outcome = self.note = ""
        self.segment_keys = []

    def render(self) -> list[str]:
        state = "enabled" if self.enabled else "disabled"
        lines = [f"flag {self.flag_key} ({self.flag_type}, {state}), entity {_q(self.entity_id)}"]
        if self.note:
            lines.append(self.note)
        for step in self.steps:
            lines.extend(step.render())
        if not self.steps and not self.note:
            lines.append("no rules" if self.flag_type == "VARIANT_FLAG_TYPE" else "no rollouts")
        result = f"result: {self.outcome}, {self.reason}"
        if self.segment_keys:
            result += f", segments {', '.join(self.segment_keys)}"
        lines.append(result)
        return lines
