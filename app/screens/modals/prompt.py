"""Ask for a few text fields (a new key, a name); each field may carry a check that blocks submitting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from app.widgets.fields import field as field_row
from gitstore.format.validation_rules import KEY_RULE, is_key

Check = Callable[[str], str | None]  # returns an error message, or None when the value is fine


def key_check(existing: set[str] | None = None) -> Check:
    def check(value: str) -> str | None:
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


class PromptModal(ModalScreen[dict[str, str] | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__()
        self.title_text, self.fields = title, fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            for f in self.fields:
                yield field_row(f.label, Input(f.value, id=f"field-{f.name}"))
            yield Static("", id="prompt-error", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (enter)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_input_submitted(self) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        values = {f.name: self.query_one(f"#field-{f.name}", Input).value.strip() for f in self.fields}
        for f in self.fields:
            problem = f.check(values[f.name]) if f.check else None
            if problem:
                self.query_one("#prompt-error", Static).update(f"✗ {f.label}: {problem}")
                self.query_one(f"#field-{f.name}", Input).focus()
                return
        self.dismiss(values)
