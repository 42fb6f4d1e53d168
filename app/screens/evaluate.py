"""Evaluate a flag (or every flag) of the namespace for an entity id and context, with the engine the evaluator
uses, over the document as edited (pending edits included). Issue 6 extends it with the full "why"."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Label, Static

from app.screens.base import BaseScreen
from app.widgets.fields import field


def parse_context(text: str) -> dict[str, str]:
    """`plan=pro, country=de` -> {"plan": "pro", "country": "de"}; raises ValueError naming the bad pair."""
    context: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"context pair {part!r} is not key=value")
        context[key.strip()] = value.strip()
    return context


def describe_result(result: Any) -> str:
    reason = getattr(result, "reason", "")
    reason = getattr(reason, "value", reason)
    segments = ", ".join(sorted(getattr(result, "segment_keys", ()) or ())) or "none"
    if hasattr(result, "enabled"):
        value = f"enabled={'true' if result.enabled else 'false'}"
    else:
        value = f"match={'yes' if result.match else 'no'}  variant={result.variant_key or '(none)'}"
    return f"{value}  reason={reason}  segments={segments}"


class EvaluateScreen(BaseScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+a", "evaluate_all", "All flags"),
    ]

    def __init__(self, flag: str | None) -> None:
        super().__init__()
        self.flag = flag

    def compose(self) -> ComposeResult:
        yield Static(self.context_line(), classes="context-line")
        with VerticalScroll(classes="form"):
            yield Label(f"Evaluate {'flag ' + self.flag if self.flag else 'every flag'} "
                        f"in {self.session.namespace} (pending edits included)", classes="section-title")
            yield field("Entity id", Input(id="entity", placeholder="user-123"))
            yield field("Context", Input(id="context", placeholder="key=value, key=value…"))
            yield Static("Enter evaluates.", id="eval-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#entity", Input).focus()

    def on_input_submitted(self) -> None:
        self.evaluate([self.flag] if self.flag else None)

    def action_evaluate_all(self) -> None:
        self.evaluate(None)

    def evaluate(self, flags: list[str] | None) -> None:
        try:
            context = parse_context(self.query_one("#context", Input).value)
        except ValueError as error:
            self.query_one("#eval-result", Static).update(f"✗ {error}")
            return
        entity = self.query_one("#entity", Input).value
        doc = self.session.document()
        if doc is None:
            self.query_one("#eval-result", Static).update("✗ the namespace has no valid document")
            return
        self.run_git(run_evaluation, doc, flags, entity, context, then=self.show, what="Evaluation failed",
                     exclusive=True, group="eval")

    def show(self, lines: list[str]) -> None:
        self.query_one("#eval-result", Static).update("\n".join(lines) or "no flags")


def run_evaluation(doc: Any, flags: list[str] | None, entity: str, context: dict[str, str]) -> list[str]:
    from evaluator.engine import EvaluationError, compile_namespace, evaluate

    compiled = compile_namespace(doc)
    lines = [f"⚠ {w}" for w in compiled.warnings]
    for key in flags if flags is not None else [f.key for f in doc.flags]:
        try:
            lines.append(f"{key}: {describe_result(evaluate(compiled, key, entity, context))}")
        except EvaluationError as error:
            lines.append(f"{key}: ✗ {error}")
    return lines
