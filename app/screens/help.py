"""The keys of the screen it was opened from and of the app, generated from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static


def binding_rows(app_bindings: list[Binding], screen: Screen) -> list[tuple[str, str, str]]:
    """(where, key, description) for each described binding of the screen, its focused widget chain and the app."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        b = active.binding
        where = "app" if active.node is screen.app else type(active.node).__name__
        if b.description and (b.key, b.action) not in seen:
            seen.add((b.key, b.action))
            rows.append((where, screen.app.get_key_display(b), b.description))
    for b in app_bindings:
        if b.description and (b.key, b.action) not in seen:
            seen.add((b.key, b.action))
            rows.append(("app", screen.app.get_key_display(b), b.description))
    return rows


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
