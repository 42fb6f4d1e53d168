"""What an evaluation returns (flipt-compatibility §4.2, §4.4, §4.6, §4.7).

Results are plain slotted dataclasses, created once per evaluation; treat them as read-only. Request ids,
timestamps and durations belong to the server, not to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    UNKNOWN = "UNKNOWN_EVALUATION_REASON"
    FLAG_DISABLED = "FLAG_DISABLED_EVALUATION_REASON"
    MATCH = "MATCH_EVALUATION_REASON"
    DEFAULT = "DEFAULT_EVALUATION_REASON"


class ErrorReason(StrEnum):
    UNKNOWN = "UNKNOWN_ERROR_EVALUATION_REASON"
    NOT_FOUND = "NOT_FOUND_ERROR_EVALUATION_REASON"


@dataclass(slots=True)
class VariantResult:
    flag_key: str
    match: bool
    reason: Reason
    variant_key: str
    variant_attachment: str  # JSON text; "null" for a variant without attachment, "" when no variant
    segment_keys: list[str]

    @property
    def value(self) -> str:
        return self.variant_key


@dataclass(slots=True)
class BooleanResult:
    flag_key: str
    enabled: bool
    reason: Reason
    segment_keys: list[str]

    @property
    def value(self) -> bool:
        return self.enabled


Result = VariantResult | BooleanResult
