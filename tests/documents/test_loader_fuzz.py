"""Seeded mutations of Flipt's documents (any node replaced by a value of another shape): loading never raises,
every problem has a path, and whatever loads without errors writes back to an equal document."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
import yaml_rs

from gitstore.format.loader import load_document
from gitstore.format.models import dump_document

from .synth import FIXTURES

SOURCES = [FIXTURES / "core/validation/testdata" / name for name in (
    "valid.yaml", "valid_segments_v2.yaml", "valid_constraint_list_values.yaml", "valid_zero_values.yaml",
    "valid_metadata_v3.yaml")] + [FIXTURES / "internal/storage/fs/testdata/production/features.yaml"]
REPLACEMENTS: list[Any] = [None, True, 0, -1, 101, 2.5, "", "x y", "on", "ALL_MATCH_TYPE", "BOOLEAN_FLAG_TYPE",
                           "isoneof", "[1]", [], {}, ["a"], {"key": "k"}, {"unknown": 1}, [1, "a"], float("nan")]


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, path + (key,)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, path + (i,)))
    return out


def _set(node: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node[path[0]] = _set(node[path[0]], path[1:], value)
    return node


@pytest.mark.parametrize("seed", range(60))
def test_mutated_documents(seed: int) -> None:
    rng = random.Random(seed)
    source = rng.choice(SOURCES)
    data = yaml_rs.loads(source.read_text(), parse_datetime=False)
    docs = data if isinstance(data, list) else [data]
    for _ in range(rng.randint(1, 4)):
        doc = rng.choice(docs)
        path = rng.choice(_paths(doc))
        if path and rng.random() < 0.2 and isinstance(path[-1], str):
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            parent.pop(path[-1])  # drop a field
        else:
            _set(doc, path, copy.deepcopy(rng.choice(REPLACEMENTS)))
    for name, text in (("m/features.json", "\n".join(json.dumps(d) for d in docs)),
                       ("m/features.yaml", "---\n".join(json.dumps(d) + "\n" for d in docs))):
        result = load_document(text, name)
        for problem in result.problems:
            assert problem.file == name and problem.message
        if result.document is not None:
            for key, doc in result.documents.items():
                again = load_document(dump_document(doc), f"{key}/features.yaml")
                assert again.errors == [] and again.document == doc.model_copy(update={"version": "1.6"})
        else:
            assert result.errors
