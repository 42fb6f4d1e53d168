"""The segments of the namespace: open, create, delete; which flags use each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.prompt import Field, PromptModal, key_check, non_empty
from app.widgets.key_footer import KeyFooter
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Document, MatchType, Segment


def segment_users(doc: Document) -> dict[str, list[str]]:
    """Segment key -> keys of the flags whose rules or rollouts name it (one pass over the flags)."""
    users: dict[str, list[str]] = {}
    for flag in doc.flags:
        for key in flag.segment_keys():
            users.setdefault(key, []).append(flag.key)
    return users


class SegmentsScreen(BaseScreen):
    SCREEN_TITLE = "Segment list"
    BINDINGS = [
        Binding("enter", "open", "Open",
                tooltip="Edit the highlighted segment"),
        Binding("n", "new", "New",
                tooltip="Create a segment"),
        Binding("d", "delete", "Delete",
                tooltip="Delete the highlighted segment (pending until committed)"),
        BACK,
    ]

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield DataTable(id="segments", cursor_type="row")
        yield Static("", id="segments-status", classes="status-line")
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return False if action in ("new", "delete") and not self.session.can_edit() else True

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "Key", "Name", "Match", "Constraints", "Used by")
        table.focus()
        self.fill()

    def reload(self) -> None:
        self.fill()

    def redraw(self) -> None:
        self.fill()

    def segments(self) -> list[Segment]:
        doc = self.session.document()
        return sorted(doc.segments, key=lambda s: s.key) if doc else []

    def fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        doc = self.session.document()
        used_by = segment_users(doc) if doc else {}
        for seg in self.segments():
            users = used_by.get(seg.key, [])
            table.add_row("*" if self.session.is_pending(Kind.SEGMENT, seg.key) else "", seg.key, seg.name,
                          "all" if seg.match_type is MatchType.ALL else "any", str(len(seg.constraints)),
                          ", ".join(users) or "-", key=seg.key)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#segments-status", Static).update(f"{table.row_count} segment(s)  │  * pending")
        self.update_context()

    def current(self) -> Segment | None:
        segs = self.segments()
        row = self.query_one(DataTable).cursor_row
        return segs[row] if segs and 0 <= row < len(segs) else None

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        from app.screens.segment_editor import SegmentEditorScreen

        seg = self.current()
        if seg is not None:
            self.app.push_screen(SegmentEditorScreen(seg))

    def action_new(self) -> None:
        if not self.check_write():
            return
        keys = {s.key for s in self.segments()}
        fields = [Field("key", "Key", check=key_check(keys)), Field("name", "Name", check=non_empty)]

        def created(values: dict[str, str] | None) -> None:
            if values:
                seg = Segment(key=values["key"], name=values["name"], match_type=MatchType.ALL)
                self.session.stage(Change(self.session.namespace, Kind.SEGMENT, seg.key, seg))
                self.fill()
                from app.screens.segment_editor import SegmentEditorScreen

                self.app.push_screen(SegmentEditorScreen(seg))

        self.app.push_screen(PromptModal("New segment", fields), created)

    def action_delete(self) -> None:
        seg = self.current()
        doc = self.session.document()
        if seg is None or doc is None or not self.check_write():
            return
        users = segment_users(doc).get(seg.key, [])
        if users:
            self.show_error("Delete segment", f"Segment {seg.key!r} is used by flag(s) {', '.join(users)}: "
                            "remove it from their rules and rollouts first.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.session.stage(Change(self.session.namespace, Kind.SEGMENT, seg.key, None))
                self.fill()

        self.app.push_screen(ConfirmModal("Delete segment", f"Delete segment {seg.key!r}? (pending until committed)",
                                          "Delete"), answered)
