"""Impact preview (issue 6): how many of a sample population would get a different result after a change.

    population = build_population(after.document, n=10_000, seed=1)
    report = impact(before, after, "checkout", population)
    report.lines()  # ['12.4% of entities: blue -> green', ...]

The population is built from the namespace's own segments: entity ids and context values that satisfy each
constraint and values that do not. `parse_population`/`load_population` read real contexts from JSON lines of
`{"entityId": ..., "context": {...}}`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from evaluator.engine.errors import EvaluationError
from evaluator.engine.evaluate import evaluate
from evaluator.engine.goparse import go_parse_float, parse_instant
from evaluator.engine.model import CompiledNamespace
from evaluator.engine.results import BooleanResult, Reason, VariantResult
from gitstore.model.documents import ComparisonType, Constraint, Document

ABSENT = "absent"  # the flag does not exist on that side


@dataclass(frozen=True, slots=True)
class Entity:
    entity_id: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Shift:
    before: str
    after: str
    count: int
    share: float  # of the whole population, 0..1

    def __str__(self) -> str:
        return f"{self.share * 100:.1f}% of entities: {self.before} -> {self.after}"


@dataclass(frozen=True, slots=True)
class Impact:
    flag_key: str
    total: int
    changed: int
    shifts: list[Shift]  # largest first

    @property
    def share(self) -> float:
        return self.changed / self.total if self.total else 0.0

    def lines(self) -> list[str]:
        if not self.changed:
            return [f"no change for {self.total} entities"]
        return [str(s) for s in self.shifts]


def outcome_label(result: VariantResult | BooleanResult | None) -> str:
    """What a user sees of a result: the variant (or `no variant`, `disabled`), `true`/`false`, or `absent`."""
    if result is None:
        return ABSENT
    if isinstance(result, BooleanResult):
        return "true" if result.enabled else "false"
    if result.reason is Reason.FLAG_DISABLED:
        return "disabled"
    return result.variant_key or "no variant"


def _label(ns: CompiledNamespace | None, flag_key: str, entity: Entity) -> str:
    if ns is None or flag_key not in ns.flags:
        return ABSENT
    try:
        return outcome_label(evaluate(ns, flag_key, entity.entity_id, entity.context))
    except EvaluationError as exc:  # not expected from a compiled namespace; keep the preview alive
        return f"error: {exc.message}"


def impact(
    before: CompiledNamespace | None, after: CompiledNamespace | None, flag_key: str, population: Sequence[Entity]
) -> Impact:
    """Evaluate `flag_key` for every entity under both namespaces and group the entities whose outcome changes."""
    moves: Counter[tuple[str, str]] = Counter()
    for entity in population:
        old = _label(before, flag_key, entity)
        new = _label(after, flag_key, entity)
        if old != new:
            moves[(old, new)] += 1
    total = len(population)
    shifts = [Shift(a, b, n, n / total) for (a, b), n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Impact(flag_key, total, sum(moves.values()), shifts)


def _number_text(n: float) -> str:
    return str(int(n)) if n.is_integer() and abs(n) < 1e15 else repr(n)


def _time_text(nanos: int) -> str:
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        return "not a date"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _list(value: str) -> list[str]:
    try:
        items = orjson.loads(value)
    except orjson.JSONDecodeError:
        return []
    return [i if isinstance(i, str) else _number_text(float(i)) for i in items] if isinstance(items, list) else []


def candidates(c: Constraint) -> list[str]:
    """Values for the constraint's subject that match it and values that do not."""
    value, op = c.value, c.operator
    if c.type is ComparisonType.BOOLEAN:
        return ["true", "false", "maybe"]
    if op in ("isoneof", "isnotoneof"):
        return _list(value) + ["other", "0"]
    if c.type is ComparisonType.NUMBER:
        n = go_parse_float(value) if value else None
        return ["1", "not a number"] if n is None else [_number_text(x) for x in (n - 1, n, n + 1)]
    if c.type is ComparisonType.DATETIME:
        t = parse_instant(value) if value else None
        day = 86_400 * 10**9
        return ["2024-01-01T00:00:00Z", "soon"] if t is None else [_time_text(t + d) for d in (-day, 0, day)]
    if op in ("prefix", "suffix", "contains", "notcontains"):
        return [value + "-x", "x-" + value, "x" + value + "x", "unrelated"]
    return [value, value + "-other", "", "other"] if value else ["", "x"]


def build_population(doc: Document, n: int = 10_000, seed: int = 0) -> list[Entity]:
    """`n` entities whose ids and contexts exercise every constraint of the namespace (matching and not)."""
    rng = random.Random(seed)
    pools: dict[str, list[str]] = {}
    entity_ids: list[str] = []
    for segment in doc.segments:
        for c in segment.constraints:
            if c.type is ComparisonType.ENTITY_ID:
                entity_ids.extend(v for v in candidates(c) if v)
            else:
                pools.setdefault(c.property, []).extend(candidates(c))
    pools = {prop: sorted(set(values)) for prop, values in pools.items()}
    population = []
    for i in range(n):
        entity_id = rng.choice(entity_ids) if entity_ids and rng.random() < 0.3 else f"entity-{seed}-{i}"
        context = {prop: rng.choice(values) for prop, values in pools.items() if rng.random() < 0.85}
        population.append(Entity(entity_id, context))
    return population


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def parse_population(lines: Iterable[str | bytes], source: str = "population") -> list[Entity]:
    """JSON lines of `{"entityId": "...", "context": {...}}`; scalar context values become strings (as the server
    coerces them). Raises ValueError naming the source and line of the first bad entry."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{source}:{number}: not JSON: {exc}") from None
        if not isinstance(item, dict) or not isinstance(item.get("entityId"), str):
            raise ValueError(f'{source}:{number}: expected {{"entityId": "...", "context": {{...}}}}')
        context = item.get("context") or {}
        if not isinstance(context, dict) or any(isinstance(v, dict | list) for v in context.values()):
            raise ValueError(f"{source}:{number}: context must be an object of scalar values")
        out.append(Entity(item["entityId"], {k: _text(v) for k, v in context.items() if v is not None}))
    return out


def load_population(path: str | Path) -> list[Entity]:
    """`parse_population` of a file (the one place in the engine that reads a file, for `--sample FILE`)."""
    with open(path, "rb") as fh:
        return parse_population(fh, str(path))
