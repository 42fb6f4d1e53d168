"""Ask for a few fields (a new key, a name, a type): text fields with a check each, or a choice from a list. Every
field is checked on submit and every problem is shown at once (see `FormModal`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.widgets import Input, Select

from app.screens.modals.form import Checks, FormModal
from app.widgets.fields import field as field_row
from gitstore.format.validation_rules import KEY_RULE, is_key

Check = Callable[[str], str | None]  # returns an error message, or None when the value is fine


def key_check(existing: set[str] | None = None) -> Check:
    def check(value: str) -> str | None:
        if not value:
            return "must not be empty"
        if not is_key(value):
            return f"a key is {KEY_RULE}"
        if existing and value in existing:
            return f"{value!r} already exists"
        return None

    return check


def non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


@dataclass
class Field:
    name: str
    label: str
    value: str = ""
    check: Check | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (label, value): a choice from a list instead of free text
    placeholder: str = ""


class PromptModal(FormModal[dict[str, str] | None]):
    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__(title)
        self.prompt_fields = fields

    def fields(self) -> ComposeResult:
        for f in self.prompt_fields:
            if f.choices:
                widget: Input | Select[str] = Select(list(f.choices), value=f.value or f.choices[0][1],
                                                     allow_blank=False, id=f"field-{f.name}")
            else:
                widget = Input(f.value, id=f"field-{f.name}", placeholder=f.placeholder)
            yield field_row(f.label, widget)

    def value_of(self, f: Field) -> str:
        widget = self.query_one(f"#field-{f.name}")
        return str(widget.value) if isinstance(widget, Select) else widget.value.strip()  # type: ignore[attr-defined]

    def build(self) -> dict[str, str]:
        values = {f.name: self.value_of(f) for f in self.prompt_fields}
        checks = Checks()
        for f in self.prompt_fields:
            problem = f.check(values[f.name]) if f.check else None
            if problem:
                checks.fail(f"field-{f.name}", problem)
        checks.done()
        return values
