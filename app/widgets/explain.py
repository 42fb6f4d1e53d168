"""The "why" of evaluations: each flag's result, then its trace (rules or rollouts in order, segments, constraints
with the context value, operator, constraint value and outcome, bucket and ranges, the reason). Outcomes are words
("match", "no match", "value missing"); colour only underlines them."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from app.insight.explain import Evaluation

MAX_FLAGS = 100  # traces shown at once when every flag is evaluated


def line_style(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("result:"):
        return "bold"
    if stripped.startswith("flag "):
        return "bold underline"
    if "no match" in line or "dropped" in line:
        return "dim"
    if line.endswith("match") or ": match" in line or "<- bucket" in line:
        return "bold"
    return ""


def render_evaluation(evaluation: Evaluation, limit: int = MAX_FLAGS) -> Text:
    text = Text()
    for warning in evaluation.warnings:
        text.append(f"⚠ {warning}\n", "bold")
    for result in evaluation.results[:limit]:
        if result.error:
            text.append(f"flag {result.flag_key}: ✗ {result.summary}\n", "bold")
        for line in result.why:
            text.append(line + "\n", line_style(line))
        text.append("\n")
    hidden = len(evaluation.results) - limit
    if hidden > 0:
        text.append(f"… {hidden} more flags: evaluate one flag to see its why\n", "italic")
    text.rstrip()
    return text


class ExplainView(Static):
    DEFAULT_CSS = """
    ExplainView { height: auto; padding: 0 0 0 1; border-left: solid $primary; }
    """

    def show(self, evaluation: Evaluation | None) -> None:
        self.update(render_evaluation(evaluation) if evaluation is not None else "")
