"""The declarative document model (Flipt's `features.yaml`, versions 1.0 to 1.6).

These models hold *valid* documents: raw YAML/JSON is checked by `gitstore.format.validation` (which reports every error
with file, line and path) before it is turned into these objects by `gitstore.format.loader`. Field names are the file's
names (`match_type` in snake_case). Constraint values are kept as the normalised string the evaluator sees
(flipt-compatibility §3.6); the writer turns `isoneof`/`isnotoneof` values back into YAML lists for version 1.6.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KEY_PATTERN = r"^[-_,A-Za-z0-9]+$"
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6")
LATEST_VERSION = "1.6"
PROTECTED_NAMESPACE = "default"  # always exists (Flipt): never created nor deleted by a write


class FlagType(StrEnum):
    VARIANT = "VARIANT_FLAG_TYPE"
    BOOLEAN = "BOOLEAN_FLAG_TYPE"


class SegmentOperator(StrEnum):
    OR = "OR_SEGMENT_OPERATOR"
    AND = "AND_SEGMENT_OPERATOR"


class MatchType(StrEnum):
    ALL = "ALL_MATCH_TYPE"
    ANY = "ANY_MATCH_TYPE"


class ComparisonType(StrEnum):
    STRING = "STRING_COMPARISON_TYPE"
    NUMBER = "NUMBER_COMPARISON_TYPE"
    BOOLEAN = "BOOLEAN_COMPARISON_TYPE"
    DATETIME = "DATETIME_COMPARISON_TYPE"
    ENTITY_ID = "ENTITY_ID_COMPARISON_TYPE"


# Operators each comparison type accepts in files (Flipt's CUE schema; flipt-compatibility §2.3).
OPERATORS: dict[ComparisonType, tuple[str, ...]] = {
    ComparisonType.STRING: (
        "eq", "neq", "empty", "notempty", "prefix", "suffix", "isoneof", "isnotoneof", "contains", "notcontains",
    ),
    ComparisonType.NUMBER: ("eq", "neq", "lt", "lte", "gt", "gte", "present", "notpresent", "isoneof", "isnotoneof"),
    ComparisonType.BOOLEAN: ("true", "false", "present", "notpresent"),
    ComparisonType.DATETIME: ("eq", "neq", "lt", "lte", "gt", "gte", "present", "notpresent"),
    ComparisonType.ENTITY_ID: (
        "eq", "neq", "empty", "notempty", "prefix", "suffix", "contains", "notcontains", "isoneof", "isnotoneof",
    ),
}
NO_VALUE_OPERATORS = frozenset({"true", "false", "empty", "notempty", "present", "notpresent"})
LIST_OPERATORS = frozenset({"isoneof", "isnotoneof"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


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
