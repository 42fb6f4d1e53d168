"""Edit one segment: name, description, match type and its constraints. `escape` keeps the edit as pending."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select, Static

from app.screens.editor import ResourceEditorScreen
from app.screens.modals.constraint import TYPE_NAMES, ConstraintModal, value_text
from app.widgets.fields import field
from app.widgets.key_footer import KeyFooter
from app.widgets.list_editor import ListEditor
from gitstore.model.changes import Kind
from gitstore.model.documents import Constraint, MatchType, Segment


class SegmentEditorScreen(ResourceEditorScreen):
    SCREEN_TITLE = "Segment editor"
    KIND = Kind.SEGMENT
    ERROR_ID = "#segment-error"

    def __init__(self, segment: Segment) -> None:
        super().__init__()
        self.segment = segment
        self.constraints: list[Constraint] = list(segment.constraints)

    @property
    def read(self) -> Segment:
        return self.segment

    def compose(self) -> ComposeResult:
        s = self.segment
        yield self.context_bar()
        with VerticalScroll(classes="form"):
            yield Label(f"Segment {s.key}", classes="section-title")
            yield field("Name", Input(s.name, id="segment-name"))
            yield field("Description", Input(s.description or "", id="segment-description"))
            yield field("Match", Select([("all constraints must match", MatchType.ALL),
                                         ("any constraint matches", MatchType.ANY)],
                                        value=s.match_type, allow_blank=False, id="segment-match"))
            yield Label("Constraints (in the list: a add, ⏎ edit, x remove)", classes="section-title")
            yield ListEditor("Type", "Property", "Operator", "Value", id="constraints")
            yield Static("", id="segment-error", classes="error-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show_constraints()
        # The list has the focus: its keys (a, x, enter) are commands, where in the name field they would be typed in
        self.query_one("#constraints", ListEditor).focus()
        if not self.session.can_edit():
            for widget in self.query("Input, Select, ListEditor"):
                widget.disabled = True

    def show_constraints(self) -> None:
        rows: list[tuple[str, ...]] = [(TYPE_NAMES[c.type], c.property, c.operator, value_text(c))
                                       for c in self.constraints]
        self.query_one("#constraints", ListEditor).set_items(rows)

    def on_list_editor_request(self, event: ListEditor.Request) -> None:
        if event.what == "delete" and event.index is not None:
            del self.constraints[event.index]
            self.show_constraints()
            return
        current = self.constraints[event.index] if event.index is not None else None

        def edited(constraint: Constraint | None) -> None:
            if constraint is None:
                return
            if event.index is None:
                self.constraints.append(constraint)
            else:
                self.constraints[event.index] = constraint
            self.show_constraints()

        self.app.push_screen(ConstraintModal(current), edited)

    def build(self) -> Segment:
        name = self.query_one("#segment-name", Input).value.strip()
        if not name:
            raise ValueError("name must not be empty")
        return self.segment.model_copy(update={
            "name": name,
            "description": self.query_one("#segment-description", Input).value.strip() or None,
            "match_type": self.query_one("#segment-match", Select).value,
            "constraints": tuple(self.constraints),
        })
