"""The namespaces of the environment with flag and segment counts; open, create, rename, delete."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from app.screens.base import BACK, BaseScreen
from app.screens.modals.confirm import ConfirmModal
from app.screens.modals.prompt import Field, PromptModal, key_check, non_empty
from app.widgets.key_footer import KeyFooter
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import NamespaceInfo


class NamespacesScreen(BaseScreen):
    SCREEN_TITLE = "Namespace list"
    BINDINGS = [
        Binding("enter", "open", "Open",
                tooltip="Show the highlighted namespace's flags"),
        Binding("n", "create", "New",
                tooltip="Create a namespace"),
        Binding("r", "rename", "Rename",
                tooltip="Change the highlighted namespace's name"),
        Binding("d", "delete", "Delete",
                tooltip="Delete the highlighted namespace with its flags and segments"),
        BACK,
    ]

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        yield Static(f"Namespaces of {self.session.env}", classes="section-title")
        yield DataTable(id="namespaces", cursor_type="row")
        yield Static("", id="ns-status", classes="status-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "Key", "Name", "Flags", "Segments", "State")
        table.focus()
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("create", "rename", "delete") and not self.session.is_admin():
            return False
        return True

    def reload(self) -> None:
        self.run_git(self.session.load, then=lambda _: self.fill(), what="Could not read the environment",
                     exclusive=True, group="load")

    def fill(self) -> None:
        s = self.session
        table = self.query_one(DataTable)
        row = table.cursor_row if table.row_count else None
        table.clear()
        keys = s.namespace_keys()
        for key in keys:
            doc = s.document(namespace=key)
            problems = [p for p in s.problems(namespace=key) if p.severity == "error"]
            state = f"✗ {len(problems)} error(s)" if problems else "ok"
            pending = "*" if s.is_pending(Kind.NAMESPACE, key, key) else ("•" if key == s.namespace else "")
            table.add_row(pending, key, (doc.namespace.name or "") if doc else "", str(len(doc.flags)) if doc else "-",
                          str(len(doc.segments)) if doc else "-", state, key=key)
        if row is not None and keys:
            table.move_cursor(row=min(row, len(keys) - 1))
        elif s.namespace in keys:
            table.move_cursor(row=keys.index(s.namespace))
        self.query_one("#ns-status", Static).update(f"{len(keys)} namespace(s)  │  • current  * pending")
        self.update_context()

    def current(self) -> str | None:
        table = self.query_one(DataTable)
        keys = self.session.namespace_keys()
        return keys[table.cursor_row] if keys and 0 <= table.cursor_row < len(keys) else None

    def on_data_table_row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        key = self.current()
        if key:
            self.console.switch_to(namespace=key)

    def stage(self, key: str, info: NamespaceInfo | None) -> None:
        self.session.stage(Change(key, Kind.NAMESPACE, key, info))
        self.fill()

    def action_create(self) -> None:
        fields = [Field("key", "Key", check=key_check(set(self.session.namespace_keys()))),
                  Field("name", "Name", check=non_empty)]

        def created(values: dict[str, str] | None) -> None:
            if values:
                self.stage(values["key"], NamespaceInfo(key=values["key"], name=values["name"]))

        self.app.push_screen(PromptModal("New namespace", fields), created)

    def action_rename(self) -> None:
        key = self.current()
        doc = self.session.document(namespace=key) if key else None
        if key is None or doc is None:
            return

        def renamed(values: dict[str, str] | None) -> None:
            if values:
                self.stage(key, doc.namespace.model_copy(update={"name": values["name"]}))

        self.app.push_screen(PromptModal(f"Rename namespace {key}",
                                         [Field("name", "Name", doc.namespace.name or key, non_empty)]), renamed)

    def action_delete(self) -> None:
        key = self.current()
        if key is None:
            return
        if key == "default":
            self.show_error("Delete namespace", 'namespace "default" is protected')
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stage(key, None)

        self.app.push_screen(ConfirmModal("Delete namespace", f"Delete namespace {key!r} with all its flags and "
                                          "segments? (pending until committed)", "Delete"), answered)
