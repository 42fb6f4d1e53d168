"""Edit one variant; the attachment is JSON (an object, an array, or empty for none), checked before OK."""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Label

from app.jsontext import parse_json_text
from app.screens.modals.form import Checks, FormModal
from app.screens.modals.prompt import key_check
from app.widgets.fields import field
from app.widgets.text_box import TextBox
from gitstore.model.documents import Variant


def parse_attachment(text: str) -> Any:
    """The attachment from its JSON text: None when empty; a ValueError naming line and column when invalid."""
    return parse_json_text(text, "attachment", lambda value: isinstance(value, dict | list),
                           "must be a JSON object or array (or empty), not a single value")


class VariantModal(FormModal[Variant | None]):
    def __init__(self, variant: Variant | None, taken: set[str]) -> None:
        super().__init__(f"Variant {variant.key}" if variant else "New variant")
        self.variant = variant or Variant(key="")
        self.taken = taken

    def fields(self) -> ComposeResult:
        v = self.variant
        yield field("Key", Input(v.key, id="variant-key"))
        yield field("Name", Input(v.name or "", id="variant-name", placeholder="optional"))
        yield field("Description", Input(v.description or "", id="variant-description", placeholder="optional"))
        yield Label("Attachment (JSON object or array; empty for none; ctrl+j new line)", classes="section-title")
        text = json.dumps(v.attachment, indent=2) if v.attachment is not None else ""
        yield TextBox(text, id="variant-attachment", language=None, soft_wrap=True)

    def build(self) -> Variant:
        checks = Checks()
        key = self.query_one("#variant-key", Input).value.strip()
        problem = key_check(self.taken - {self.variant.key})(key)
        if problem:
            checks.fail("variant-key", problem)
        attachment = checks.run("variant-attachment",
                                lambda: parse_attachment(self.query_one("#variant-attachment", TextBox).text))
        checks.done()
        name = self.query_one("#variant-name", Input).value.strip() or None
        description = self.query_one("#variant-description", Input).value.strip() or None
        return self.variant.model_copy(update={"key": key, "name": name, "description": description,
                                               "attachment": attachment})
