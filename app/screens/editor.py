"""What the flag and segment editors share: `escape` keeps the edit as pending (when valid), `ctrl+g` leaves
without it, `ctrl+s` keeps it and opens the review. Nothing is committed here."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Static

from app.screens.base import BaseScreen
from app.session_edits import Resource
from gitstore.model.changes import Change, Kind


class ResourceEditorScreen(BaseScreen):
    KIND: Kind = Kind.FLAG
    ERROR_ID = "#editor-error"
    BINDINGS = [
        Binding("escape", "done", "Keep & back",
                tooltip="Keep the edit as pending and go back"),
        Binding("ctrl+g", "cancel", "Cancel",
                tooltip="Go back without keeping the edit"),
        Binding("ctrl+s", "review", "Review",
                tooltip="Keep the edit and review every pending edit"),
    ]

    @property
    def read(self) -> Resource:
        """The resource as this editor read it when it opened."""
        raise NotImplementedError

    def is_open(self) -> bool:
        """Still on the screen stack (under a dialog or the review too)."""
        return self in self.app.screen_stack

    def build(self) -> Any:
        """The edited resource; a ValueError says what is wrong with the form."""
        raise NotImplementedError

    def apply(self) -> bool:
        """Stage the edit when it changes anything; False (and the reason shown) when the form is invalid."""
        if not self.session.can_edit():
            return True
        try:
            value = self.build()
        except ValueError as error:
            self.query_one(self.ERROR_ID, Static).update(f"✗ {error}")
            return False
        if value != self.session.find(self.KIND, value.key):
            self.session.stage(Change(self.session.namespace, self.KIND, value.key, value))
        return True

    def action_done(self) -> None:
        if self.apply():
            self.app.pop_screen()

    def action_cancel(self) -> None:
        self.app.pop_screen()

    def action_review(self) -> None:
        if self.apply():
            self.console.action_review()
