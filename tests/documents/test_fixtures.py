"""Flipt's own test documents: the valid ones load, validate and round-trip; the invalid ones fail where Flipt says."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitstore.format.loader import load_document
from gitstore.format.models import dump_document

from .synth import FIXTURES

VALID = sorted(
    [p for p in (FIXTURES / "core/validation/testdata").glob("valid*.yaml")]
    + list((FIXTURES / "build/testing/integration/testdata/namespaces").glob("*/features.yaml"))
    + [FIXTURES / "build/testing/testdata" / n for n in ("flipt.yml", "flipt-namespace-foo.yml",
                                                         "flipt-yaml-stream.yml")]
    + list((FIXTURES / "internal/storage/fs").rglob("*features*.y*ml"))
)


def _rel(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def test_fixture_set_is_complete() -> None:
    assert len(VALID) >= 20, [_rel(p) for p in VALID]


@pytest.mark.parametrize("path", VALID, ids=_rel)
def test_valid_fixture_loads_and_round_trips(path: Path) -> None:
    result = load_document(path.read_bytes(), _rel(path))
    assert result.errors == []
    assert result.document is not None
    for key, doc in result.documents.items():
        assert doc.namespace.key == key
        text = dump_document(doc)
        again = load_document(text.encode(), f"{key}/features.yaml")
        assert again.errors == []
        assert again.document == doc.model_copy(update={"version": "1.6"})
        assert dump_document(again.document) == text  # an unchanged canonical document is byte-identical


@pytest.mark.parametrize(("name", "line"), [("invalid.yaml", 22), ("invalid_yaml_stream.yaml", 59)])
def test_invalid_fixture_fails_where_flipt_says(name: str, line: int) -> None:
    path = FIXTURES / "core/validation/testdata" / name
    result = load_document(path.read_bytes(), name)
    assert result.document is None
    [error] = result.errors
    assert (error.file, error.line, error.path) == (name, line, "flags[0].rules[1].distributions[0].rollout")
    assert "110" in error.message and "100" in error.message


def test_extended_rules_require_flag_descriptions() -> None:
    path = FIXTURES / "core/validation/testdata/valid.yaml"
    assert load_document(path.read_bytes(), "valid.yaml").errors == []
    [error] = load_document(path.read_bytes(), "valid.yaml", extended=True).errors
    assert (error.path, error.line) == ("flags[1].description", 33)  # the flag, which lacks the field


def test_on_off_variant_keys_stay_strings() -> None:
    path = FIXTURES / "internal/storage/fs/testdata/isoneof/features_1_6.yaml"
    doc = load_document(path.read_bytes(), "isoneof/features.yaml").document
    assert doc is not None
    flag = doc.flag("flag1")
    assert [v.key for v in flag.variants] == ["on", "off"]
    assert flag.rules[0].distributions[0].variant == "on"
    text = dump_document(doc)
    assert '- key: "on"' in text and '- key: "off"' in text  # quoted, so YAML 1.1 readers agree too
    assert load_document(text, "isoneof/features.yaml").document == doc


def test_isoneof_values_are_the_same_in_1_5_and_1_6_forms() -> None:
    base = FIXTURES / "internal/storage/fs/testdata/isoneof"
    old = load_document((base / "features_1_5.yaml").read_bytes(), "features_1_5.yaml").document
    new = load_document((base / "features_1_6.yaml").read_bytes(), "features_1_6.yaml").document
    values = [c.value for c in old.segments[0].constraints]
    assert values == ['["org-a","org-b","org-c"]', "[18,21,65]", '["US","UK"]', "production"]
    assert [c.value for c in new.segments[0].constraints] == values
    assert "- 18" in dump_document(old)  # written back as a 1.6 list


def test_streams_hold_several_namespaces() -> None:
    path = FIXTURES / "core/validation/testdata/valid_yaml_stream.yaml"
    result = load_document(path.read_bytes(), "valid_yaml_stream.yaml")
    assert list(result.documents) == ["default", "foo"]
    assert result.document is result.documents["default"]
    chosen = load_document(path.read_bytes(), "valid_yaml_stream.yaml", namespace="foo")
    assert chosen.document.namespace.key == "foo"
    assert [f.key for f in chosen.document.flags] == ["flipt", "boolean"]


def test_integration_namespace_content() -> None:
    path = FIXTURES / "build/testing/integration/testdata/namespaces/default/features.yaml"
    doc = load_document(path.read_bytes(), "default/features.yaml").document
    assert doc.version == "1.4" and doc.namespace.name == "Default"
    assert len(doc.flags) > 40 and len(doc.segments) > 40
    entity = next(s for s in doc.segments for c in s.constraints if c.type.value == "ENTITY_ID_COMPARISON_TYPE")
    assert entity.constraints[0].value == "user@flipt.io"


def test_a_config_file_is_not_a_feature_document() -> None:
    path = FIXTURES / "build/testing/testdata/default.yml"
    [error] = load_document(path.read_bytes(), "default.yml").errors
    assert (error.line, error.path) == (1, "log") and "unknown field" in error.message


def test_older_documents_without_match_type_load_with_a_warning() -> None:
    path = FIXTURES / "build/testing/testdata/flipt.yml"
    result = load_document(path.read_bytes(), "flipt.yml")
    assert result.document is not None
    [warning] = result.warnings
    assert (warning.path, warning.line) == ("segments[0]", 19) and "match_type" in warning.message
