"""The validator's fast path for ordinary flags (`gitstore.format.validation_fast`) against the general checker it
skips: on ordinary flags, every fixture, and thousands of seeded mutations (any node replaced by a value of another
shape, fields dropped or added, older versions, extended rules), `check_documents` gives the same findings in the
same order with the fast path on and off, and the fast path does answer for ordinary flags."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from gitstore.format import validation, validation_refs
from gitstore.format.validation import _SHAPES, check_documents
from gitstore.format.validation_fast import clean_references
from gitstore.model.documents import VERSIONS
from tests.documents.test_loader_fuzz import REPLACEMENTS, SOURCES, _paths, _set

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ORDINARY = """\
version: "1.6"
namespace: default
flags:
  - key: flag-0
    name: Flag 0
    type: VARIANT_FLAG_TYPE
    description: Benchmark flag number 0
    enabled: false
    metadata: {owner: team-0, ticket: FD-0, lifecycle: temporary, expires: "2030-01-01"}
    variants:
      - {key: control, name: Control, default: true}
      - {key: treatment, name: Treatment, description: null}
    rules:
      - segment: segment-0
        rank: 1
        distributions:
          - {variant: control, rollout: 50}
          - {variant: treatment, rollout: 50.0}
  - key: flag-1
    name: Flag 1
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts: []
  - {key: flag_2, name: x, variants: [], rules: []}
segments:
  - {key: segment-0, name: Segment 0, match_type: ALL_MATCH_TYPE}
