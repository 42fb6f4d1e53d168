"""The words of Flipt's feature files (versions, flag types, operators), without pydantic: what validating a file
needs (`gitstore.format.validation*`), so `flagdeck validate` never imports the models. `gitstore.model.documents`
re-exports them: the models' enums are these."""

from __future__ import annotations

from enum import StrEnum

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
