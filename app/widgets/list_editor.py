"""A table of ordered items (variants, rules, rollouts, constraints) with keys to add, edit, delete and reorder.
It only posts requests; the screen owning the data answers them."""

from __future__ import annotations

from rich.cells import cell_len
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable


class ListEditor(DataTable[str]):
    DEFAULT_CSS = "ListEditor { height: auto; max-height: 10; }"
    BINDINGS = [
        Binding("a", "add", "Add",
                tooltip="Add an item to this list"),
        Binding("enter", "edit", "Edit",
                tooltip="Edit the highlighted item"),
        Binding("x", "delete", "Remove",
                tooltip="Remove the highlighted item"),
        Binding("delete", "delete", "Remove", show=False),
        Binding("ctrl+up", "move(-1)", "Move up", show=False),
        Binding("ctrl+down", "move(1)", "Move down", show=False),
        Binding("left_square_bracket", "move(-1)", "Move up", show=False,
                tooltip="Move the highlighted item up"),
        Binding("right_square_bracket", "move(1)", "Move down", show=False,
                tooltip="Move the highlighted item down"),
    ]

    class Request(Message):
        """`what` is add, edit, delete or move; `index` the row (None for add); `delta` for move."""

        def __init__(self, editor: ListEditor, what: str, index: int | None, delta: int = 0) -> None:
            self.editor, self.what, self.index, self.delta = editor, what, index, delta
            super().__init__()

        @property
        def control(self) -> ListEditor:
            return self.editor

    def __init__(self, *columns: str, id: str | None = None, movable: bool = False) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.movable = movable
        self.titles = columns
        self.add_columns(*columns)

    def set_items(self, rows: list[tuple[str, ...]], cursor: int | None = None) -> None:
        """Show `rows`; every column as wide as its widest cell or title. The widths are given, not measured by
        DataTable: after `clear()` it widened its columns for new rows but kept drawing the old header, so the
        titles no longer stood over their columns after a longer variant key."""
        keep = self.cursor_row if cursor is None else cursor
        self.clear(columns=True)
        for index, title in enumerate(self.titles):
            width = max([cell_len(title), *(cell_len(str(row[index])) for row in rows if index < len(row))])
            self.add_column(title, width=width)
        for row in rows:
            self.add_row(*row)
        if rows:
            self.move_cursor(row=max(0, min(keep, len(rows) - 1)))
        self.call_after_refresh(self._show_if_focused)

    def _show_if_focused(self) -> None:
        """A list grown by an edit made in it is scrolled into view (at 80×24 a new rule was below the screen)."""
        if self.has_focus:
            self.scroll_visible(animate=False)

    def _current(self) -> int | None:
        return self.cursor_row if self.row_count else None

    def action_add(self) -> None:
        self.post_message(self.Request(self, "add", None))

    def action_edit(self) -> None:
        if self._current() is not None:
            self.post_message(self.Request(self, "edit", self._current()))

    def action_delete(self) -> None:
        if self._current() is not None:
            self.post_message(self.Request(self, "delete", self._current()))

    def action_move(self, delta: int) -> None:
        index = self._current()
        if self.movable and index is not None and 0 <= index + delta < self.row_count:
            self.post_message(self.Request(self, "move", index, delta))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()
