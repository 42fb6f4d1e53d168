"""The limit check's fast answer (`checked_json`, a JSON dump plus byte scans) against the walk (`check_data`) it
stands in for: it may only ever say "within the limits" when the walk finds nothing, it says so for every ordinary
document, and the loader's answers (problems, data) are the same with it and without it."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml_rs

from gitstore.format import loader
from gitstore.format.limits import MAX_DEPTH, MAX_INT, MAX_STRING_CHARS, MIN_INT, check_data, checked_json
from gitstore.format.loader import load_document
from tests.faults.hostile_corpus import CASES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _nested(depth: int, inner: Any = "x", kind: str = "list") -> Any:
    value = inner
    for n in range(depth):
        value = [value] if kind == "list" or n % 2 else {"k[{": value}
    return value


def _same_json(raw: bytes, docs: list[Any]) -> bool:
    def fix(value: Any) -> Any:  # NaN and infinities are written as null
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return orjson.loads(raw) == fix(docs)


def _agrees(docs: list[Any]) -> None:
    raw = checked_json(docs)
    beyond = check_data(docs)
    if raw is not None:
        assert beyond == [], f"the fast check passed what the walk refuses: {beyond[:2]}"
        assert _same_json(raw, docs)
    elif len(repr(docs)) * 6 <= MAX_STRING_CHARS:  # JSON of at most MAX_STRING_CHARS bytes (6 a character, escaped)
        # below one string's limit only depth, types, keys and integers decide, exactly as the walk does
        assert beyond != [], "the fast check refused a small document the walk accepts"


@pytest.mark.parametrize("depth", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2])
@pytest.mark.parametrize("kind", ["list", "mixed"])
def test_depth_at_the_limit(depth: int, kind: str) -> None:
    # brackets and escaped quotes in strings must not count as nesting
    for inner in ("x", '[[[{"\\"', "]]}}\\", "\\\\\"[", ""):
        docs = [{"flags": [_nested(depth - 2, inner, kind)]}]
        _agrees(docs)
        assert (checked_json(docs) is None) == (depth > MAX_DEPTH)


@pytest.mark.parametrize("text", [
    "a" * (MAX_STRING_CHARS + 1),  # one character too many
    'a"' * (MAX_STRING_CHARS // 2 + 1),  # escaped quotes inside must not split it
    "\\" * (MAX_STRING_CHARS + 1),
    'x\\"' * (MAX_STRING_CHARS // 3 + 1),
    "é" * (MAX_STRING_CHARS + 1),
])
def test_a_string_over_the_limit_goes_to_the_walk(text: str) -> None:
    for docs in ([{"flags": [{"key": "f", "description": text}]}], [{"k": "y" * 1000, "long": [text], "z": ""}]):
        assert checked_json(docs) is None
        assert check_data(docs) != []


@pytest.mark.parametrize("text", ["a" * MAX_STRING_CHARS, "\n" * (MAX_STRING_CHARS // 2 + 1000)])
def test_a_long_string_within_the_limit(text: str) -> None:
    _agrees([{"flags": [{"key": "f", "description": text}]}])


@pytest.mark.parametrize("value", [MAX_INT + 1, MIN_INT - 1, {1, 2}, {"a": {3: "x"}}, {(1, 2): 1}, b"x",
                                   {frozenset({1}): 2}, {None: 1}, {True: "x"}])
def test_values_the_walk_refuses_by_type(value: Any) -> None:
    docs = [{"flags": [{"key": "f", "metadata": {"v": value}}]}]
    assert checked_json(docs) is None and check_data(docs) != []


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < 80 and roll < 0.35:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 80 and roll < 0.6:
        return {rng.choice(["k", "a b", '"q"', "[", "}", "\\", "é", "on"]) + str(rng.randint(0, 5)):
                _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice([None, True, False, 0, -1, MAX_INT, MIN_INT, MAX_INT + 1, 2.5, float("nan"), float("inf"),
                       "", "x", '"', "\\", "\\\"", "[{", "]}", "\\[", '"]', "é\u2028", "\x07", {1: 2}, {3}])


@pytest.mark.parametrize("seed", range(40))
def test_random_documents(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        docs = [_random_value(rng, 1) for _ in range(rng.randint(1, 3))]
        _agrees(docs)
    deep = [_nested(rng.randint(60, 70), rng.choice(["x", "[[", '\\"]'])) for _ in range(3)]
    _agrees(deep)


def _feature_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())


def _mutations(count: int) -> list[tuple[bytes, str]]:
    """Fixture documents with one node replaced by a random value (deep, long, out of range or odd), as YAML."""
    from tests.documents.test_loader_fuzz import SOURCES, _paths, _set

    out: list[tuple[bytes, str]] = []
    for seed in range(count):
        rng = random.Random(seed)
        data = yaml_rs.loads(rng.choice(SOURCES).read_text(), parse_datetime=False)
        docs = data if isinstance(data, list) else [data]
        for doc in docs:
            value = rng.choice([_random_value(rng, 1), _nested(rng.randint(55, 70), '"[x'), MAX_INT + rng.randint(0, 1),
                                "y" * (MAX_STRING_CHARS + rng.randint(-1, 1))])
            _set(doc, rng.choice(_paths(doc)[1:]), value)
        try:
            text = "---\n".join(yaml_rs.dumps(d) for d in docs)
        except Exception:  # noqa: BLE001 - a value the emitter cannot write (a set): as JSON instead
            continue
        out.append((text.encode(), f"m{seed}/features.yaml"))
    return out


def test_the_loader_answers_the_same_without_the_fast_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fixture and hostile file loads to the same problems and data through the fast check as through the
    walk alone (the loader before it)."""
    inputs = [(p.read_bytes(), f"{p.parent.name}/features{p.suffix}") for p in _feature_files()]
    inputs += [(case.data, case.filename) for case in CASES]
    inputs += _mutations(60)
    assert len(inputs) > 120
    fast = [load_document(data, name, keep_json=True) for data, name in inputs]
    monkeypatch.setattr(loader, "checked_json", lambda docs: None)
    slow = [load_document(data, name) for data, name in inputs]
    for (data, name), new, old in zip(inputs, fast, slow, strict=True):
        assert (new.problems, new.claims, new.chosen, new.data) == (old.problems, old.claims, old.chosen, old.data), name
        raw = new.namespaces.take_json() if new.namespaces is not None else None
        if raw is not None:
            assert _same_json(raw, new.data or []), name
        elif new.valid:  # only a file that could hold a string beyond the limit goes to the walk
            assert len(data) > MAX_STRING_CHARS, name
