"""The minimal-diff writer on every kind of file Flipt reads: a new file, JSON, old versions (1.0 to 1.5), flow style,
streams of several namespaces, another indentation, CRLF and no final newline. Edits of a hand-written file and big
files: `test_writer.py`."""

from __future__ import annotations

import pytest

from gitstore.edit.writer import apply_changes, edit_file
from gitstore.format.loader import load_document
from gitstore.format.models import dump_document
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import ComparisonType, Constraint, Flag

from .synth import FIXTURES
from .test_writer import HAND_WRITTEN, change, diff, load


def test_new_file_is_canonical() -> None:
    flag = Flag(key="a", name="A")
    out = apply_changes("", "team/features.yaml", [Change("team", Kind.FLAG, "a", flag)])
    assert out == ('version: "1.6"\nnamespace: team\nflags:\n  - key: a\n    name: A\n'
                   "    type: VARIANT_FLAG_TYPE\n    enabled: false\n")
    assert dump_document(load(out, "team/features.yaml")) == out


def test_json_files_are_rewritten_as_json() -> None:
    text = '{"namespace": "j", "flags": [{"key": "a", "name": "A", "enabled": false}]}'
    doc = load(text, "j/features.json")
    out = apply_changes(text, "j/features.json", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="j")])
    assert out.startswith("{\n") and load(out, "j/features.json").flags[0].enabled is True


def test_a_change_an_old_version_cannot_hold_rewrites_the_file_at_1_6() -> None:
    text = 'version: "1.2"\nnamespace: old\nflags:\n  # comment\n  - key: a\n    name: A\n'
    doc = load(text, "old/features.yaml")
    result = edit_file(text, "old/features.yaml",
                       [change(doc.flags[0].model_copy(update={"metadata": {"team": "x"}}), ns="old")])
    assert result.rewritten and result.text.startswith('version: "1.6"\n')
    assert load(result.text, "old/features.yaml").flags[0].metadata == {"team": "x"}


def test_old_version_files_get_json_string_lists() -> None:
    text = 'version: "1.5"\nnamespace: old\nsegments:\n  - {key: s, name: S, match_type: ALL_MATCH_TYPE}\n'
    doc = load(text, "old/features.yaml")
    seg = doc.segments[0].model_copy(update={"constraints": (
        Constraint(type=ComparisonType.NUMBER, property="age", operator="isoneof", value="[18,21]"),)})
    result = edit_file(text, "old/features.yaml", [Change("old", Kind.SEGMENT, "s", seg)])
    assert not result.rewritten and "value: \"[18,21]\"" in result.text


