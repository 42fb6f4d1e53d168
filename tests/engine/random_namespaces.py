"""A seeded generator of random namespaces and entities for the differential test against Flipt's Rust engine.

It uses every constraint type and operator, OR/AND rules with repeated keys, malformed constraints, zero and
uneven rollouts, defaults, attachments, disabled flags, thresholds and segment rollouts. Values stay inside what
both engines read alike where the difference is not a matter of the algorithm (flipt-compatibility §5): small integers,
`true`/`false`, whole-second RFC 3339 times, no surrounding white space, non-empty entity ids. Boundary rounding
and disabled boolean flags are left in: the test detects and counts those cases.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from engine_docs import make_doc

from gitstore.model.documents import OPERATORS, ComparisonType, Document

STRINGS = ["pro", "free", "enterprise", "pro-plus", "FR", "de", "a@x.io", "b@y.org", "", "Pro"]
FRAGMENTS = ["pro", "e", "@x", ".org", "FR", "-", "a", "plus"]
PROPS = {
    ComparisonType.STRING: ["plan", "country", "email"],
    ComparisonType.NUMBER: ["age", "seats"],
    ComparisonType.BOOLEAN: ["beta", "admin"],
    ComparisonType.DATETIME: ["signup"],
    ComparisonType.ENTITY_ID: ["entity"],
}
SPLITS = [[], [100], [50, 50], [10, 20, 70], [20, 30], [0.1, 0.2, 99.7], [0, 100], [25, 25, 25], [33.33, 33.33, 33.34]]


def _time(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    hour = rng.choice([0, 6, 12, 23])
    zone = rng.choice(["Z", "Z", "+02:00", "-05:30"])
    return f"2024-03-{day:02d}T{hour:02d}:{rng.choice([0, 30]):02d}:{rng.choice([0, 1, 59]):02d}{zone}"


def _entity(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"user-{rng.randint(1, 400)}"
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_@.") for _ in range(rng.randint(1, 16)))


def _value(rng: random.Random, ctype: ComparisonType, op: str) -> str:
    if op in ("empty", "notempty", "present", "notpresent", "true", "false"):
        return ""
    if op in ("isoneof", "isnotoneof"):
        if ctype is ComparisonType.NUMBER:
            return json.dumps(rng.sample(range(-5, 40), rng.randint(1, 4)), separators=(",", ":"))
        pool = [_entity(rng) for _ in range(3)] if ctype is ComparisonType.ENTITY_ID else STRINGS[:-2]
        return json.dumps(rng.sample(pool, rng.randint(1, 3)), separators=(",", ":"))
    if ctype is ComparisonType.NUMBER:
        return str(rng.randint(-5, 40))
    if ctype is ComparisonType.DATETIME:
        return _time(rng)
    if ctype is ComparisonType.ENTITY_ID:
        return rng.choice([f"user-{rng.randint(1, 400)}", "user-", "1", "-1"])
    if op in ("prefix", "suffix", "contains", "notcontains"):
        return rng.choice(FRAGMENTS)
    return rng.choice(STRINGS[:-2])


def _malformed(rng: random.Random) -> dict[str, Any]:
    return rng.choice([
        {"type": "NUMBER_COMPARISON_TYPE", "property": "age", "operator": "gt", "value": "lots"},
        {"type": "STRING_COMPARISON_TYPE", "property": "plan", "operator": "isoneof", "value": "pro,free"},
        {"type": "DATETIME_COMPARISON_TYPE", "property": "signup", "operator": "lt", "value": "soon"},
    ])


def _kinds(rng: random.Random) -> Iterator[tuple[ComparisonType, str]]:
    """Every (type, operator) pair in turn, each round shuffled, so every operator is used."""
    pairs = [(t, op) for t, ops in OPERATORS.items() for op in ops]
    while True:
        rng.shuffle(pairs)
        yield from pairs


def _segment(rng: random.Random, key: str, kinds: Iterator[tuple[ComparisonType, str]]) -> dict[str, Any]:
    constraints = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        if rng.random() < 0.03:
            constraints.append(_malformed(rng))
            continue
        ctype, op = next(kinds)
        constraints.append(
            {"type": ctype.value, "property": rng.choice(PROPS[ctype]), "operator": op, "value": _value(rng, ctype, op)}
        )
    return {"key": key, "match_type": rng.choice(["ALL_MATCH_TYPE", "ANY_MATCH_TYPE"]), "constraints": constraints}


def _refs(rng: random.Random, segments: list[str]) -> dict[str, Any]:
    keys = [rng.choice(segments) for _ in range(rng.choice([1, 1, 2, 3]))]
    return {"keys": keys, "operator": rng.choice(["OR_SEGMENT_OPERATOR", "AND_SEGMENT_OPERATOR"])}


def _split(rng: random.Random) -> list[float]:
    if rng.random() < 0.7:
        return rng.choice(SPLITS)
    parts = [rng.choice([0, rng.randint(1, 60), round(rng.uniform(0.1, 40), 2)]) for _ in range(rng.randint(1, 4))]
    total = sum(parts)
    return [p * 100 / total if total > 100 else p for p in parts]


def _variant_flag(rng: random.Random, key: str, segments: list[str]) -> dict[str, Any]:
    names = [f"v{i}" for i in range(rng.randint(1, 4))]
    variants = [{"key": n} for n in names]
    for v in variants:
        if rng.random() < 0.4:
            v["attachment"] = rng.choice([{"color": v["key"], "n": rng.randint(0, 9)}, [1, "two"], {"html": "<b>&"}])
    if rng.random() < 0.3:
        rng.choice(variants)["default"] = True
    rules = []
    for _ in range(rng.randint(0, 3)):
        split = _split(rng)
        rules.append({"segment": _refs(rng, segments),
                      "distributions": [{"variant": rng.choice(names), "rollout": r} for r in split]})
    return {"key": key, "enabled": rng.random() < 0.85, "variants": variants, "rules": rules}


def _boolean_flag(rng: random.Random, key: str, segments: list[str]) -> dict[str, Any]:
    rollouts = []
    for _ in range(rng.randint(0, 3)):
        if rng.random() < 0.5:
            pct = rng.choice([0, 5, 50, 70, 100, rng.randint(0, 100), round(rng.uniform(0, 100), 1)])
            rollouts.append({"threshold": {"percentage": pct, "value": rng.random() < 0.5}})
        else:
            rollouts.append({"segment": {**_refs(rng, segments), "value": rng.random() < 0.5}})
    return {"key": key, "enabled": rng.random() < 0.7, "rollouts": rollouts}


def random_namespace(seed: int, n_flags: int = 50, n_segments: int = 30) -> Document:
    rng = random.Random(seed)
    segment_keys = [f"seg-{i}" for i in range(n_segments)]
    kinds = _kinds(rng)
    segments = [_segment(rng, k, kinds) for k in segment_keys]
    flags = [
        _boolean_flag(rng, f"flag-{seed}-{i}", segment_keys) if rng.random() < 0.4
        else _variant_flag(rng, f"flag-{seed}-{i}", segment_keys)
        for i in range(n_flags)
    ]
    return make_doc(flags, segments, namespace=f"ns{seed}")


def random_inputs(seed: int, n: int) -> list[tuple[str, dict[str, str]]]:
    """Entities with contexts that hit the generator's properties (sometimes missing, sometimes unparseable)."""
    rng = random.Random(seed * 7919 + 1)
    out = []
    for _ in range(n):
        ctx: dict[str, str] = {}
        if rng.random() < 0.8:
            ctx["plan"] = rng.choice(STRINGS)
        if rng.random() < 0.5:
            ctx["country"] = rng.choice(STRINGS)
        if rng.random() < 0.5:
            ctx["email"] = rng.choice(["a@x.io", "b@y.org", "c@x.io.org", "pro@e.de"])
        for prop in ("age", "seats"):
            if rng.random() < 0.7:
                ctx[prop] = rng.choice([str(rng.randint(-5, 40)), str(rng.randint(-5, 40)), "abc"])
        for prop in ("beta", "admin"):
            if rng.random() < 0.7:
                ctx[prop] = rng.choice(["true", "false", "foo"])
        if rng.random() < 0.7:
            ctx["signup"] = rng.choice([_time(rng), _time(rng), "not a date"])
        out.append((_entity(rng), ctx))
    return out
