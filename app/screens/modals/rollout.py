"""Edit one rollout of a boolean flag: a percentage threshold or a segment match, and the value it serves."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from app.screens.modals.form import Checks, FormModal
from app.screens.modals.rule import OPERATORS, parse_keys
from app.widgets.fields import field
from gitstore.format.validation_rules import percentage_problem
from gitstore.model.documents import Rollout, RolloutSegment, RolloutThreshold, SegmentOperator


class RolloutModal(FormModal[Rollout | None]):
    def __init__(self, rollout: Rollout | None, segments: set[str]) -> None:
        super().__init__("Edit rollout" if rollout else "New rollout")
        self.rollout = rollout or Rollout(threshold=RolloutThreshold(percentage=50, value=True))
        self.segments = segments

    def fields(self) -> ComposeResult:
        r = self.rollout
        kind = "segment" if r.segment else "threshold"
        value = part.value if (part := r.segment or r.threshold) else True
        yield field("Kind", Select([("threshold: a percentage of entities", "threshold"),
                                    ("segment: entities in segments", "segment")], value=kind, allow_blank=False,
                                   id="rollout-kind"))
        yield field("Percentage", Input(f"{r.threshold.percentage:g}" if r.threshold else "",
                                        id="rollout-percentage", placeholder="0 to 100"), id="percentage-row")
        yield Static(f"Known segments: {', '.join(sorted(self.segments)) or 'none'}", classes="hint segment-part",
                     markup=False)
        yield field("Segments", Input(", ".join(r.segment.keys) if r.segment else "", id="rollout-segments",
                                      placeholder="key, key…"), id="segments-row")
        yield field("Operator", Select(OPERATORS, value=r.segment.operator if r.segment else SegmentOperator.OR,
                                       allow_blank=False, id="rollout-operator"), id="operator-row")
        yield field("Value served", Select([("true", True), ("false", False)], value=value, allow_blank=False,
                                           id="rollout-value"))
        yield field("Description", Input(r.description or "", id="rollout-description", placeholder="optional"))

    def on_mount(self) -> None:
        self.show_kind()

    @on(Select.Changed, "#rollout-kind")
    def show_kind(self) -> None:
        """Only the fields of the chosen kind: a percentage, or segments and their operator."""
        threshold = self.query_one("#rollout-kind", Select).value == "threshold"
        self.query_one("#percentage-row").display = threshold
        for part in self.query("#segments-row, #operator-row, .segment-part"):
            part.display = not threshold

    def build(self) -> Rollout:
        value = bool(self.query_one("#rollout-value", Select).value)
        description = self.query_one("#rollout-description", Input).value.strip() or None
        checks = Checks()
        if self.query_one("#rollout-kind", Select).value == "threshold":
            percentage = checks.run("rollout-percentage", self.percentage)
            checks.done()
            return Rollout(description=description, threshold=RolloutThreshold(percentage=percentage, value=value))
        keys = checks.run("rollout-segments", lambda: parse_keys(self.query_one("#rollout-segments", Input).value,
                                                                 self.segments))
        checks.done()
        operator = self.query_one("#rollout-operator", Select).value
        return Rollout(description=description, segment=RolloutSegment(keys=keys, operator=operator, value=value))

    def percentage(self) -> float:
        text = self.query_one("#rollout-percentage", Input).value.strip().rstrip("%")
        try:
            percentage = float(text)
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
        if problem := percentage_problem(percentage):
            raise ValueError(problem)
        return percentage
