"""A multi-line text box that follows the console's one rule: `enter` submits (the dialog, the commit) and
`ctrl+j` adds a line. Pasted text keeps its lines."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

NEW_LINE_KEY = "ctrl+j"  # the line feed key itself: delivered by every terminal, tmux and SSH (shift+enter is not)


class TextBox(TextArea):
    BINDINGS = [Binding(NEW_LINE_KEY, "new_line", "New line", tooltip="Start a new line in this text box")]

    class Submitted(Message):
        """`enter` was pressed in the box."""

        def __init__(self, box: TextBox) -> None:
            self.box = box
            super().__init__()

        @property
        def control(self) -> TextBox:
            return self.box

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self))
            return
        await super()._on_key(event)

    def action_new_line(self) -> None:
        if not self.read_only:
            start, end = self.selection
            self.replace("\n", start, end, maintain_selection_offset=False)
