"""Distributions as a labelled bar (readable without colour) and the note about Flipt's normalisation."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from gitstore.model.documents import Distribution

FILLS = "█▓▒░"


def percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def bar_text(distributions: Sequence[Distribution], width: int = 40) -> Text:
    """`[████blue 50%████▓▓▓green 50%▓▓▓]`: each share drawn with its own fill and named inside or after."""
    kept = [d for d in distributions if d.rollout > 0]
    total = sum(d.rollout for d in kept)
    if not kept or total <= 0:
        return Text("[" + " " * width + "] no traffic split: the default variant is served")
    text = Text("[")
    used = 0
    for i, d in enumerate(kept):
        cells = width - used if i == len(kept) - 1 else round(width * d.rollout / total)
        used += cells
        fill = FILLS[i % len(FILLS)]
        text.append(fill * cells)
    text.append("] " + " / ".join(f"{d.variant} {percent(d.rollout)}" for d in kept))
    return text


def distribution_note(distributions: Sequence[Distribution]) -> str | None:
    """A warning when the rollouts do not total 100, saying what Flipt's normalisation will serve instead."""
    if not distributions:
        return None
    kept = [d for d in distributions if d.rollout > 0]
    total = sum(d.rollout for d in distributions)
    if not kept:
        return "⚠ every rollout is 0%: the rule matches and serves the default variant"
    if abs(total - 100) < 1e-9:
        return None
    shares = ", ".join(f"{d.variant} {percent(d.rollout)} → {percent(d.rollout * 100 / total)}" for d in kept)
    return f"⚠ rollouts total {percent(total)}, not 100%: normalisation scales them to 100% ({shares})"


class DistributionBar(Static):
    DEFAULT_CSS = "DistributionBar { height: auto; }"

    def show(self, distributions: Sequence[Distribution]) -> None:
        text = bar_text(distributions)
        note = distribution_note(distributions)
        if note:
            text.append("\n" + note, style="bold")
        self.update(text)
