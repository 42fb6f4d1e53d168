"""The fast parsing path: YAML 1.2 scalars, streams, JSON streams, and the line scanner behind problem lines."""

from __future__ import annotations

import pytest

from gitstore.format.loader import load_document
from gitstore.format.yamlio import ParseError, parse_documents
from gitstore.format.yamlscan import Locator


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "On", "OFF", "Yes", "y", "n"])
def test_yaml_1_1_booleans_stay_strings(word: str) -> None:
    [doc] = parse_documents(f"a: {word}\n", "x.yaml")
    assert doc == {"a": word}


def test_dates_stay_strings_and_numbers_are_numbers() -> None:
    [doc] = parse_documents("d: 2024-01-01\nt: 2024-01-01T10:00:00Z\ni: 30\nf: 1.5\nv: '1.6'\n", "x.yaml")
    assert doc == {"d": "2024-01-01", "t": "2024-01-01T10:00:00Z", "i": 30, "f": 1.5, "v": "1.6"}


def test_streams_and_top_level_lists_are_told_apart() -> None:
    assert parse_documents("a: 1\n---\nb: 2\n", "x.yaml") == [{"a": 1}, {"b": 2}]
    assert parse_documents("---\n- a\n- b\n", "x.yaml") == [["a", "b"]]
    assert parse_documents("---\n- a\n---\n- b\n", "x.yaml") == [["a"], ["b"]]
    assert parse_documents("%YAML 1.2\n---\na: 1\n", "x.yaml") == [{"a": 1}]
    assert parse_documents("a: 1\n---\n# only a comment\n", "x.yaml") == [{"a": 1}]
    assert parse_documents("", "x.yaml") == [] and parse_documents("# nothing\n", "x.yaml") == []


def test_json_streams() -> None:
    assert parse_documents('{"a": 1}\n{"b": 2}\n', "x.json") == [{"a": 1}, {"b": 2}]
    with pytest.raises(ParseError) as caught:
        parse_documents('{"a": 1}\n{"b": }\n', "x.json")
    assert caught.value.line == 2


def test_a_top_level_list_is_not_a_document() -> None:
    [error] = load_document("- key: a\n  name: A\n", "x.yaml").errors
    assert error.path == "" and "must be a mapping" in error.message


def test_empty_file_is_an_empty_namespace() -> None:
    result = load_document(b"", "team/features.yaml")
    assert result.problems == [] and result.document.namespace.key == "team" and result.document.flags == ()


def test_locator_follows_block_structure() -> None:
    text = ("# head\nversion: '1.6'\nflags:\n- key: a   # c\n  name: A\n  description: |\n    - not an item\n"
            "    key: not a key\n\n  variants:\n    -\n      key: v\n      attachment: {x: 1}\n"
            "- key: b\n  name: B\n---\nnamespace: two\n")
    locator = Locator(text)
    assert locator.line(0, ("flags", 0, "key")) == 4
    assert locator.line(0, ("flags", 0, "variants", 0, "key")) == 12
    assert locator.line(0, ("flags", 0, "variants", 0, "attachment", "x")) == 13  # inside flow: its key's line
    assert locator.line(0, ("flags", 1, "name")) == 15
    assert locator.line(0, ("flags", 5)) == 3
    assert locator.line(1, ("namespace",)) == 17
    entry, complete = locator.entry(0, ("flags", 0, "description"))
    assert complete and entry.line == 5 and entry.node is None


@pytest.mark.parametrize("name", ["x.yaml", "x.json"])
def test_absurd_nesting_is_a_problem_not_a_crash(name: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    text = f'{{"flags": [{{"key": "a", "name": "A", "variants": [{{"key": "v", "attachment": {deep}}}]}}]}}'
    [error] = load_document(text, name).errors
    assert error.line == 1 and "invalid" in error.message
