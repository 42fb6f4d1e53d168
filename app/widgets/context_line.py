"""The line at the top of every screen: environment, namespace, role, pending edits, sync. Shortened to fit the
width, dropping the least needed part first; the pending count is never dropped."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.widgets import Static


@dataclass(frozen=True)
class Part:
    long: str  # "env: production"
    short: str  # "production"
    keep: int  # drop order when even the short forms do not fit: lowest first; 9 = never


def fit(parts: list[Part], width: int) -> str:
    """The longest form of `parts` that fits `width` cells."""
    for separator, form in (("  │  ", "long"), (" │ ", "long"), (" │ ", "short")):
        text = separator.join(getattr(p, form) for p in parts)
        if cell_len(text) <= width:
            return text
    kept = list(parts)
    while len(kept) > 1:
        droppable = [p for p in kept if p.keep < 9]
        if not droppable:
            break
        kept.remove(min(droppable, key=lambda p: p.keep))
        text = " │ ".join(p.short for p in kept)
        if cell_len(text) <= width:
            return text
    return " │ ".join(p.short for p in kept)


class ContextLine(Static):
    def __init__(self, parts: list[Part], classes: str = "context-line") -> None:
        super().__init__("", classes=classes, markup=False)
        self.parts = parts

    def show(self, parts: list[Part]) -> None:
        self.parts = parts
        self.refresh()

    def render(self) -> str:
        return fit(self.parts, max(10, self.content_region.width or self.app.size.width - 2))