def test_flow_style_sequences_fall_back_to_a_canonical_rewrite() -> None:
    text = "namespace: f\nflags: [{key: a, name: A}]\n"
    doc = load(text, "f/features.yaml")
    result = edit_file(text, "f/features.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="f")])
    assert result.rewritten and load(result.text, "f/features.yaml").flags[0].enabled


def test_stream_edits_touch_only_their_document() -> None:
    text = "namespace: a\nflags:\n- {key: x, name: X}\n---\n# b's flags\nnamespace: b\nflags:\n- key: x\n  name: X\n"
    doc = load_document(text, "s.yaml", namespace="b").document
    out = apply_changes(text, "s.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="b")])
    assert diff(text, out) == ["+  enabled: true"]


def test_a_crlf_stream_reads_and_edits_as_its_lf_twin() -> None:
    """A CRLF file's `---\\r\\n` separates documents as `---\\n` does (it was read as one document, whose top level
    then looked like a list: 'a feature document must be a mapping, not a list' at line 1)."""
    lf = "namespace: a\nflags:\n- {key: x, name: X}\n---\n# b's flags\nnamespace: b\nflags:\n- key: x\n  name: X\n"
    crlf = lf.replace("\n", "\r\n")
    read_lf, read_crlf = load_document(lf, "s.yaml"), load_document(crlf, "s.yaml")
    assert [str(p) for p in read_crlf.problems] == [str(p) for p in read_lf.problems] == []
    assert read_crlf.claims == read_lf.claims == {"a": 0, "b": 1}
    for ns in ("a", "b"):
        assert load_document(crlf, "s.yaml", namespace=ns).document == load_document(lf, "s.yaml", namespace=ns).document
    doc = load_document(crlf, "s.yaml", namespace="b").document
    out = apply_changes(crlf, "s.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="b")])
    assert out == crlf + "  enabled: true\r\n"
    wrong = crlf + "  type: NOPE\r\n"  # a mistake in the second document: the same line as in the LF twin
    assert [str(p) for p in load_document(wrong, "s.yaml").problems] == [
        "s.yaml:10: flags[0].type: must be one of VARIANT_FLAG_TYPE, BOOLEAN_FLAG_TYPE, not 'NOPE'"]


YAML_V3_STYLE = """\
version: "1.6"
namespace: v3
flags:
    - key: a
      name: A
      type: VARIANT_FLAG_TYPE
      enabled: true
      metadata:
          team: web
      variants:
          - key: x
            attachment:
                deep: [1, 2]
segments:
    - key: s
      name: S
      match_type: ALL_MATCH_TYPE
"""


def test_appended_items_follow_the_files_indentation() -> None:
    doc = load(YAML_V3_STYLE, "v3/features.yaml")
    new = doc.flags[0].model_copy(update={"key": "b", "metadata": {"team": "api"}})
    out = apply_changes(YAML_V3_STYLE, "v3/features.yaml", [change(new, ns="v3")])
    assert diff(YAML_V3_STYLE, out) == [
        "+    - key: b", "+      name: A", "+      type: VARIANT_FLAG_TYPE", "+      enabled: true",
        "+      metadata:", "+          team: api", "+      variants:", "+          - key: x",
        "+            attachment:", "+                deep:", "+                    - 1", "+                    - 2"]
    assert load(out, "v3/features.yaml").flag("b") == new


def test_crlf_files_and_files_without_a_final_newline() -> None:
    text = HAND_WRITTEN.replace("\n", "\r\n")
    doc = load(text)
    out = apply_changes(text, "shop/features.yaml",
                        [change(doc.flag("new-checkout").model_copy(update={"enabled": True}))])
    assert out == HAND_WRITTEN.replace("enabled: false", "enabled: true").replace("\n", "\r\n")
    bare = "namespace: a\nflags:\n- key: f\n  name: F\n  enabled: false"
    doc = load(bare, "a/features.yaml")
    toggled = apply_changes(bare, "a/features.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}),
                                                             ns="a")])
    assert toggled == bare.replace("false", "true")
    appended = apply_changes(bare, "a/features.yaml", [change(Flag(key="g", name="G"), ns="a")])
    assert appended.startswith(bare + "\n- key: g\n") and load(appended, "a/features.yaml").flag("g")


def test_version_1_0_files_are_edited_in_place() -> None:
    text = (FIXTURES / "core/validation/testdata/valid_v1.yaml").read_text()
    doc = load(text, "default/features.yaml")
    result = edit_file(text, "default/features.yaml",
                       [change(doc.flags[0].model_copy(update={"enabled": True}), ns="default")])
    assert not result.rewritten and diff(text, result.text) == ["-  enabled: false", "+  enabled: true"]
    added = edit_file(text, "default/features.yaml", [change(Flag(key="n", name="N"), ns="default")])
    assert not added.rewritten and "  type: VARIANT" not in added.text


@pytest.mark.parametrize("with_base", [False, True])
def test_a_rewrite_keeps_the_other_namespaces_of_a_stream(with_base: bool) -> None:
    text = "namespace: a\nflags: [{key: x, name: X}]\n---\nnamespace: b\nflags: [{key: y, name: Y}]\n"
    doc = load_document(text, "s.yaml", namespace="b").document
    result = edit_file(text, "s.yaml", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="b")],
                       base=doc if with_base else None)
    assert result.rewritten
    both = load_document(result.text, "s.yaml").documents
    assert both["a"].flags[0].key == "x" and both["b"].flags[0].enabled is True


def test_json_streams_keep_every_namespace() -> None:
    text = '{"namespace": "a", "flags": [{"key": "x", "name": "X"}]}\n{"namespace": "b"}\n'
    doc = load_document(text, "s.json", namespace="a").document
    out = apply_changes(text, "s.json", [change(doc.flags[0].model_copy(update={"enabled": True}), ns="a")], doc)
    assert set(load_document(out, "s.json").documents) == {"a", "b"}
