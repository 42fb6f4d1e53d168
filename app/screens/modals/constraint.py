"""Edit one constraint: only the operators valid for its type are offered, and the value is checked for that type
(numbers, booleans, dates, lists) before it can be saved."""

from __future__ import annotations

import json

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select

from app.screens.modals.form import Checks, FormModal
from app.widgets.fields import field
from gitstore.format.validation_rules import parses_as_datetime, parses_as_go_float
from gitstore.model.documents import LIST_OPERATORS, NO_VALUE_OPERATORS, OPERATORS, ComparisonType, Constraint

TYPE_NAMES = {
    ComparisonType.STRING: "string", ComparisonType.NUMBER: "number", ComparisonType.BOOLEAN: "boolean",
    ComparisonType.DATETIME: "datetime", ComparisonType.ENTITY_ID: "entity id",
}


def _number(text: str) -> str:
    if not parses_as_go_float(text):
        raise ValueError(f"{text!r} is not a number")
    return text


def _datetime(text: str) -> str:
    if not parses_as_datetime(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an RFC 3339 time")
    return text


def _items(text: str) -> list[str]:
    """A list typed as JSON (`["a","b"]`) or as comma-separated words."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"list: invalid JSON at column {error.colno}: {error.msg}") from None
        return [str(v) if not isinstance(v, str) else v for v in value]
    return [part.strip() for part in text.split(",") if part.strip()]


def check_value(kind: ComparisonType, operator: str, text: str) -> str:
    """The constraint value as stored (lists as compact JSON arrays), or a ValueError saying what is wrong."""
    text = text.strip()
    if operator in NO_VALUE_OPERATORS:
        return ""
    if operator in LIST_OPERATORS:
        items = _items(text)
        if not items:
            raise ValueError(f"{operator} needs a list of values")
        if kind is ComparisonType.NUMBER:
            return "[" + ",".join(_number(i.strip()) for i in items) + "]"
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    if not text:
        raise ValueError(f"{operator} needs a value")
    if kind is ComparisonType.NUMBER:
        return _number(text)
    if kind is ComparisonType.DATETIME:
        return _datetime(text)
    return text


def value_text(constraint: Constraint) -> str:
    """A stored value as the user types it: lists comma separated."""
    if constraint.operator in LIST_OPERATORS and constraint.value.startswith("["):
        try:
            return ", ".join(str(v) for v in json.loads(constraint.value))
        except json.JSONDecodeError:
            pass
    return constraint.value


class ConstraintModal(FormModal[Constraint | None]):
    def __init__(self, constraint: Constraint | None) -> None:
        super().__init__("Edit constraint" if constraint else "New constraint")
        self.constraint = constraint or Constraint(type=ComparisonType.STRING, property="", operator="eq")

    def fields(self) -> ComposeResult:
        c = self.constraint
        yield field("Type", Select([(name, kind) for kind, name in TYPE_NAMES.items()], value=c.type,
                                   allow_blank=False, id="constraint-type"))
        yield field("Property", Input(c.property, id="constraint-property", placeholder="context key"))
        yield field("Operator", Select([(op, op) for op in OPERATORS[c.type]], value=c.operator, allow_blank=False,
                                       id="constraint-operator"))
        yield field("Value", Input(value_text(c), id="constraint-value", placeholder="lists: comma separated"),
                    id="constraint-value-row")
        yield field("Description", Input(c.description or "", id="constraint-description", placeholder="optional"))

    def on_mount(self) -> None:
        self.show_value_field()

    @on(Select.Changed, "#constraint-type")
    def type_changed(self, event: Select.Changed) -> None:
        """The operators of the chosen type (the current one kept when the type has it)."""
        if event.value is not Select.BLANK:
            operators = OPERATORS[ComparisonType(str(event.value))]
            select = self.query_one("#constraint-operator", Select)
            current = select.value
            select.set_options([(op, op) for op in operators])
            select.value = current if current in operators else operators[0]
        self.show_value_field()

    @on(Select.Changed, "#constraint-operator")
    def show_value_field(self) -> None:
        operator = self.query_one("#constraint-operator", Select).value
        needs_value = operator not in NO_VALUE_OPERATORS
        self.query_one("#constraint-value-row").display = needs_value

    def build(self) -> Constraint:
        kind = ComparisonType(str(self.query_one("#constraint-type", Select).value))
        operator = str(self.query_one("#constraint-operator", Select).value)
        if operator not in OPERATORS[kind]:
            raise ValueError(f"operator {operator!r} is not valid for {TYPE_NAMES[kind]} constraints")
        checks = Checks()
        prop = self.query_one("#constraint-property", Input).value.strip()
        if not prop and kind is not ComparisonType.ENTITY_ID:
            checks.fail("constraint-property", "must not be empty (the context key to compare)")
        value = checks.run("constraint-value", lambda: check_value(kind, operator,
                                                                    self.query_one("#constraint-value", Input).value))
        checks.done()
        description = self.query_one("#constraint-description", Input).value.strip() or None
        return Constraint(type=kind, property=prop or "entityId", operator=operator, value=value or "",
                          description=description)
