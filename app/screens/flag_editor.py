"""Edit one flag: name, description, type, enabled, lifecycle (owner, temporary or permanent, expiry: kept in the
metadata), the other metadata, variants and default variant, and the ordered rules
(variant flags) or rollouts (boolean flags). `escape` keeps the edit as pending; nothing is committed here."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from app.jsontext import parse_json_text
from app.screens.editor import ResourceEditorScreen
from app.screens.modals.rollout import RolloutModal
from app.screens.modals.rule import RuleModal
from app.screens.modals.variant import VariantModal
from app.widgets.distribution_bar import bar_text, distribution_note, percent
from app.widgets.fields import field
from app.widgets.key_footer import KeyFooter
from app.widgets.list_editor import ListEditor
from app.widgets.state_box import StateBox
from gitstore.model.changes import Kind
from gitstore.model.documents import Flag, FlagType, Rollout, Rule, SegmentOperator, Variant
from gitstore.model.lifecycle import FIELDS as LIFECYCLE_FIELDS
from gitstore.model.lifecycle import Kind as LifecycleKind
from gitstore.model.lifecycle import Lifecycle, lifecycle_problems, merged, parse_expires, without_lifecycle

LIFECYCLE_ATTRS = {"owner": "owner", "lifecycle": "kind", "expires": "expires"}  # metadata key -> Lifecycle field

NO_DEFAULT = "(none)"
NOT_SAID = "-"
LIFECYCLE_CHOICES = [("not said", NOT_SAID), ("temporary: to be removed", "temporary"),
                     ("permanent: kept", "permanent")]


def segments_text(keys: tuple[str, ...], operator: SegmentOperator) -> str:
    return f" {'AND' if operator is SegmentOperator.AND else 'OR'} ".join(keys)


def rule_row(i: int, rule: Rule) -> tuple[str, ...]:
    note = distribution_note(rule.distributions)
    split = bar_text(rule.distributions, width=10).plain if rule.distributions else "default variant"
    return (str(i + 1), segments_text(rule.segment.keys, rule.segment.operator), split + (" ⚠" if note else ""))


def rollout_row(i: int, rollout: Rollout) -> tuple[str, ...]:
    if rollout.threshold is not None:
        what, value = f"threshold {percent(rollout.threshold.percentage)}", rollout.threshold.value
    else:
        seg = rollout.segment
        what, value = f"segment {segments_text(seg.keys, seg.operator)}" if seg else "?", seg.value if seg else False
    return (str(i + 1), what, "true" if value else "false", rollout.description or "")


def is_metadata(value: Any) -> bool:
    return isinstance(value, dict) and all(v is not None for v in value.values())


def parse_metadata(text: str) -> dict[str, Any] | None:
    """A flag's metadata from its JSON text: None when empty; a ValueError naming line and column when invalid."""
    value: dict[str, Any] | None = parse_json_text(text, "metadata", is_metadata,
                                                   "must be a JSON object whose values are not null")
    return value


