"""A labelled one-line form row, so editors fit an 80x24 terminal."""

from __future__ import annotations

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label


def field(label: str, widget: Widget, *, id: str | None = None) -> Horizontal:
    """`Label  [widget……]` on one line (the label column is fixed so fields line up)."""
    return Horizontal(Label(label, classes="field-label"), widget, classes="field", id=id)
