"""The keys of the screen it was opened from, in words: what each key does there, then the keys that work
everywhere, then those of the focused field. Generated from the bindings themselves (their descriptions and
tooltips), so it never drifts from what the keys do."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from app.screens.base import BACK
from app.widgets.key_footer import KeyFooter

# What the focused widget is, in words (the help never shows a class name)
WIDGET_WORDS = {"FlagTable": "flag list", "ListEditor": "list", "DataTable": "table", "OptionList": "list",
                "Input": "text field", "TextBox": "text box", "TextArea": "text box", "Select": "choice",
                "StateBox": "checkbox", "Checkbox": "checkbox", "Button": "button"}


def screen_title(screen: Screen[Any]) -> str:
    """A screen's name for people (`SCREEN_TITLE`), e.g. "Flag list"."""
    return str(getattr(screen, "SCREEN_TITLE", "") or "this screen")


def widget_words(node: object) -> str:
    for cls in type(node).__mro__:
        if cls.__name__ in WIDGET_WORDS:
            return f"in a {WIDGET_WORDS[cls.__name__]}"
    return "in the focused field"


def binding_rows(app_bindings: list[Binding], screen: Screen[Any]) -> list[tuple[str, str, str, str]]:
    """(where, key, action, what it does) for each described binding: the screen's own first, then the app's, then
    those of the focused widget (cursor keys and the like)."""
    own: list[tuple[str, str, str, str]] = []
    widgets: list[tuple[str, str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    declared = {b.action for cls in type(screen).__mro__ if cls.__module__.startswith("app.")
                for b in cls.__dict__.get("BINDINGS", ())
                if isinstance(b, Binding)}
    for active in screen.active_bindings.values():
        b = active.binding
        if not b.description or (b.key, b.action) in seen or b.key.startswith("super+") or active.node is screen.app:
            continue
        seen.add((b.key, b.action))
        mine = active.node is screen and b.action in declared
        row = ("here" if mine else widget_words(active.node), screen.app.get_key_display(b), b.description,
               b.tooltip)
        (own if mine else widgets).append(row)
    app_rows = []
    for b in app_bindings:
        if b.description and (b.key, b.action) not in seen:
            seen.add((b.key, b.action))
            app_rows.append(("everywhere", screen.app.get_key_display(b), b.description, b.tooltip))
    return own + app_rows + widgets


class HelpScreen(Screen[None]):
    SCREEN_TITLE = "Help"
    BINDINGS = [BACK,
                Binding("q", "app.pop_screen", "Back", show=False)]

    def __init__(self, source: Screen[Any]) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(f"Keys of the {screen_title(self.source).lower()} (ctrl+p: the command palette, every action "
                     "by name)", classes="context-line", markup=False)
        yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Action", "What it does")
        bindings = [b for b in type(self.app).BINDINGS if isinstance(b, Binding)]
        table.add_rows(binding_rows(bindings, self.source))
        table.focus()
