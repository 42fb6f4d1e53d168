"""Flipt's own integration namespace and storage fixtures (tests/fixtures/flipt, vendored), loaded by the real loader and
evaluated as in flipt-compatibility §4.9."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from evaluator.engine import (
    Reason,
    compile_namespace,
    evaluate_boolean,
    evaluate_variant,
)
from gitstore.format.loader import load_document

INTEGRATION = "build/testing/integration/testdata/namespaces/default/features.yaml"


def load(fixtures: Path, relative: str):
    path = fixtures / relative
    result = load_document(path.read_bytes(), str(path))
    assert result.document is not None, result.problems
    ns = compile_namespace(result.document, relative)
    assert ns.warnings == []
    return ns


@pytest.fixture
def default_ns(flipt_fixtures: Path):
    return load(flipt_fixtures, INTEGRATION)


def test_integration_namespace_examples(default_ns) -> None:
    ns = default_ns
    assert len(ns.flags) >= 50
    r = evaluate_variant(ns, "flag_001", "some-fixed-entity-id", {"in_segment": "segment_005"})
    assert (r.match, r.reason, r.variant_key, r.segment_keys) == (True, Reason.MATCH, "variant_002", ["segment_005"])
    r = evaluate_variant(ns, "flag_variant_and_segments", "some-fixed-entity-id",
                         {"in_segment": "segment_001", "anding": "segment"})
    assert (r.variant_key, sorted(r.segment_keys)) == ("variant_002", ["segment_001", "segment_anding"])
    r = evaluate_variant(ns, "flag_using_entity_id", "user@flipt.io", {})
    assert (r.variant_key, r.segment_keys) == ("variant_001", ["segment_entity_id"])
    assert evaluate_boolean(ns, "flag_boolean", "hello", {}).reason is Reason.DEFAULT
    r = evaluate_boolean(ns, "flag_boolean", "fixed", {})
    assert (r.enabled, r.reason) == (True, Reason.MATCH)
    r = evaluate_boolean(ns, "flag_boolean", "fixed", {"in_segment": "segment_001"})
    assert (r.enabled, r.segment_keys) == (True, ["segment_001"])
    r = evaluate_variant(ns, "flag_001", "any", {"in_segment": "unknown"})
    assert (r.match, r.reason, r.variant_key) == (False, Reason.UNKNOWN, "")
    assert evaluate_variant(ns, "flag_disabled", "any", {}).reason is Reason.FLAG_DISABLED
    r = evaluate_variant(ns, "flag_no_distributions", "any", {"in_segment": "segment_001"})
    assert (r.match, r.variant_key, r.segment_keys) == (True, "", ["segment_001"])
    r = evaluate_boolean(ns, "flag_boolean_no_constraints", "", {})
    assert (r.enabled, r.reason, r.segment_keys) == (True, Reason.MATCH, ["segment_no_constraints"])


def test_isoneof_in_file_versions_1_5_and_1_6_evaluate_alike(flipt_fixtures: Path) -> None:
    old = load(flipt_fixtures, "internal/storage/fs/testdata/isoneof/features_1_5.yaml")
    new = load(flipt_fixtures, "internal/storage/fs/testdata/isoneof/features_1_6.yaml")
    assert old.flag_keys == new.flag_keys == ["flag1"]
    outcomes = set()
    for org, age, country, env in product(("org-b", "org-x"), ("21", "21.0", "22"), ("FR", "UK"), ("production", "dev")):
        ctx = {"org": org, "age": age, "country": country, "env": env}
        result = evaluate_variant(new, "flag1", "e1", ctx)
        assert evaluate_variant(old, "flag1", "e1", ctx) == result
        outcomes.add((result.variant_key, result.match))
        expected = org == "org-b" and age != "22" and country == "FR" and env == "production"
        assert result.match is expected, ctx
    assert outcomes == {("on", True), ("", False)}  # variant key "on" stays a string (YAML 1.2)

