"""Edit one rule of a variant flag: its segments (AND/OR) and its distributions, shown as a bar as you type."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Select, Static

from app.screens.modals.form import Checks, FormModal
from app.widgets.distribution_bar import DistributionBar
from app.widgets.fields import field
from gitstore.format.validation_rules import percentage_problem
from gitstore.model.documents import Distribution, Rule, SegmentOperator, SegmentRef

OPERATORS = [("OR: any segment matches", SegmentOperator.OR), ("AND: every segment matches", SegmentOperator.AND)]


def parse_keys(text: str, known: set[str], what: str = "segment") -> tuple[str, ...]:
    keys = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if not keys:
        raise ValueError(f"name at least one {what}")
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ValueError(f"unknown {what}(s): {', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'})")
    return keys


def parse_distributions(text: str, variants: set[str]) -> tuple[Distribution, ...]:
    """`blue=50, green=50` -> distributions; every variant must exist, every rollout be a number in 0..100 and
    their total at most 100% (a file may hold more, which Flipt scales down; the dialog never writes it)."""
    result: list[Distribution] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        variant, sep, number = part.partition("=")
        variant = variant.strip()
        if not sep:
            raise ValueError(f"distribution {part!r} is not variant=percent")
        if variant not in variants:
            raise ValueError(f"distribution names unknown variant {variant!r}")
        try:
            rollout = float(number.strip().rstrip("%"))
        except ValueError:
            raise ValueError(f"rollout of {variant!r} is not a number: {number.strip()!r}") from None
        if problem := percentage_problem(rollout, "a rollout"):
            raise ValueError(f"rollout of {variant!r}: {problem}")
        result.append(Distribution(variant=variant, rollout=rollout))
    total = sum(d.rollout for d in result)
    if total > 100 + 1e-9:
        raise ValueError(f"the rollouts total {total:g}%: at most 100% can be shared out")
    return tuple(result)


def distributions_text(distributions: tuple[Distribution, ...]) -> str:
    return ", ".join(f"{d.variant}={d.rollout:g}" for d in distributions)


class RuleModal(FormModal[Rule | None]):
    def __init__(self, rule: Rule | None, segments: set[str], variants: set[str]) -> None:
        super().__init__("Edit rule" if rule else "New rule")
        self.rule = rule
        self.segments, self.variants = segments, variants

    def fields(self) -> ComposeResult:
        rule = self.rule
        yield Static(f"Known segments: {', '.join(sorted(self.segments)) or 'none'}", classes="hint", markup=False)
        yield field("Segments", Input(", ".join(rule.segment.keys) if rule else "", id="rule-segments",
                                      placeholder="key, key…"))
        yield field("Operator", Select(OPERATORS, value=rule.segment.operator if rule else SegmentOperator.OR,
                                       allow_blank=False, id="rule-operator"))
        yield Static(f"Variants: {', '.join(sorted(self.variants)) or 'none'}", classes="hint", markup=False)
        yield field("Distributions", Input(distributions_text(rule.distributions) if rule else "",
                                           id="rule-distributions", placeholder="variant=percent, …"))
        yield DistributionBar(id="rule-bar")

    def on_mount(self) -> None:
        self.update_bar()

    @on(Input.Changed, "#rule-distributions")
    def update_bar(self) -> None:
        """The bar of what is typed so far; while it does not parse, the bar waits (the problem is shown once, in
        the dialog's problem list, when the dialog is submitted)."""
        try:
            dists = parse_distributions(self.query_one("#rule-distributions", Input).value, self.variants)
        except ValueError:
            self.query_one("#rule-bar", DistributionBar).update("[ … ] (not a valid distribution yet)")
            return
        self.query_one("#rule-bar", DistributionBar).show(dists)

    def build(self) -> Rule:
        checks = Checks()
        keys = checks.run("rule-segments", lambda: parse_keys(self.query_one("#rule-segments", Input).value,
                                                              self.segments))
        dists = checks.run("rule-distributions", lambda: parse_distributions(
            self.query_one("#rule-distributions", Input).value, self.variants))
        checks.done()
        operator = self.query_one("#rule-operator", Select).value
        return Rule(segment=SegmentRef(keys=keys or (), operator=operator), distributions=dists or ())
