"""What a boolean flag really serves, in words, next to its on/off switch (issue 14 #6).

A boolean flag's `enabled` is only what it serves when no rollout matches: its rollouts are evaluated first, whether
the flag is on or off. So "off" can still serve `true` to everyone (a 100% threshold rollout). The answer comes
from the evaluator's engine: the flag is evaluated for a sample population built from the namespace's own
segments (`evaluator.engine.impact.build_population`), and what they get is compared with the switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitstore.model.documents import Document, Flag, FlagType

SAMPLE = 1000  # entities; a threshold below 100% misses one of them with near certainty
SEED = 7


@dataclass(frozen=True)
class Served:
    """Of the sample, how many got the value opposite to the switch."""

    other: int
    total: int

    def words(self, enabled: bool, short: bool = False) -> str:
        state, value = ("on", "false") if enabled else ("off", "true")
        if not self.other:
            return state
        everyone = self.other == self.total
        if short:
            return f"{state} ({'all' if everyone else 'some'} get {value})"
        return f"{state} · rollouts still serve {value} to {'everyone' if everyone else 'some entities'}"


def may_differ(flag: Flag) -> bool:
    """Whether any rollout could serve the value opposite to the switch (only then is evaluation needed)."""
    def value(r: Any) -> bool:
        return (r.threshold or r.segment).value if (r.threshold or r.segment) else flag.enabled

    return flag.type is FlagType.BOOLEAN and any(value(r) != flag.enabled for r in flag.rollouts)


def served(doc: Document | None, flag: Flag, population: list[Any] | None = None) -> Served | None:
    """Evaluate a boolean flag over the sample (None for a variant flag or one whose rollouts all serve its
    switch's value)."""
    from evaluator.engine import compile_namespace, evaluate_boolean
    from evaluator.engine.impact import build_population

    if not may_differ(flag):
        return None
    used = flag.segment_keys()
    segments = tuple(s for s in doc.segments if s.key in used) if doc is not None else ()
    mini = Document(flags=(flag,), segments=segments)
    people = population if population is not None else build_population(mini, SAMPLE, SEED)
    compiled = compile_namespace(mini)
    other = sum(1 for p in people
                if evaluate_boolean(compiled, flag.key, p.entity_id, p.context).enabled != flag.enabled)
    return Served(other, len(people))


class ServedCache:
    """Answers per flag version, keyed by what `served` reads (the flag's key, state and rollouts, and the segments
    object) rather than by the flag object: a staged copy of an unchanged flag (every toggle and editor change
    makes one) finds the answer instead of evaluating the sample again on the UI thread."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, bool, str, int], tuple[Any, Served | None]] = {}

    @staticmethod
    def _key(doc: Document | None, flag: Flag) -> tuple[tuple[str, bool, str, int], Any]:
        segments = doc.segments if doc is not None else ()
        return (flag.key, flag.enabled, repr(flag.rollouts), id(segments)), segments

    def get(self, doc: Document | None, flag: Flag) -> tuple[bool, Served | None]:
        """(known, answer) without computing."""
        if not may_differ(flag):
            return True, None
        found = self._known.get(self._key(doc, flag)[0])
        return (True, found[1]) if found is not None else (False, None)

    def compute(self, doc: Document | None, flag: Flag) -> Served | None:
        key, segments = self._key(doc, flag)
        found = self._known.get(key)
        if found is None:
            answer = served(doc, flag)
            self._known[key] = found = (segments, answer)  # the segments are kept, so their id stays theirs
            if len(self._known) > 20_000:
                self._known.pop(next(iter(self._known)))
        return found[1]

    def words(self, doc: Document | None, flag: Flag, short: bool = True) -> str:
        answer = self.compute(doc, flag)
        return answer.words(flag.enabled, short) if answer else ("on" if flag.enabled else "off")
