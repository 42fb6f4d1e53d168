"""Constraints, prepared once and matched many times (flipt-compatibility §3.7, §4.5).

`compile_constraint` prepares a constraint's value the way Flipt's snapshot builder does and returns a
`CompiledConstraint` whose `match(value)` answers True, False, or None for a matcher error (a context value that
does not parse), which evaluation counts as no match. A value that cannot be prepared raises `Malformed`: the
compiler then drops the whole segment, as Flipt does.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluator.engine.goparse import go_parse_bool, go_parse_float, go_trim, parse_instant
from gitstore.model.documents import ComparisonType, Constraint

Matcher = Callable[[str], "bool | None"]

FAILURES = {
    ComparisonType.NUMBER: "not a number",
    ComparisonType.DATETIME: "not a date",
    ComparisonType.BOOLEAN: "not a boolean",
}
_COMPARISONS = frozenset({"eq", "neq", "lt", "lte", "gt", "gte"})


class Malformed(ValueError):
    """A constraint value Flipt cannot prepare; its segment is dropped."""


@dataclass(frozen=True, slots=True)
class CompiledConstraint:
    type: ComparisonType
    property: str
    operator: str
    value: str
    entity: bool  # ENTITY_ID: the subject is the entity id, not a context property
    match: Matcher
    failure: str  # what a None from `match` means, for the trace


def _never(_: str) -> bool:
    return False


def _present(v: str) -> bool:
    return go_trim(v) != ""


def _absent(v: str) -> bool:
    return go_trim(v) == ""


def _string_set(value: str) -> frozenset[str]:
    try:
        items = json.loads(value)
    except ValueError as exc:
        raise Malformed(f"not a JSON array of strings: {exc}") from None
    if items is None:
        return frozenset()
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise Malformed("not a JSON array of strings")
    return frozenset(items)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _number_set(value: str) -> frozenset[float]:
    try:
        items = json.loads(value, parse_constant=_reject_constant)
    except ValueError as exc:
        raise Malformed(f"not a JSON array of numbers: {exc}") from None
    if items is None:
        return frozenset()
    if not isinstance(items, list) or not all(isinstance(i, int | float) and not isinstance(i, bool) for i in items):
        raise Malformed("not a JSON array of numbers")
    try:
        numbers = [float(i) for i in items]
    except OverflowError:
        raise Malformed("a number is out of range") from None
    if any(math.isinf(n) for n in numbers):
        raise Malformed("a number is out of range")
    return frozenset(numbers)


def _string_matcher(op: str, value: str) -> Matcher:
    if op == "empty":
        return _absent
    if op == "notempty":
        return _present
    if op == "eq":
        return value.__eq__ if value else _never
    if op == "neq":
        return lambda v: v != "" and v != value
    if op == "prefix":
        return lambda v: v != "" and go_trim(v).startswith(value)
    if op == "suffix":
        return lambda v: v != "" and go_trim(v).endswith(value)
    if op == "contains":
        return lambda v: v != "" and value in v
    if op == "notcontains":
        return lambda v: v != "" and value not in v
    if op == "isoneof":
        members = _string_set(value)
        return lambda v: v != "" and v in members
    if op == "isnotoneof":
        members = _string_set(value)
        return lambda v: v != "" and v not in members
    return _never


def _number_matcher(op: str, value: str) -> Matcher:
    if op == "present":
        return _present
    if op == "notpresent":
        return _absent
    if op in ("isoneof", "isnotoneof"):
        members = _number_set(value)
        inside = op == "isoneof"

        def member(v: str) -> bool | None:
            if v == "":
                return False
            n = go_parse_float(v)
            return None if n is None else (n in members) is inside

        return member
    if op not in _COMPARISONS:
        return _never
    target = None
    if value != "":
        target = go_parse_float(value)
        if target is None:
            raise Malformed("not a number")
    return _compare(op, target, go_parse_float)


def _datetime_matcher(op: str, value: str) -> Matcher:
    target = None
    if value != "":
        target = parse_instant(value)
        if target is None:
            raise Malformed("not an RFC 3339 date-time or YYYY-MM-DD date")
    if op == "present":
        return _present
    if op == "notpresent":
        return _absent
    if op not in _COMPARISONS:
        return _never
    return _compare(op, target, parse_instant)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "neq": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
}


def _compare(op: str, target: float | int | None, parse: Callable[[str], Any]) -> Matcher:
    """A comparison of the parsed context value with the prepared constraint value (None: unprepared)."""
    cmp = _OPS[op]

    def compare(v: str) -> bool | None:
        if v == "":
            return False
        n = parse(v)
        if n is None or target is None:
            return None
        return cmp(n, target)

    return compare


def _boolean_matcher(op: str) -> Matcher:
    if op == "present":
        return _present
    if op == "notpresent":
        return _absent
    if op not in ("true", "false"):
        return _never
    want = op == "true"

    def boolean(v: str) -> bool | None:
        if v == "":
            return False
        b = go_parse_bool(v)
        return None if b is None else b is want

    return boolean


def compile_constraint(c: Constraint) -> CompiledConstraint:
    """Prepare one constraint; raises `Malformed` when Flipt would drop its segment."""
    ctype, op, value = c.type, c.operator, c.value
    if ctype in (ComparisonType.STRING, ComparisonType.ENTITY_ID):
        match = _string_matcher(op, value)
    elif ctype is ComparisonType.NUMBER:
        match = _number_matcher(op, value)
    elif ctype is ComparisonType.DATETIME:
        match = _datetime_matcher(op, value)
    else:
        match = _boolean_matcher(op)
    return CompiledConstraint(
        type=ctype,
        property=c.property,
        operator=op,
        value=value,
        entity=ctype is ComparisonType.ENTITY_ID,
        match=match,
        failure=FAILURES.get(ctype, ""),
    )