"""
EXTRA: list[Any] = [False, 100, 100.5, -0.0, 0.0, float("inf"), "flag 3", "a\n", "-", "BOOLEAN_FLAG_TYPE",
                    "VARIANT_FLAG_TYPE", "segment-0", "control", "treatment", {"key": "control"},
                    {"variant": "control", "rollout": 10}, {"segment": "segment-0"}, {"keys": ["segment-0"]},
                    [{"key": "control"}, {"key": "control"}], [{"segment": "nope"}], {"owner": ""},
                    {"lifecycle": "forever"}, {"expires": "soon"}, {"tier": 1}, {"a": None}, {"x": [1.5]},
                    [{"key": "control", "default": True}, {"key": "b", "default": True}], {"threshold": {}},
                    [{"threshold": {"percentage": 5}}], {"color": "blue"}, None]


def _findings(docs: list[Any], extended: bool, fast: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(validation, "FAST_PATH", fast)
    monkeypatch.setattr(validation_refs, "FAST_PATH", fast)
    return check_documents(copy.deepcopy(docs), extended)


def _same(docs: list[Any], monkeypatch: pytest.MonkeyPatch, extended: bool = False) -> None:
    assert _findings(docs, extended, True, monkeypatch) == _findings(docs, extended, False, monkeypatch)


def _sources() -> Iterator[list[Any]]:
    yield [yaml_rs.loads(ORDINARY, parse_datetime=False)]
    for source in SOURCES:
        data = yaml_rs.loads(source.read_text(), parse_datetime=False)
        yield data if isinstance(data, list) else [data]


def test_ordinary_flags_take_the_fast_path() -> None:
    doc = yaml_rs.loads(ORDINARY, parse_datetime=False)
    segments = {s["key"]: s for s in doc["segments"]}
    for flag in doc["flags"]:
        assert _SHAPES.clean(flag, "1.6", False)
        assert clean_references(flag, segments)
    assert not _SHAPES.clean(doc["flags"][1], "1.6", True)  # extended: a flag needs a description
    assert not _SHAPES.clean(doc["flags"][0], "1.2", False)  # metadata and `default` need version 1.3


def test_fixtures_give_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    assert len(files) > 20
    for path in files:
        try:
            data = yaml_rs.loads(path.read_text(), parse_datetime=False)
        except Exception:  # noqa: BLE001 - a fixture that is not YAML the fast parser reads: nothing to compare
            continue
        docs = data if isinstance(data, list) else [data]
        for extended in (False, True):
            _same(docs, monkeypatch, extended)


@pytest.mark.parametrize("seed", range(30))
def test_mutations_give_the_same_findings(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    sources = list(_sources())
    for _ in range(40):
        docs = copy.deepcopy(rng.choice(sources))
        for _ in range(rng.randint(1, 3)):
            doc = rng.choice(docs)
            flags = doc.get("flags") if isinstance(doc, dict) else None
            # mostly inside a flag: that is what the fast path judges
            target = rng.choice(flags) if isinstance(flags, list) and flags and rng.random() < 0.8 else doc
            paths = _paths(target)
            path = rng.choice(paths[1:] or paths)
            roll = rng.random()
            if roll < 0.15 and path and isinstance(path[-1], str):
                parent = target
                for part in path[:-1]:
                    parent = parent[part]
                parent.pop(path[-1])
            elif roll < 0.25 and isinstance(target, dict):
                target[rng.choice(["unknown", "rollouts", "metadata", "type", "description", "enabled"])] = (
                    copy.deepcopy(rng.choice(REPLACEMENTS + EXTRA)))
            else:
                _set(target, path, copy.deepcopy(rng.choice(REPLACEMENTS + EXTRA)))
            if rng.random() < 0.2 and isinstance(doc, dict):
                doc["version"] = rng.choice(VERSIONS)
        _same(docs, monkeypatch, extended=rng.random() < 0.3)


TARGETED: list[tuple[tuple[Any, ...], Any]] = [
    (("variants",), [{"key": "control", "default": True}, {"key": "treatment", "default": True}]),
    (("variants", 0, "default"), "yes"), (("variants", 1, "name"), ""), (("variants", 1, "description"), 5),
    (("variants", 1, "attachment"), {"a": float("nan")}), (("variants", 1, "attachment"), "text"),
    (("variants", 1, "key"), "control"), (("variants", 1, "key"), ""), (("variants", 1), "control"),
    (("rules", 0, "segment"), "nope"), (("rules", 0, "segment"), "bad key"), (("rules", 0, "rank"), True),
    (("rules", 0, "distributions", 0, "rollout"), 100.01), (("rules", 0, "distributions", 0, "rollout"), -1),
    (("rules", 0, "distributions", 0, "rollout"), float("nan")), (("rules", 0, "distributions", 0, "rollout"), "5"),
    (("rules", 0, "distributions", 0, "variant"), "other"), (("rules", 0, "distributions", 0, "variant"), ""),
    (("rules", 0, "distributions", 0, "extra"), 1), (("rules", 0, "distributions"), 5), (("rules", 0, "x"), 1),
    (("rules", 0), {"segment": {"keys": ["segment-0"], "operator": "AND_SEGMENT_OPERATOR"}}),
    (("metadata", "owner"), " "), (("metadata", "lifecycle"), "forever"), (("metadata", "expires"), "2030-13-01"),
    (("metadata", "n"), 1.5), (("metadata", "n"), float("inf")), (("metadata", "n"), None),
    (("type",), "BOOLEAN_FLAG_TYPE"), (("type",), "OTHER"), (("enabled",), "true"), (("description",), 1),
    (("name",), ""), (("name",), None), (("key",), "a b"), (("key",), "a\n"), (("rollouts",), [{"threshold": {}}]),
    (("rollouts",), {}), (("variants",), {}), (("rules",), "x"), (("unknown",), 1),
]


@pytest.mark.parametrize(("path", "value"), TARGETED)
def test_each_rule_of_the_fast_path(path: tuple[Any, ...], value: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = yaml_rs.loads(ORDINARY, parse_datetime=False)
    flag = doc["flags"][0]
    parent = flag
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    # each edit is a finding, but these three (shapes the fast path leaves to the checker all the same)
    assert check_documents([doc]) != [] or path in (("rules", 0), ("metadata", "n"), ("type",))
    for version in ("1.2", "1.6"):
        doc["version"] = version
        _same([doc], monkeypatch)
