"""The footer of every console screen: Textual's, but a key never shows cut in half ("q Qui"). Keys that do not
fit the width are left out, from the end, keeping Review, Help and Quit; every key is still listed by help (f1) and the
command palette (ctrl+p)."""

from __future__ import annotations

from collections import defaultdict

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

KEEP = ("review", "help", "quit")  # actions (of the app) shown whatever the width
PALETTE_WIDTH = 13  # "▏^p palette" on the right


def key_width(key_display: str, description: str) -> int:
    """Cells of one footer key as Textual draws it: ` key ` then `description `."""
    return cell_len(key_display) + 2 + (cell_len(description) + 1 if description else 0)


class KeyFooter(Footer):
    def __init__(self) -> None:
        super().__init__()
        self._width = 0

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        entries = [items[0] for items in by_action.values()]
        room = (self.size.width or self.app.size.width) - (PALETTE_WIDTH if self.show_command_palette else 0)
        kept: set[int] = set()
        for i, (binding, _, _) in enumerate(entries):
            if binding.action.removeprefix("app.") in KEEP:
                kept.add(i)
                room -= key_width(self.app.get_key_display(binding), binding.description)
        for i, (binding, _, _) in enumerate(entries):
            width = key_width(self.app.get_key_display(binding), binding.description)
            if i not in kept and width <= room:
                kept.add(i)
                room -= width
            elif i not in kept:
                room = -1  # keep the order: nothing after a key left out
        self.styles.grid_size_columns = len(kept)
        for i, (binding, enabled, tooltip) in enumerate(entries):
            if i in kept:
                yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                                disabled=not enabled, tooltip=tooltip).data_bind(compact=Footer.compact)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            yield from self._palette_key()

    def _palette_key(self) -> ComposeResult:
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is not None:
            _, binding, enabled, tooltip = found
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette", disabled=not enabled,
                            tooltip=binding.tooltip or binding.description)

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self.recompose)
