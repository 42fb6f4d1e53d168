"""Constraint rules: operators per comparison type, value shapes per version, values that Flipt cannot prepare
(flipt-compatibility §2.3, §3.4-§3.7), and the normalisation of a value into the string the evaluator sees (flipt-compatibility §3.6)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitstore.format.yamlio import go_number
from gitstore.model.vocabulary import LIST_OPERATORS, NO_VALUE_OPERATORS, OPERATORS, ComparisonType

Path = tuple[str | int, ...]
Emit = Callable[[tuple[str | int, ...], str, str], None]  # (path, message, severity)



@dataclass(frozen=True)
class Finding:
    """A problem before it has a file and line: document index in the stream, path inside that document."""

    doc: int
    path: Path
    message: str
    severity: str = "error"


# Flipt's CUE key pattern `^[-_,A-Za-z0-9]+$` is RE2, where `$` is the end of the text; Python's `$` also matches
# before a final newline, so the rule is a full match of the character class (no anchors needed).
_KEY = re.compile(r"[-_,A-Za-z0-9]+")
KEY_RULE = "letters, digits, '-', '_' or ',' and not empty"


def is_key(value: object) -> bool:
    """A namespace, flag, segment key as Flipt's schema allows it (the whole string, no trailing newline)."""
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def percentage_problem(value: object, what: str = "a threshold") -> str | None:
    """Why `value` is not a valid rollout or threshold percentage (Flipt: a number from 0 to 100), or None. The
    one rule the validator, the store's writes and the console's dialogs use."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, not {describe(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if not 0 <= value <= 100:
        return f"invalid value {go_number(value)} (out of bound: {what} is a percentage from 0 to 100)"
    return None


def path_text(path: Path) -> str:
    """`("flags", 2, "rules", 0)` -> `flags[2].rules[0]`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+(?:_\d+)*\.?(?:\d+(?:_\d+)*)?|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+)",
    re.IGNORECASE,
)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
COMPARISON_OPERATORS = frozenset({"eq", "neq", "lt", "lte", "gt", "gte"})


def parses_as_go_float(text: str) -> bool:
    """Go's strconv.ParseFloat (underscores only with a base prefix, which we do not need to accept)."""
    return bool(_GO_FLOAT.fullmatch(text)) and "_" not in text


def parses_as_datetime(text: str) -> bool:
    """RFC 3339 (`2024-01-01T00:00:00Z`), else a plain date `YYYY-MM-DD`, as Flipt prepares DATETIME values."""
    try:
        if _RFC3339.fullmatch(text):
            _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return True
        if _DATE.fullmatch(text):
            _dt.date.fromisoformat(text)
            return True
    except ValueError:
        return False
    return False


def normalise_value(value: Any) -> str:
    """The constraint value as the evaluator sees it: lists become compact JSON arrays (booleans as "true"/"false"
    strings, null as ""), numbers their shortest decimal form, booleans "true"/"false", null ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_number(value)
    if isinstance(value, list):
        return "[" + ",".join(_list_element(v) for v in value) + "]"
    return str(value)


def _list_element(value: Any) -> str:
    if isinstance(value, bool):
        return json.dumps("true" if value else "false")
    if value is None:
        return '""'
    if isinstance(value, int | float):
        return go_number(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def compact_json_list(text: str) -> str | None:
    """A JSON-array string (versions up to 1.5) in compact form, or None when it is not a JSON array."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return normalise_value(parsed) if isinstance(parsed, list) else None


def operator_text(operator: Any) -> Any:
    """An unquoted `true`/`false` operator is a YAML boolean; read it as the operator it spells."""
    return ("true" if operator else "false") if isinstance(operator, bool) else operator


def check_constraint(data: dict[str, Any], path: tuple[str | int, ...], version: str, emit: Emit) -> None:
    """Type/operator union, value shape per version, and values Flipt would fail to prepare (warnings: Flipt
    silently drops the segment, and so does our engine)."""
    ctype: Any = data.get("type")  # any YAML value: ComparisonType refuses all but its names
    operator = operator_text(data.get("operator"))
    if isinstance(data.get("operator"), bool):
        emit(path + ("operator",), f"write the operator in quotes ('{operator}'): YAML reads an unquoted "
             f"{operator} as a boolean", "warning")
    try:
        comparison = ComparisonType(ctype)
    except ValueError:
        if "type" in data:
            allowed = ", ".join(t.value for t in ComparisonType)
            emit(path + ("type",), f"unknown comparison type {ctype!r} (expected one of {allowed})", "error")
        return
    if not isinstance(operator, str) or operator not in OPERATORS[comparison]:
        if "operator" in data:
            allowed = " ".join(OPERATORS[comparison])
            emit(path + ("operator",), f"operator {operator!r} is not allowed for {comparison.value} "
                 f"(allowed: {allowed})", "error")
        return
    vpath = path + ("value",)
    has_value = "value" in data and data["value"] is not None
    value = data.get("value")
    if operator in LIST_OPERATORS:
        _check_list_value(comparison, value, has_value, vpath, version, emit)
        return
    if isinstance(value, list | dict):
        emit(vpath, f"operator {operator!r} takes a single value, not a {type(value).__name__}", "error")
        return
    text = normalise_value(value)
    if operator in NO_VALUE_OPERATORS:
        if text:
            emit(vpath, f"operator {operator!r} takes no value; {text!r} is ignored", "warning")
        return
    if comparison is ComparisonType.NUMBER and operator in COMPARISON_OPERATORS and not parses_as_go_float(text):
        emit(vpath, f"{text!r} is not a number; Flipt drops this constraint's segment when evaluating", "warning")
    if comparison is ComparisonType.DATETIME and operator in COMPARISON_OPERATORS and not parses_as_datetime(text):
        emit(vpath, f"{text!r} is not an RFC 3339 date-time or YYYY-MM-DD date; Flipt drops this constraint's "
             "segment when evaluating", "warning")


def _check_list_value(
    comparison: ComparisonType, value: Any, has_value: bool, path: tuple[str | int, ...], version: str, emit: Emit,
) -> None:
    numbers = comparison is ComparisonType.NUMBER
    kind = "numbers" if numbers else "strings"
    if not has_value:
        emit(path, "isoneof/isnotoneof need a value (a list of values)", "error")
        return
    if version >= "1.6":
        if not isinstance(value, list):
            emit(path, f"from version 1.6 the value of isoneof/isnotoneof is a YAML list of {kind}, "
                 f"not {describe(value)}", "error")
            return
        for i, item in enumerate(value):
            good = _is_number(item) if numbers else isinstance(item, str)
            if not good:
                emit(path + (i,), f"list values of {comparison.value} must be {kind}, not {describe(item)}", "error")
        return
    if isinstance(value, list):
        emit(path, f"list values need version 1.6 (document is {version}); up to 1.5 write a JSON array string "
             "such as '[\"a\",\"b\"]'", "error")
        return
    if not isinstance(value, str):
        emit(path, f"the value of isoneof/isnotoneof must be a JSON array string, not {describe(value)}", "error")
        return
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    good = isinstance(parsed, list) and all(_is_number(v) if numbers else isinstance(v, str) for v in parsed)
    if not good:
        emit(path, f"{value!r} is not a JSON array of {kind}; Flipt drops this constraint's segment when "
             "evaluating", "warning")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def describe(value: Any) -> str:
    """A value as an error message names it: `the string 'x'`, `the number 3`, `a mapping`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {go_number(value)}"
    return {"dict": "a mapping", "list": "a list"}.get(type(value).__name__, f"a {type(value).__name__}")
