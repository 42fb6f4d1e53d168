"""The frame of every editing dialog: a title, a scrolling form, the problems, OK and Cancel.

One behaviour for all of them: the first field has the focus when the dialog opens; `enter` submits from any field
(a multi-line box adds a line with ctrl+j; an open drop-down takes `enter` for its choice; a focused button is
pressed); `escape` cancels. Submitting checks every field and lists every problem at once, each named by its field;
once shown, the list follows the fields as they are edited, so a fixed value's problem goes away at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from app.widgets.text_box import TextBox

T = TypeVar("T")
R = TypeVar("R")
FIELDS = "Input, Select, TextArea, Checkbox, OptionList, ListEditor"


class Problems(ValueError):
    """Every problem of a form: (id of the field, or None for the whole form; message)."""

    def __init__(self, items: list[tuple[str | None, str]]) -> None:
        self.items = items
        super().__init__("; ".join(message for _, message in items))


class Checks:
    """Run each field's parse, keep going after a failure, raise every problem at the end (`done`)."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str]] = []

    def run(self, field_id: str | None, parse: Callable[[], R]) -> R | None:
        try:
            return parse()
        except Problems as problems:
            self.items += problems.items
        except ValueError as error:
            self.items.append((field_id, str(error)))
        return None

    def fail(self, field_id: str | None, message: str) -> None:
        self.items.append((field_id, message))

    def done(self) -> None:
        if self.items:
            raise Problems(self.items)


class FormModal(ModalScreen[T]):
    """Subclasses yield their fields from `fields()` and return the result from `build()`, raising `Problems`
    (through `Checks`) or a ValueError for what is wrong."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel",
                tooltip="Close the dialog; nothing is kept"),
        Binding("enter", "submit", "OK", priority=True,
                tooltip="Check every field and keep the result"),
        Binding("f2", "submit", "OK", show=False),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title
        self.showing_problems = False

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
                yield Button("OK (⏎)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        first = next((w for w in self.query(FIELDS) if w.focusable and w.display), None)
        if first is not None:
            first.focus()

    # ----- keys and buttons -----------------------------------------------------------------------------------
    def action_submit(self) -> None:
        focused = self.focused
        if isinstance(focused, Button) or _inside_open_menu(focused):
            raise SkipAction()  # the button is pressed, the drop-down takes its choice
        self.submit()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    def ok_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def on_text_box_submitted(self, event: TextBox.Submitted) -> None:
        event.stop()
        self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # `enter` is the dialog's (priority binding); this only comes from Input.action_submit

    # ----- checking ---------------------------------------------------------------------------------------------
    def submit(self) -> None:
        try:
            result = self.build()
        except ValueError as error:
            self.show_problems(error, focus=True)
            return
        self.dismiss(result)

    def show_problems(self, error: ValueError | None, focus: bool = False) -> None:
        items = error.items if isinstance(error, Problems) else [(None, str(error))] if error else []
        self.showing_problems = bool(items)
        lines = [f"✗ {self.label_of(field_id)}{message}" for field_id, message in items]
        self.query_one("#form-error", Static).update("\n".join(lines))
        if focus:
            target = next((field_id for field_id, _ in items if field_id), None)
            if target:
                self.query_one(f"#{target}").focus()

    def label_of(self, field_id: str | None) -> str:
        """`Distributions: ` for a field in a labelled row; "" for the whole form or an unlabelled field."""
        if not field_id:
            return ""
        widget: Widget | None = self.query_one(f"#{field_id}")
        row = widget.parent if widget is not None else None
        labels = list(row.query_children(Label)) if row is not None and row.has_class("field") else []
        return f"{labels[0].content}: " if labels else ""

    def recheck(self) -> None:
        """Once problems are shown, keep the list true to the fields as they change."""
        if not self.showing_problems:
            return
        try:
            self.build()
        except ValueError as error:
            self.show_problems(error)
            return
        self.show_problems(None)

    # Textual calls these and a subclass's handler of the same message (each class of the MRO has its turn)
    def on_input_changed(self, event: Input.Changed) -> None:
        self.recheck()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.recheck()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.recheck()


def _inside_open_menu(widget: Widget | None) -> bool:
    """True when `widget` is (in) the open drop-down of a Select."""
    while widget is not None:
        if isinstance(widget, Select):
            return bool(widget.expanded)
        if isinstance(widget, TextArea | Input):
            return False
        widget = widget.parent  # type: ignore[assignment]
    return False
