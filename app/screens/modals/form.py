"""The frame shared by the editing dialogs: a title, a scrolling form, an error line and OK/Cancel."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

T = TypeVar("T")


class FormModal(ModalScreen[T]):
    """Subclasses yield their fields from `fields()` and return the result (or raise ValueError) from `build()`."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("f2", "ok", "OK")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def fields(self) -> ComposeResult:
        yield from ()

    def build(self) -> Any:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield from self.fields()
            yield Static("", id="form-error", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (f2)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_ok()
        elif event.button.id == "cancel":
            self.dismiss(None)

    def on_input_submitted(self, event: object) -> None:
        """`enter` in any one-line field means OK (f2 works everywhere, also in multi-line fields)."""
        self.action_ok()

    def action_ok(self) -> None:
        try:
            result = self.build()
        except ValueError as error:
            self.fail(str(error))
            return
        self.dismiss(result)

    def fail(self, message: str) -> None:
        self.query_one("#form-error", Static).update(f"✗ {message}")
