"""An error shown where it happened: a title, what went wrong, and each problem with file, line and field."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from gitstore.errors import AccessDenied, ConflictError, ValidationError


def describe(error: BaseException) -> str:
    """Plain words for an exception: never a traceback."""
    if isinstance(error, ValidationError):
        return "The change would make the namespace invalid:\n" + "\n".join(f"• {p}" for p in error.problems)
    if isinstance(error, ConflictError):
        where = f" ({error.resource})" if error.resource else ""
        return f"Someone else changed this meanwhile{where}: {error}\nYour edits are still pending."
    if isinstance(error, AccessDenied | PermissionError):
        return f"Not allowed: {error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class ErrorModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close", show=False)]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text, self.message = title, message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Label(f"Error: {self.title_text}", classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self.message, classes="dialog-body", markup=False)
            yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self) -> None:
        self.dismiss()
