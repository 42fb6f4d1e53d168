"""The keys of the screen it was opened from and of the app, generated from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static


def binding_rows(app_bindings: list[Binding], screen: Screen) -> list[tuple[str, str, str]]:
    """(where, key, description) for each described binding: the screen's own first, then the app's, then those of
    the focused widget (cursor keys and the like)."""
    own: list[tuple[str, str, str]] = []
    widgets: list[tuple[str, str, str]] = []
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
        (own if mine else widgets).append(
            ("screen" if mine else type(active.node).__name__, screen.app.get_key_display(b), b.description))
    app_rows = []
    for b in app_bindings:
        if b.description and (b.key, b.action) not in seen:
            seen.add((b.key, b.action))
            app_rows.append(("app", screen.app.get_key_display(b), b.description))
    return own + app_rows + widgets


class HelpScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("q", "app.pop_screen", "Back", show=False)]

    def __init__(self, source: Screen) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield Static(f"Keys of {type(self.source).__name__} (ctrl+p: command palette with every action)",
                     classes="context-line")
        yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Key", "Action")
        bindings = [b for b in type(self.app).BINDINGS if isinstance(b, Binding)]
        table.add_rows(binding_rows(bindings, self.source))
        table.focus()
