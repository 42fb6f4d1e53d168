"""Documents built when asked for (issue 18): `flagdeck validate` builds none of a file's flags, `flagdeck eval FLAG`
one. A lazy or partial answer must equal the full parse's: the same documents, the same evaluations, and warnings
naming each flag at its place in the whole namespace. Real files, a real repository and its parse cache on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from evaluator.engine import Trace, compile_namespace, evaluate
from gitstore.config import load_config
from gitstore.format.loader import load_document
from gitstore.git.snapshot import Snapshot
from gitstore.model.documents import Document
from gitstore.store import Store
from tests.store.conftest import single_env_config
from tests.store.test_snapshot import raw_commit

FILE = "default/features.yaml"
# Two documents of one namespace (a YAML stream), flags whose warnings name their place (`flags[N]`): a segment
# with a malformed constraint is dropped from the rules naming it.
TEXT = """\
version: "1.6"
flags:
  - key: first
    name: First
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - segment: {key: pro, value: true}
      - threshold: {percentage: 30, value: false}
  - key: second
    name: Second
    enabled: true
    variants: [{key: a, default: true}, {key: b, attachment: {n: 1}}]
    rules:
      - segment: broken
        distributions: [{variant: a, rollout: 100}]
      - segment: {keys: [pro, broken], operator: OR_SEGMENT_OPERATOR}
        distributions: [{variant: a, rollout: 40}, {variant: b, rollout: 60}]
segments:
  - key: pro
    name: Pro
    match_type: ALL_MATCH_TYPE
    constraints:
      - {type: STRING_COMPARISON_TYPE, property: plan, operator: isoneof, value: [pro, team]}
---
version: "1.6"
flags:
  - key: third
    name: Third
    enabled: true
    variants: [{key: x}]
    rules:
      - segment: broken
        distributions: [{variant: x, rollout: 100}]
  - key: fourth
    name: Fourth
    enabled: false
segments:
  - key: broken
    name: Broken
    match_type: ANY_MATCH_TYPE
    constraints:
      - {type: NUMBER_COMPARISON_TYPE, property: seats, operator: gt, value: many}
"""
KEYS = ["first", "second", "third", "fourth"]


def whole_document() -> Document:
    """The namespace as the full parse builds it (every flag)."""
    result = load_document(TEXT, FILE)
    assert result.errors == [] and result.document is not None
    return result.document


def test_nothing_is_built_until_a_document_is_asked_for() -> None:
    result = load_document(TEXT, FILE)
    assert result.valid and result.namespaces is not None and result.errors == []
    assert result.namespaces.built == () and list(result.documents) == ["default"]
    assert result.data is not None  # what a parse cache saves right after loading
    assert result.document == whole_document()
    assert result.namespaces.built == ("default",)
    assert result.data is None  # every namespace built: the plain data is let go (a server kept both forms)


@pytest.mark.parametrize("built_first", [False, True], ids=["from the data", "from the built document"])
def test_a_partial_document_evaluates_and_warns_as_the_whole(built_first: bool) -> None:
    whole = whole_document()
    compiled_whole = compile_namespace(whole, FILE)
    assert len(compiled_whole.warnings) == 3  # the three rules naming "broken", at flags[1] and flags[2]
    for place, key in enumerate(KEYS):
        namespaces = load_document(TEXT, FILE).namespaces
        assert namespaces is not None
        if built_first:
            assert namespaces["default"] == whole
        document, places = namespaces.partial("default", (key,))
        assert namespaces.built == (("default",) if built_first else ())
        assert places == {key: place}
        assert document.flags == (whole.flags[place],)
        assert (document.segments, document.namespace, document.version) == (
            whole.segments, whole.namespace, whole.version)
        alone = compile_namespace(document, FILE, only=key, places=places)
        assert alone.warnings == [w for w in compiled_whole.warnings if f'flag "{key}"' in w.message]
        for entity in ("u1", "u2", "u3", "u4"):
            for context in ({"plan": "pro"}, {"plan": "free", "seats": "3"}):
                mine, theirs = Trace(), Trace()
                assert evaluate(alone, key, entity, context, trace=mine) == evaluate(
                    compiled_whole, key, entity, context, trace=theirs)
                assert mine.render() == theirs.render()
    namespaces = load_document(TEXT, FILE).namespaces
    assert namespaces is not None
    assert namespaces.partial("default", ("nope",)) == (whole.model_copy(update={"flags": ()}), {})


def read(config: Path) -> tuple[Snapshot, int]:
    with Store(load_config(config)) as store:
        return store.snapshot("production"), store.cache.loaded


def test_a_cache_hit_builds_nothing_for_validate_and_equals_the_parse(tmp_path: Path) -> None:
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()
    raw_commit(tmp_path / "repo", {FILE: TEXT.encode()})
    first, loaded = read(config)
    assert loaded == 0
    second, loaded = read(config)
    assert loaded == 1
    ns = second.namespaces["default"]
    assert ns.valid and ns.source is not None and ns.source.built == ()
    assert ns.problems == first.namespaces["default"].problems
    partial = ns.partial(("third",))
    assert partial is not None and ns.source.built == ()
    assert partial[0].flags == (whole_document().flags[2],) and partial[1] == {"third": 2}
    assert ns.document == first.namespaces["default"].document == whole_document()


def test_eval_of_one_flag_prints_what_the_whole_namespace_would(tmp_path: Path) -> None:
    """`flagdeck eval FLAG` (one flag built, from the parse cache on a second run) prints the answer, the trace
    and the warnings `flagdeck eval` of every flag prints for FLAG, each warning naming `flags[N]` as in the file."""
    config = single_env_config(tmp_path)
    Store(load_config(config)).close()
    raw_commit(tmp_path / "repo", {FILE: TEXT.encode()})
    base = ["eval", "--config", str(config), "--env", "production", "-e", "u2", "-c", "plan=pro", "--explain"]
    runner = CliRunner()
    every = runner.invoke(main, base)
    assert every.exit_code == 0, every.output
    for run in range(2):  # the first run parses the file, the second reads the parse cache
        for place, key in enumerate(KEYS):
            one = runner.invoke(main, [*base, key])
            assert one.exit_code == 0, one.output
            assert one.stdout in every.stdout
            mine = [line for line in one.stderr.splitlines() if line.startswith("warning:")]
            theirs = [line for line in every.stderr.splitlines() if f'flag "{key}"' in line]
            assert mine == theirs and all(f"flags[{place}]" in line for line in mine), (run, key)
