"""Choose the stale flags to remove: every stale flag of the namespace with why, all chosen at first; then the
segments that only stale flags use, not chosen at first (opt-in). `space` toggles one, `enter` stages the deletion
of the chosen ones and opens the review (impact preview, one commit). A chosen segment is removed only when every
flag using it is removed too (else it is kept and the person told)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from app.insight.stale_scan import Judged

SEGMENT = "segment:"  # a chosen segment's value in the list (flag keys have no colon)


class CleanupModal(ModalScreen[list[str] | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("enter", "remove", "Remove chosen", priority=True),
    ]

    def __init__(self, namespace: str, stale: list[Judged], note: str,
                 segments: dict[str, list[str]] | None = None) -> None:
        """`segments`: segment key -> the (stale) flags using it, offered for removal with them."""
        super().__init__()
        self.namespace, self.stale, self.note = namespace, stale, note
        self.segments = segments or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog cleanup"):
            yield Label(f"Clean up stale flags of {self.namespace}", classes="dialog-title")
            yield Static("space: choose or leave a flag · ⏎: remove the chosen ones (pending, then the review "
                         "shows their impact and commits them as one change)", classes="dialog-body")
            yield SelectionList[str](*(Selection(self.label(j), j.flag.key, True) for j in self.stale),
                                     *(Selection(f"segment {key}: used only by {', '.join(users)} (also remove?)",
                                                 SEGMENT + key, False) for key, users in self.segments.items()),
                                     id="stale-flags")
            yield Static(self.note, classes="hint", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Remove chosen (⏎)", variant="primary", id="yes")
                yield Button("Cancel (esc)", id="no")

    @staticmethod
    def label(judged: Judged) -> str:
        owner = f" · {judged.lifecycle.owner}" if judged.lifecycle.owner else ""
        return f"{judged.flag.key}: {'; '.join(judged.verdict.reasons)}{owner}"

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_remove(self) -> None:
        chosen = list(self.query_one(SelectionList).selected)
        flags = {key for key in chosen if not key.startswith(SEGMENT)}
        kept = [key for key in chosen if key.startswith(SEGMENT)
                and not set(self.segments[key.removeprefix(SEGMENT)]) <= flags]
        if kept:
            self.notify("Kept " + ", ".join(k.removeprefix(SEGMENT) for k in kept) + ": a flag using it stays.",
                        markup=False)
        self.dismiss([key for key in chosen if key not in kept])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self.action_remove()
        else:
            self.dismiss(None)
