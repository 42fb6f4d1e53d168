"""Impact preview of pending edits: which flags a change affects (the flag itself, or a segment it uses) and how
the results of a sample population move, through `evaluator.engine.impact`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.engine.impact import ABSENT, Entity, Impact, Shift, build_population, impact, load_population
from gitstore.model.documents import Document

POPULATION_SIZE = 10_000
SEED = 1
MAX_FLAGS = 25  # flags previewed per namespace; a segment used by thousands of flags is reported by count
CHUNK = 250  # entities evaluated between two yields to the event loop's thread (about half a millisecond)

__all__ = ["POPULATION_SIZE", "Entity", "FlagImpact", "affected_flags", "compute_impacts", "load_sample",
           "population"]


def load_sample(path: str | Path) -> list[Entity]:
    """`--sample FILE`: JSON lines of {entityId, context}; ValueError naming the file and line of a bad entry."""
    try:
        return load_population(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text: {exc.reason}") from None


def affected_flags(before: Document | None, after: Document | None) -> list[str]:
    """Flags whose definition differs, then flags that use a segment that differs (after's order, then removed)."""
    old_flags = {f.key: f for f in before.flags} if before else {}
    new_flags = {f.key: f for f in after.flags} if after else {}
    old_segments = {s.key: s for s in before.segments} if before else {}
    new_segments = {s.key: s for s in after.segments} if after else {}
    changed_segments = {k for k in old_segments.keys() | new_segments.keys()
                        if old_segments.get(k) != new_segments.get(k)}
    keys = list(new_flags) + [k for k in old_flags if k not in new_flags]
    out = []
    for key in keys:
        old, new = old_flags.get(key), new_flags.get(key)
        uses = (old.segment_keys() if old else set()) | (new.segment_keys() if new else set())
        if old != new or uses & changed_segments:
            out.append(key)
    return out


def population(doc: Document | None, sample: Sequence[Entity] = (), size: int = POPULATION_SIZE) -> list[Entity]:
    """`size` entities built from the namespace's segments and constraints, plus the sample (real contexts)."""
    built = build_population(doc, size, SEED) if doc is not None and size > 0 else []
    return built + list(sample)


@dataclass(frozen=True)
class FlagImpact:
    namespace: str
    flag_key: str
    impact: Impact

    def lines(self) -> list[str]:
        return self.impact.lines()

    @property
    def removed_serving(self) -> str | None:
        """A removed flag that served one value to every entity: that value (its callers, keeping it in the code,
        see no change); None otherwise."""
        shifts = self.impact.shifts
        if len(shifts) == 1 and shifts[0].after == ABSENT and shifts[0].before != ABSENT and \
                shifts[0].count == self.impact.total:
            return shifts[0].before
        return None


def chunked_impact(before: Any, after: Any, flag_key: str, people: Sequence[Entity],
                   between: Callable[[], bool] | None = None) -> Impact | None:
    """`impact()` in chunks of `CHUNK` entities, calling `between()` after each: it yields the GIL (so a console
    computing in a thread still answers keystrokes at once) and returns False to abandon the work (None)."""
    moves: Counter[tuple[str, str]] = Counter()
    for start in range(0, len(people), CHUNK):
        part = impact(before, after, flag_key, people[start:start + CHUNK])
        moves.update({(shift.before, shift.after): shift.count for shift in part.shifts})
        if between is not None and not between():
            return None
    total = len(people)
    shifts = [Shift(a, b, n, n / total) for (a, b), n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Impact(flag_key, total, sum(moves.values()), shifts)


def compute_impacts(namespace: str, before: Document | None, after: Document | None,
                    sample: Sequence[Entity] = (), size: int = POPULATION_SIZE,
                    between: Callable[[], bool] | None = None, affected: list[str] | None = None) -> list[FlagImpact]:
    """The impact of turning `before` into `after` on every affected flag (CPU only: run it in a worker, with
    `between` yielding and saying whether to go on). `affected`: `affected_flags(before, after)`, when the caller
    has it already."""
    from evaluator.engine import compile_namespace

    flags = (affected if affected is not None else affected_flags(before, after))[:MAX_FLAGS]
    if not flags:
        return []
    old = compile_namespace(before) if before is not None else None
    new = compile_namespace(after) if after is not None else None
    people = population(after if after is not None else before, sample, size)
    out: list[FlagImpact] = []
    for key in flags:
        found = chunked_impact(old, new, key, people, between)
        if found is None:
            return out
        out.append(FlagImpact(namespace, key, found))
    return out
