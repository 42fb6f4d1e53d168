"""The "why" of a proposal for one entity: for each flag the proposal changes (and any other flag whose answer it
changes, e.g. through a segment), the evaluation in the target NOW and WITH the change, each with the engine's trace
(matched segment and rule or rollout, bucket), so a reviewer sees why this entity's answer changes or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from app.insight.explain import Explanation, explain, parse_context
from app.screens.modals.prompt import Field, PromptModal
from app.widgets.explain import line_style
from gitstore.model.changes import Kind


@dataclass(frozen=True)
class FlagWhy:
    namespace: str
    flag_key: str
    now: Explanation
    changed: Explanation

    @property
    def differs(self) -> bool:
        return (self.now.summary, self.now.error) != (self.changed.summary, self.changed.error)


def compare(jobs: list[tuple[str, Any, Any]], changes: list[Any], entity: str,
            context: dict[str, str]) -> list[FlagWhy]:
    """Each namespace's (target now, target with the change) documents evaluated for the entity: the flags the
    proposal changes, then every other flag whose answer differs."""
    out = []
    for namespace, before, after in jobs:
        named = [c.key for c in changes if c.namespace == namespace and c.kind is Kind.FLAG]
        keys = list(dict.fromkeys(named + [f.key for f in before.flags] + [f.key for f in after.flags]))
        now = explain(before, keys, entity, context).results
        changed = explain(after, keys, entity, context).results
        for key, a, b in zip(keys, now, changed, strict=True):
            why = FlagWhy(namespace, key, a, b)
            if key in named or why.differs:
                out.append(why)
    return out


def _missing(explanation: Explanation) -> str:
    return f"✗ {explanation.summary}" if explanation.error else explanation.summary


def render(whys: list[FlagWhy], env: str) -> Text:
    text = Text()
    if not whys:
        return Text("The proposal changes no flag's answer for this entity.")
    for why in whys:
        verdict = "CHANGES" if why.differs else "unchanged"
        text.append(f"{why.namespace}/{why.flag_key}: {verdict}\n", "bold reverse" if why.differs else "bold")
        text.append(f"  {env} now:        {_missing(why.now)}\n")
        text.append(f"  with the change: {_missing(why.changed)}\n")
        for title, explanation in (("why now", why.now), ("why with the change", why.changed)):
            if explanation.why:
                text.append(f"  {title}:\n", "italic")
                for line in explanation.why:
                    text.append(f"    {line}\n", line_style(line))
        text.append("\n")
    text.rstrip()
    return text


def ask_entity(title: str, entity: str = "", context: str = "") -> PromptModal:
    """The evaluate screen's two fields: entity id (required) and `key=value, …` context."""
    def check_context(value: str) -> str | None:
        try:
            parse_context(value)
        except ValueError as error:
            return str(error)
        return None

    return PromptModal(title, [
        Field("entity", "Entity id", entity, check=lambda v: None if v.strip() else "required: the id you hash on"),
        Field("context", "Context", context, check=check_context, placeholder="key=value, key=value…")])


class WhyModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("enter", "dismiss", "Close", show=False)]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="dialog-scroll"):
                yield Static(self.body, id="why-body", classes="dialog-body", markup=False)
            yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self) -> None:
        self.dismiss()