class FlagEditorScreen(ResourceEditorScreen):
    SCREEN_TITLE = "Flag editor"
    KIND = Kind.FLAG
    ERROR_ID = "#flag-error"
    BINDINGS = [
        Binding("e", "evaluate", "Evaluate", show=False,
                tooltip="Keep the edit and evaluate this flag"),
    ]

    def __init__(self, flag: Flag) -> None:
        super().__init__()
        self.flag = flag
        self.variants: list[Variant] = list(flag.variants)
        self.rules: list[Rule] = list(flag.rules)
        self.rollouts: list[Rollout] = list(flag.rollouts)
        default = flag.default_variant
        self.default = default.key if default else NO_DEFAULT

    @property
    def read(self) -> Flag:
        return self.flag

    def compose(self) -> ComposeResult:
        f = self.flag
        yield self.context_bar()
        with VerticalScroll(classes="form", id="flag-form"):
            yield Label(f"Flag {f.key}", classes="section-title")
            yield field("Name", Input(f.name, id="flag-name"))
            yield field("Description", Input(f.description or "", id="flag-description"))
            yield field("Type", Select([("variant flag", FlagType.VARIANT), ("boolean flag", FlagType.BOOLEAN)],
                                       value=f.type, allow_blank=False, id="flag-type"))
            yield field("State", StateBox("on (enabled)", "off (disabled)", f.enabled, id="flag-enabled"))
            yield Static("", id="served-note", classes="warning-text", markup=False)
            life = Lifecycle.of(f)
            yield field("Owner", Input(life.owner or "", placeholder="a person or team", id="flag-owner"))
            yield field("Lifecycle", Select(LIFECYCLE_CHOICES, value=life.kind.value if life.kind else NOT_SAID,
                                            allow_blank=False, id="flag-lifecycle"))
            yield field("Expires", Input(life.expires.isoformat() if life.expires else "", placeholder="YYYY-MM-DD "
                                         "(a temporary flag is stale after it)", id="flag-expires"))
            others = without_lifecycle(f.metadata)
            yield Label("Other metadata (JSON object, empty for none)", classes="section-title")
            yield TextArea(json.dumps(others, indent=1) if others else "", id="flag-metadata", soft_wrap=True)
            yield Label("Variants (in the list: a add, ⏎ edit, x remove)", id="variants-label",
                        classes="section-title")
            yield ListEditor("Key", "Name", "Attachment", id="variants")
            yield field("Default variant", Select([(NO_DEFAULT, NO_DEFAULT)], value=NO_DEFAULT, id="flag-default",
                                                  allow_blank=False), id="default-row")
            yield Label("Rules, in order (in the list: a add, ⏎ edit, x remove, [ ] move)", id="rules-label",
                        classes="section-title")
            yield ListEditor("#", "Segments", "Distribution", id="rules", movable=True)
            yield Static("", id="rule-notes", classes="warning-text")
            yield Label("Rollouts, in order (in the list: a add, ⏎ edit, x remove, [ ] move)",
                        id="rollouts-label", classes="section-title")
            yield ListEditor("#", "When", "Value", "Description", id="rollouts", movable=True)
            yield Static("", id="flag-error", classes="error-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show_lists()
        self.show_type()
        # The list comes first: its keys (a, x, enter) are commands, where in the name field they would be typed in
        boolean = self.query_one("#flag-type", Select).value == FlagType.BOOLEAN
        self.query_one("#rollouts" if boolean else "#variants", ListEditor).focus()
        if not self.session.can_edit():
            for widget in self.query("Input, Select, Checkbox, TextArea, ListEditor"):
                widget.disabled = True

    # ----- showing ------------------------------------------------------------------------------------------
    def show_type(self) -> None:
        boolean = self.query_one("#flag-type", Select).value == FlagType.BOOLEAN
        for selector in ("#rules", "#rules-label", "#rule-notes", "#default-row"):
            self.query_one(selector).display = not boolean
        for selector in ("#rollouts", "#rollouts-label"):
            self.query_one(selector).display = boolean
        for selector in ("#variants", "#variants-label"):  # boolean flags do not use variants
            self.query_one(selector).display = not boolean or bool(self.variants)

    def show_lists(self) -> None:
        self.query_one("#variants", ListEditor).set_items([
            (v.key, v.name or "", json.dumps(v.attachment)[:30] if v.attachment is not None else "")
            for v in self.variants])
        options = [(NO_DEFAULT, NO_DEFAULT)] + [(v.key, v.key) for v in self.variants]
        select = self.query_one("#flag-default", Select)
        if self.default not in {v.key for v in self.variants}:
            self.default = NO_DEFAULT
        select.set_options(options)
        select.value = self.default
        self.query_one("#rules", ListEditor).set_items([rule_row(i, r) for i, r in enumerate(self.rules)])
        notes = [f"rule {i + 1}: {n}" for i, r in enumerate(self.rules) if (n := distribution_note(r.distributions))]
        self.query_one("#rule-notes", Static).update("\n".join(notes))
        self.query_one("#rollouts", ListEditor).set_items([rollout_row(i, r) for i, r in enumerate(self.rollouts)])
        self.show_served()

    def show_served(self) -> None:
        """What a boolean flag really serves when its rollouts say otherwise than its switch (engine-evaluated)."""
        note = self.query_one("#served-note", Static)
        boolean = self.query_one("#flag-type", Select).value == FlagType.BOOLEAN
        if not boolean:
            note.display = False
            return
        flag = self.flag.model_copy(update={"type": FlagType.BOOLEAN, "rollouts": tuple(self.rollouts),
                                            "enabled": self.query_one("#flag-enabled", Checkbox).value})
        words = self.console.insight.served.words(self.session.document(), flag, short=False)
        note.display = words not in ("on", "off")
        note.update(f"⚠ {words}: the switch is only the value served when no rollout matches")

    @on(Checkbox.Changed, "#flag-enabled")
    def enabled_changed(self) -> None:
        self.show_served()

    @on(Select.Changed, "#flag-type")
    def type_changed(self) -> None:
        self.show_type()
        self.show_served()

    @on(Select.Changed, "#flag-default")
    def default_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self.default = str(event.value)

    # ----- list edits ---------------------------------------------------------------------------------------
    def known_segments(self) -> set[str]:
        doc = self.session.document()
        return {s.key for s in doc.segments} if doc else set()

    def variant_keys(self) -> set[str]:
        return {v.key for v in self.variants}

    @on(ListEditor.Request, "#variants")
    def variants_request(self, event: ListEditor.Request) -> None:
        index = event.index
        if event.what == "delete" and index is not None and (users := self.rules_using(self.variants[index].key)):
            self.query_one("#flag-error", Static).update(
                f"✗ variant {self.variants[index].key!r} is used by rule(s) {users}: change those first")
            return
        self.edit_list(event, self.variants, lambda current: VariantModal(current, self.variant_keys()),
                       renamed=self.rename_variant)

    @on(ListEditor.Request, "#rules")
    def rules_request(self, event: ListEditor.Request) -> None:
        self.edit_list(event, self.rules,
                       lambda current: RuleModal(current, self.known_segments(), self.variant_keys()))

    @on(ListEditor.Request, "#rollouts")
    def rollouts_request(self, event: ListEditor.Request) -> None:
        self.edit_list(event, self.rollouts, lambda current: RolloutModal(current, self.known_segments()))

    def edit_list(self, event: ListEditor.Request, items: list[Any], dialog: Callable[[Any], ModalScreen[Any]],
                  renamed: Callable[[str, str], None] | None = None) -> None:
        """Answer a list's request: move and delete at once, add and edit through the item's dialog (`renamed` is
        told when an edit changes an item's key)."""
        index = event.index
        if event.what == "move" and index is not None:
            items[index], items[index + event.delta] = items[index + event.delta], items[index]
            self.show_lists()
            event.editor.move_cursor(row=index + event.delta)
            return
        if event.what == "delete" and index is not None:
            del items[index]
            self.show_lists()
            return
        current = items[index] if index is not None else None

        def edited(value: Any) -> None:
            if value is None:
                return
            if index is None:
                items.append(value)
            else:
                if renamed is not None and current is not None and current.key != value.key:
                    renamed(current.key, value.key)
                items[index] = value
            self.show_lists()

        self.app.push_screen(dialog(current), edited)

    def rules_using(self, variant: str) -> str:
        return ", ".join(str(i + 1) for i, r in enumerate(self.rules) if any(d.variant == variant
                                                                              for d in r.distributions))

    def rename_variant(self, old: str, new: str) -> None:
        self.rules = [r.model_copy(update={"distributions": tuple(
            d.model_copy(update={"variant": new}) if d.variant == old else d for d in r.distributions)})
            for r in self.rules]
        if self.default == old:
            self.default = new

    # ----- saving ---------------------------------------------------------------------------------------------
    def build(self) -> Flag:
        name = self.query_one("#flag-name", Input).value.strip()
        if not name:
            raise ValueError("name must not be empty")
        kind = self.query_one("#flag-type", Select).value
        metadata = self.metadata()
        variants = tuple(v.model_copy(update={"default": v.key == self.default}) for v in self.variants)
        return self.flag.model_copy(update={
            "name": name,
            "description": self.query_one("#flag-description", Input).value.strip() or None,
            "type": kind,
            "enabled": self.query_one("#flag-enabled", Checkbox).value,
            "metadata": metadata,
            "variants": variants,
            "rules": tuple(self.rules),
            "rollouts": tuple(self.rollouts) if kind == FlagType.BOOLEAN else (),
        })

    def metadata(self) -> dict[str, Any] | None:
        """The lifecycle fields merged into the other metadata. A lifecycle key typed in the JSON box counts when
        its field was left as it was (the field wins otherwise); a bad value is a ValueError naming it."""
        others = parse_metadata(self.query_one("#flag-metadata", TextArea).text) or {}
        typed = {k: others[k] for k in LIFECYCLE_FIELDS if k in others}
        for name, message in lifecycle_problems(typed):
            raise ValueError(f"metadata: {name}: {message}")
        fields, before = self.lifecycle(), Lifecycle.of(self.flag)
        out = merged(self.flag.metadata, others, fields)
        for name, value in typed.items():
            if getattr(fields, LIFECYCLE_ATTRS[name]) == getattr(before, LIFECYCLE_ATTRS[name]):
                out = {**(out or {}), name: value}  # in its place when it had one
        return out

    def lifecycle(self) -> Lifecycle:
        """The lifecycle fields; a ValueError naming the field when one is invalid."""
        owner = self.query_one("#flag-owner", Input).value.strip() or None
        kind = self.query_one("#flag-lifecycle", Select).value
        expires = self.query_one("#flag-expires", Input).value.strip()
        try:
            date = parse_expires(expires) if expires else None
        except ValueError as exc:
            raise ValueError(f"expires: {exc}") from None
        return Lifecycle(owner=owner, kind=LifecycleKind(str(kind)) if kind != NOT_SAID else None, expires=date)

    def action_evaluate(self) -> None:
        from app.screens.evaluate import EvaluateScreen

        if self.apply():
            self.app.push_screen(EvaluateScreen(self.flag.key))
