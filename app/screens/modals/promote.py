"""Confirm a promotion, naming the target: the impact preview in the target environment (who would get a different
value there, as the review screen computes it) and the diff of the target's file; `y` promotes. Into a protected
target it says that it opens a proposal instead."""

from __future__ import annotations

from collections.abc import Sequence

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from app.insight.impact import Entity
from app.screens.modals.confirm import ConfirmModal
from app.session import PromotionPreview
from app.widgets.impact_panel import ImpactPanel


class PromoteModal(ConfirmModal):
    def __init__(self, key: str, target: str, namespace: str, preview: PromotionPreview,
                 sample: Sequence[Entity], population_size: int, protected: bool = False) -> None:
        diff = preview.diff
        if protected:  # direct commits are refused there: the promotion goes to a branch and is proposed
            intro = Text(f"{target} is protected: this opens a proposal (a branch of {target} receives "
                         f"{diff.edits} change(s) to {diff.path}; it merges once approved).\n")
            super().__init__(f"Propose promoting {key} to {target}?", intro, f"Propose for {target}")
        else:
            intro = Text(f"In {target}: {diff.edits} change(s) to {diff.path}, committed at once.\n")
            super().__init__(f"Promote {key} to {target}?", intro, f"Promote to {target}")
        self.namespace, self.target, self.preview = namespace, target, preview
        self.sample, self.population_size = sample, population_size

    def body(self) -> ComposeResult:
        yield from super().body()
        yield ImpactPanel(id="promote-impact")
        diff = self.preview.diff.diff
        yield Static(Syntax(diff, "diff", theme="ansi_dark", background_color="default").highlight(diff),
                     classes="dialog-body", id="promote-diff")

    def on_mount(self) -> None:
        super().on_mount()
        job = (self.namespace, self.preview.before, self.preview.after)
        self.query_one(ImpactPanel).compute([job], self.sample, self.population_size)
