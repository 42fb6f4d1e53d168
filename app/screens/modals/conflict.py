"""A pending edit whose resource changed meanwhile: both versions side by side, and the fields that differ. Keep
mine (k), take theirs (t), or merge field by field (space switches the highlighted field's side, m merges).
Dismisses with ("mine", None), ("theirs", None), ("merge", merged value) or None (decide later)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from app.insight.conflicts import Conflict, field_choices, merged_value
from app.session_edits import resource_text


class ConflictModal(ModalScreen[tuple[str, Any] | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Later"),
        Binding("k", "keep", "Keep mine"),
        Binding("t", "take", "Take theirs"),
        Binding("m", "merge", "Merge fields"),
        Binding("space", "switch", "Switch field", show=False),
    ]

    def __init__(self, conflict: Conflict, sides: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.conflict = conflict
        self.sides = sides  # the two sides' titles (a proposal's: the branch and the target)
        self.choices = field_choices(conflict)

    def compose(self) -> ComposeResult:
        c = self.conflict
        kind = c.pending.change.kind
        with Vertical(classes="dialog"):
            yield Label(f"Conflict: {c.headline()}", classes="dialog-title")
            with Horizontal(classes="sides"):
                with VerticalScroll(classes="side", id="mine"):
                    yield Static(self.sides[0] if self.sides else "Yours (pending)", classes="side-title")
                    yield Static(resource_text(kind, c.mine) or "(deleted)", markup=False)
                with VerticalScroll(classes="side", id="theirs"):
                    yield Static(f"{self.sides[1]} ({c.commit[:8]})" if self.sides else f"Theirs ({c.commit[:8]})",
                                 classes="side-title")
                    yield Static(resource_text(kind, c.theirs) or "(deleted)", markup=False)
            if self.choices:
                yield Label("Fields that differ (space switches the side, m merges):", classes="hint")
                yield OptionList(*self.options(), id="fields")
            else:
                yield Label("One side deletes it: keep yours or take theirs.", classes="hint")
            yield Static("", id="conflict-error", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep mine (k)", variant="primary", id="keep")
                yield Button("Take theirs (t)", id="take")
                if self.choices:
                    yield Button("Merge (m)", id="merge")
                yield Button("Later (esc)", id="later")

    def options(self) -> list[Option]:
        return [Option(Text(choice.label()), id=choice.name) for choice in self.choices]

    def on_mount(self) -> None:
        target = "#fields" if self.choices else "#keep"
        self.query_one(target).focus()

    def action_switch(self) -> None:
        if not self.choices:
            return
        menu = self.query_one("#fields", OptionList)
        index = menu.highlighted or 0
        self.choices[index].theirs = not self.choices[index].theirs
        menu.replace_option_prompt_at_index(index, Text(self.choices[index].label()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_switch()

    def action_keep(self) -> None:
        self.dismiss(("mine", None))

    def action_take(self) -> None:
        self.dismiss(("theirs", None))

    def action_merge(self) -> None:
        if not self.choices:
            return
        try:
            value = merged_value(self.conflict, self.choices)
        except ValueError as error:
            self.query_one("#conflict-error", Static).update(f"✗ {error}")
            return
        self.dismiss(("merge", value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"keep": self.action_keep, "take": self.action_take, "merge": self.action_merge}
        action = actions.get(event.button.id or "")
        if action is None:
            self.dismiss(None)
        else:
            action()
