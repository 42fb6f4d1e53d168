"""Engine results -> Flipt's wire shapes (flipt-compatibility §6.3, §6.6). Attachments are JSON text, `"null"` when a
variant has none (§4.8); reasons are enum names. The engine's reasons are StrEnums, which orjson and the metric
labels take as they are (reading `.value` of an enum member is surprisingly slow on the hot path)."""

from __future__ import annotations

import time
from typing import Any

from evaluator.engine import BooleanResult, ErrorReason, Reason

VARIANT_TYPE = "VARIANT_EVALUATION_RESPONSE_TYPE"
BOOLEAN_TYPE = "BOOLEAN_EVALUATION_RESPONSE_TYPE"
ERROR_TYPE = "ERROR_EVALUATION_RESPONSE_TYPE"
OFREP_REASONS = {
    Reason.FLAG_DISABLED: "DISABLED",
    Reason.MATCH: "TARGETING_MATCH",
    Reason.DEFAULT: "DEFAULT",
}


_second: tuple[int, str] = (-1, "")  # the current second and its text, replaced as one value


def timestamp() -> str:
    """RFC 3339 in UTC with microseconds and a `Z`; the date and time part is formatted once per second."""
    global _second
    now = time.time()
    second = int(now)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((now - second) * 1_000_000):06d}Z"


def is_boolean(result: Any) -> bool:
    return hasattr(result, "enabled")


def variant_json(result: Any, request_id: str, ts: str, millis: float) -> dict[str, Any]:
    return {
        "match": result.match,
        "segmentKeys": list(result.segment_keys),
        "reason": result.reason,
        "variantKey": result.variant_key,
        "variantAttachment": result.variant_attachment,
        "requestId": request_id,
        "requestDurationMillis": millis,
        "timestamp": ts,
        "flagKey": result.flag_key,
    }


def boolean_json(result: Any, request_id: str, ts: str, millis: float) -> dict[str, Any]:
    return {
        "enabled": result.enabled,
        "reason": result.reason,
        "requestId": request_id,
        "requestDurationMillis": millis,
        "timestamp": ts,
        "flagKey": result.flag_key,
        "segmentKeys": list(result.segment_keys),
    }


def batch_entries(outcomes: list[Any], entries: list[Any], ts: str, millis: float) -> list[dict[str, Any]]:
    """A batch's `responses`: each engine result (or an already shaped error entry) with its entry's request id
    (`entries[i][4]`). The shapes of `variant_json`/`boolean_json`, written inline: this runs once per flag."""
    out: list[dict[str, Any]] = []
    append = out.append
    for outcome, entry in zip(outcomes, entries, strict=True):
        if type(outcome) is dict:
            append(outcome)
        elif type(outcome) is BooleanResult:
            append({"type": BOOLEAN_TYPE, "booleanResponse": {
                "enabled": outcome.enabled, "reason": outcome.reason, "requestId": entry[4],
                "requestDurationMillis": millis, "timestamp": ts, "flagKey": outcome.flag_key,
                "segmentKeys": outcome.segment_keys}})
        else:
            append({"type": VARIANT_TYPE, "variantResponse": {
                "match": outcome.match, "segmentKeys": outcome.segment_keys, "reason": outcome.reason,
                "variantKey": outcome.variant_key, "variantAttachment": outcome.variant_attachment,
                "requestId": entry[4], "requestDurationMillis": millis, "timestamp": ts,
                "flagKey": outcome.flag_key}})
    return out


def batch_error(flag_key: str, namespace: str, not_found: bool) -> dict[str, Any]:
    reason = ErrorReason.NOT_FOUND if not_found else ErrorReason.UNKNOWN
    return {"type": ERROR_TYPE, "errorResponse": {"flagKey": flag_key, "namespaceKey": namespace, "reason": reason}}


def ofrep_json(result: Any) -> dict[str, Any]:
    reason = OFREP_REASONS.get(result.reason, "UNKNOWN")
    if is_boolean(result):
        value = bool(result.enabled)
        return {"key": result.flag_key, "reason": reason, "variant": "true" if value else "false", "value": value}
    metadata: dict[str, str] = {}
    if result.segment_keys:
        metadata["segments"] = ",".join(result.segment_keys)
    if result.variant_attachment and result.variant_attachment != "null":
        metadata["attachment"] = result.variant_attachment
    body: dict[str, Any] = {"key": result.flag_key, "reason": reason, "variant": result.variant_key,
                            "value": result.variant_key}
    if metadata:
        body["metadata"] = metadata
    return body
