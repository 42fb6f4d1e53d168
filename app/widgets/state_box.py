"""A checkbox whose state reads in text, not in colour only: `[x] on` / `[ ] off` (Textual's draws `▐X▌` either
way and tells them apart by colour, which NO_COLOR, a monochrome terminal or a screen reader loses)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class StateBox(Checkbox):
    def __init__(self, on_label: str, off_label: str, value: bool = False, *, id: str | None = None) -> None:
        self.on_label, self.off_label = on_label, off_label
        super().__init__(on_label if value else off_label, value, id=id)

    @property
    def _button(self) -> Content:
        return Content.styled("[x]" if self.value else "[ ]", self.get_visual_style("toggle--button"))

    def watch_value(self) -> None:
        super().watch_value()
        self.label = self.on_label if self.value else self.off_label
