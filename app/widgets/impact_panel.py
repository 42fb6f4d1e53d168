"""The impact preview of pending edits: for each affected flag, the share of a sample population whose result
changes and from what to what. Computed in a thread worker (pure CPU, no Git), so typing never waits for it; a newer
request supersedes an older one."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static
from textual.worker import NoActiveWorker, Worker, WorkerState, get_current_worker

from app.insight.impact import MAX_FLAGS, Entity, FlagImpact, affected_flags, compute_impacts


def render_impacts(impacts: list[FlagImpact], population: int, skipped: int = 0) -> Text:
    text = Text(f"Impact on {population:,} sample entities\n", "bold")
    if not impacts:
        text.append("no flag is affected by these edits\n")
    for item in impacts:
        text.append(f"{item.namespace}/{item.flag_key}: ", "bold")
        kept = item.removed_serving
        if kept is not None:  # a stale flag's cleanup: the code keeps that value
            text.append(f"no change for its callers' values: removed, it served {kept!r} to every entity "
                        f"(keep {kept!r} in the code)\n")
            continue
        text.append(f"{item.impact.share * 100:.1f}% change\n" if item.impact.changed else "no change\n")
        for line in item.lines() if item.impact.changed else ():
            text.append(f"  {line}\n")
    if skipped:
        text.append(f"… and {skipped:,} more affected flags (the first {MAX_FLAGS} per namespace are previewed)\n")
    text.rstrip()
    return text


def _go_on() -> bool:
    """Between chunks: give the event loop's thread the GIL, and stop when a newer request superseded this one."""
    time.sleep(0)
    try:
        return not get_current_worker().is_cancelled
    except NoActiveWorker:
        return True


def run_impacts(jobs: Sequence[tuple[str, Any, Any]], sample: Sequence[Entity],
                size: int) -> tuple[list[FlagImpact], int]:
    """Every namespace's previewed impacts, and how many affected flags were left out."""
    impacts: list[FlagImpact] = []
    skipped = 0
    for namespace, before, after in jobs:
        affected = affected_flags(before, after)
        impacts += compute_impacts(namespace, before, after, sample, size, _go_on, affected)
        skipped += max(0, len(affected) - MAX_FLAGS)
    return impacts, skipped


class ImpactPanel(Static):
    DEFAULT_CSS = """
    ImpactPanel { height: auto; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.impacts: list[FlagImpact] | None = None  # None while computing
        self.state = "idle"
        self.population = 0

    def compute(self, jobs: Sequence[tuple[str, Any, Any]], sample: Sequence[Entity], size: int) -> None:
        self.display = bool(jobs)  # nothing to preview: no panel (and no blank line where it was)
        if not jobs:
            self.impacts, self.state = [], "done"
            self.update("")
            return
        self.impacts, self.state = None, "computing"
        self.update(Text("Impact: computing…", "italic"))
        self.population = size + len(sample)
        self.run_worker(lambda: run_impacts(jobs, sample, size), thread=True, exclusive=True, group="impact",
                        exit_on_error=False, description="impact preview")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "impact":
            return
        event.stop()
        if event.state is WorkerState.SUCCESS and event.worker.result is not None:
            self.impacts, skipped = event.worker.result
            self.state = "done"
            self.update(render_impacts(self.impacts, self.population, skipped))
        elif event.state is WorkerState.ERROR:
            self.impacts, self.state = [], "error"
            self.update(Text(f"Impact: could not compute ({event.worker.error})", "bold"))
