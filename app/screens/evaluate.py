"""Evaluate and explain (`e` in the flag list): an entity id and context pairs (recent ones per namespace to pick
from), the result of the selected flag or of every flag (`ctrl+a`), and the "why" from the engine's trace. The
document evaluated is the namespace as edited (pending edits included); the engine is the evaluator's own."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from app.insight.explain import Evaluation, describe_result, explain, parse_context
from app.insight.recents import context_text
from app.screens.base import BACK, BaseScreen
from app.widgets.explain import ExplainView
from app.widgets.fields import field
from app.widgets.key_footer import KeyFooter

__all__ = ["EvaluateScreen", "describe_result", "parse_context"]


class EvaluateScreen(BaseScreen):
    SCREEN_TITLE = "Evaluate"
    BINDINGS = [
        BACK,
        Binding("ctrl+a", "evaluate_all", "All flags", priority=True,
                tooltip="Evaluate every flag of the namespace for this entity"),
        Binding("ctrl+f", "evaluate_flag", "This flag", show=False,
                tooltip="Evaluate only the flag this screen was opened for"),
        Binding("ctrl+r", "recent", "Recent",
                tooltip="Pick a recent entity and context"),
    ]

    def __init__(self, flag: str | None) -> None:
        super().__init__()
        self.flag = flag
        self.flags: list[str] | None = [flag] if flag else None
        self.evaluation: Evaluation | None = None
        self.asked: tuple[str, dict[str, str]] | None = None

    def compose(self) -> ComposeResult:
        yield self.context_bar()
        with VerticalScroll(classes="form"):
            yield Label(self.heading(), id="eval-title", classes="section-title")
            yield field("Entity id", Input(id="entity", placeholder="required: the id you hash on (a user id…)"))
            yield field("Context", Input(id="context", placeholder="key=value, key=value…"))
            yield Label("Recent (ctrl+r, then enter):", id="recent-label", classes="hint")
            yield OptionList(id="recent")
            yield Static("Enter evaluates; ctrl+a evaluates every flag.", id="eval-result", markup=False)
            yield ExplainView(id="explain")
        yield KeyFooter()

    def heading(self) -> str:
        what = f"flag {self.flags[0]}" if self.flags else "every flag"
        return f"Evaluate {what} in {self.session.namespace} (pending edits included)"

    def on_mount(self) -> None:
        self.show_recent()
        self.query_one("#entity", Input).focus()

    # ----- recent contexts ----------------------------------------------------------------------------------
    def show_recent(self) -> None:
        recents = self.console.insight.recents
        items = recents.recent(self.session.namespace)
        menu = self.query_one("#recent", OptionList)
        menu.clear_options()
        menu.add_options([Option(Text(r.label()), id=str(i)) for i, r in enumerate(items)])
        menu.display = bool(items)
        label = self.query_one("#recent-label", Label)
        label.display = bool(items) or bool(recents.error)
        label.update(f"⚠ {recents.error}" if recents.error else "Recent (ctrl+r, then enter):")

    def action_recent(self) -> None:
        menu = self.query_one("#recent", OptionList)
        if menu.option_count:
            menu.focus()
            if menu.highlighted is None:
                menu.highlighted = 0

    @on(OptionList.OptionSelected, "#recent")
    def recent_chosen(self, event: OptionList.OptionSelected) -> None:
        items = self.console.insight.recents.recent(self.session.namespace)
        index = int(event.option.id or 0)
        if index < len(items):
            self.query_one("#entity", Input).value = items[index].entity
            self.query_one("#context", Input).value = context_text(items[index].context)
            self.evaluate(self.flags)

    # ----- evaluating ---------------------------------------------------------------------------------------
    @on(Input.Submitted)
    def submitted(self) -> None:
        self.evaluate(self.flags)

    def action_evaluate_all(self) -> None:
        self.evaluate(None)

    def action_evaluate_flag(self) -> None:
        if self.flag:
            self.evaluate([self.flag])

    def evaluate(self, flags: list[str] | None, remember: bool = True) -> None:
        self.flags = flags
        self.query_one("#eval-title", Label).update(self.heading())
        try:
            context = parse_context(self.query_one("#context", Input).value)
        except ValueError as error:
            self.fail(f"✗ {error}")
            return
        entity = self.query_one("#entity", Input).value.strip()
        if not entity:  # Flipt refuses it too: rollouts and distributions hash on it
            self.fail("✗ Entity id: type one first (the id rollouts and distributions hash on, e.g. a user id)")
            self.query_one("#entity", Input).focus()
            return
        doc = self.session.document()
        if doc is None:
            self.fail(f"✗ namespace {self.session.namespace!r} has no valid document")
            return
        self.asked = (entity, context)
        self.run_git(explain, doc, flags, entity, context, then=lambda e: self.show(e, remember),
                     what="Evaluation failed", exclusive=True, group="eval")

    def fail(self, message: str) -> None:
        self.evaluation = None
        self.query_one("#eval-result", Static).update(message)
        self.query_one(ExplainView).show(None)

    def show(self, evaluation: Evaluation, remember: bool = True) -> None:
        self.evaluation = evaluation
        self.query_one("#eval-result", Static).update("\n".join(evaluation.summary_lines()) or "no flags")
        self.query_one(ExplainView).show(evaluation)
        if remember:
            self.console.insight.recents.remember(self.session.namespace, evaluation.entity, evaluation.context)
            self.show_recent()

    # ----- the document changed (pending edits, or the branch moved) -----------------------------------------
    def redraw(self) -> None:
        if self.evaluation is not None:
            self.evaluate(self.flags, remember=False)

    def reload(self) -> None:
        self.update_context()
        self.redraw()
