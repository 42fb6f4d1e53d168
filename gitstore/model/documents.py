"""The declarative document model (Flipt's `features.yaml`, versions 1.0 to 1.6).

These models hold *valid* documents: raw YAML/JSON is checked by `gitstore.format.validation` (which reports every error
with file, line and path) before it is turned into these objects by `gitstore.format.loader`. Field names are the file's
names (`match_type` in snake_case). Constraint values are kept as the normalised string the evaluator sees
(flipt-compatibility §3.6); the writer turns `isoneof`/`isnotoneof` values back into YAML lists for version 1.6.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gitstore.model.vocabulary import (
    KEY_PATTERN,
    LATEST_VERSION,
    LIST_OPERATORS,
    NO_VALUE_OPERATORS,
    OPERATORS,
    PROTECTED_NAMESPACE,
    VERSIONS,
    ComparisonType,
    FlagType,
    MatchType,
    SegmentOperator,
)

__all__ = [
    "KEY_PATTERN", "LATEST_VERSION", "LIST_OPERATORS", "NO_VALUE_OPERATORS", "OPERATORS", "PROTECTED_NAMESPACE",
    "VERSIONS", "ComparisonType", "Constraint", "Distribution", "Document", "Flag", "FlagType", "MatchType",
    "NamespaceInfo", "Rollout", "RolloutSegment", "RolloutThreshold", "Rule", "Segment", "SegmentOperator",
    "SegmentRef", "Variant",
]


class _Model(BaseModel):
    # defer_build: a model's validator is made when it first validates, not when its class is made. Documents read
    # from files are built without validating (`gitstore.format.models`), so `flagdeck eval` and `export` never make
    # one (issue 18: ~30 ms of each at 1,000 flags); pydantic's rebuild lock (≥ 2.14) makes a first validation on
    # two threads at once safe.
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False, defer_build=True)


class Variant(_Model):
    key: str
    name: str | None = None
    description: str | None = None
    default: bool = False
    attachment: Any = None  # a JSON object, array or None


class Distribution(_Model):
    variant: str
    rollout: float


class SegmentRef(_Model):
    """The segments a rule or rollout names: one key, or several joined by an operator."""

    keys: tuple[str, ...]
    operator: SegmentOperator = SegmentOperator.OR


class Rule(_Model):
    segment: SegmentRef
    distributions: tuple[Distribution, ...] = ()


class RolloutSegment(_Model):
    keys: tuple[str, ...]
    operator: SegmentOperator = SegmentOperator.OR
    value: bool = False


class RolloutThreshold(_Model):
    percentage: float
    value: bool = False


class Rollout(_Model):
    description: str | None = None
    segment: RolloutSegment | None = None
    threshold: RolloutThreshold | None = None


class Flag(_Model):
    key: str
    name: str
    type: FlagType = FlagType.VARIANT
    description: str | None = None
    enabled: bool = False
    metadata: dict[str, Any] | None = None
    variants: tuple[Variant, ...] = ()
    rules: tuple[Rule, ...] = ()
    rollouts: tuple[Rollout, ...] = ()

    def segment_keys(self) -> set[str]:
        """The segments the flag's rules and rollouts name."""
        keys = {key for rule in self.rules for key in rule.segment.keys}
        keys.update(key for rollout in self.rollouts if rollout.segment is not None for key in rollout.segment.keys)
        return keys

    @property
    def default_variant(self) -> Variant | None:
        """The variant marked `default: true`; the last one wins, as in Flipt's snapshot builder."""
        found = None
        for variant in self.variants:
            if variant.default:
                found = variant
        return found


class Constraint(_Model):
    type: ComparisonType
    property: str
    operator: str
    value: str = ""  # normalised text (flipt-compatibility §3.6): lists are compact JSON arrays
    description: str | None = None


class Segment(_Model):
    key: str
    name: str
    description: str | None = None
    match_type: MatchType
    constraints: tuple[Constraint, ...] = ()


class NamespaceInfo(_Model):
    key: str = "default"
    name: str | None = None
    description: str | None = None


class Document(_Model):
    """One namespace document. `namespace_form` remembers whether the file named the namespace as a plain key."""

    version: str = LATEST_VERSION
    namespace: NamespaceInfo = Field(default_factory=NamespaceInfo)
    flags: tuple[Flag, ...] = ()
    segments: tuple[Segment, ...] = ()

    def flag(self, key: str) -> Flag | None:
        return next((f for f in self.flags if f.key == key), None)

    def segment(self, key: str) -> Segment | None:
        return next((s for s in self.segments if s.key == key), None)
