"""`flagdeck eval` from a directory and from an environment's Git branch (a real repository in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main

NS1 = """\
version: "1.6"
namespace: ns1
flags:
  - key: bool-rollout
    name: Boolean 50% rollout on a disabled flag
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts:
      - threshold: {percentage: 50, value: true}
  - key: variant-seg
    name: Variant flag, pro users, 50/50 blue/green
    enabled: true
    variants:
      - {key: blue, attachment: {color: "#00f"}}
      - {key: green}
    rules:
      - segment: pro-users
        distributions: [{variant: blue, rollout: 50}, {variant: green, rollout: 50}]
segments:
  - key: pro-users
    name: Pro users
    match_type: ALL_MATCH_TYPE
    constraints:
      - {type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}
"""


@pytest.fixture
def flags_dir(tmp_path: Path) -> Path:
    (tmp_path / "ns1").mkdir()
    (tmp_path / "ns1" / "features.yaml").write_text(NS1)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


def test_variant_and_boolean_from_a_directory(flags_dir: Path) -> None:
    base = ["--dir", str(flags_dir), "-n", "ns1", "--entity", "user-1"]
    assert run(*base, "variant-seg", "--context", "plan=pro") == (
        0, "variant-seg: variant green (MATCH_EVALUATION_REASON, segments pro-users)\n", "")
    assert run(*base, "variant-seg", "-c", "plan=free")[1] == "variant-seg: no variant (UNKNOWN_EVALUATION_REASON)\n"
    code, out, _ = run(*base)  # every flag
    assert out.splitlines() == [
        "bool-rollout: false (DEFAULT_EVALUATION_REASON)", "variant-seg: no variant (UNKNOWN_EVALUATION_REASON)"]


def test_json_and_explain(flags_dir: Path) -> None:
    code, out, _ = run("--dir", str(flags_dir), "-n", "ns1", "variant-seg", "-e", "user-2", "-c", "plan=pro",
                       "--json", "--explain")
    data = json.loads(out)
    assert code == 0
    assert {k: data[k] for k in ("flagKey", "match", "reason", "variantKey", "segmentKeys")} == {
        "flagKey": "variant-seg", "match": True, "reason": "MATCH_EVALUATION_REASON", "variantKey": "blue",
        "segmentKeys": ["pro-users"]}
    assert json.loads(data["variantAttachment"]) == {"color": "#00f"}
    assert '  bucket: crc32("variant-seg" + "user-2") = ' in "\n".join(data["explain"])
    code, out, _ = run("--dir", str(flags_dir), "-n", "ns1", "variant-seg", "-e", "user-2", "--explain")
    assert 'STRING plan eq "pro": value missing -> no match' in out
    assert out.splitlines()[-1] == "result: no variant, UNKNOWN_EVALUATION_REASON"


def test_errors(flags_dir: Path) -> None:
    code, _, err = run("--dir", str(flags_dir), "-n", "ns1", "nope", "-e", "u")
    assert (code, err.strip()) == (1, 'Error: flag "ns1/nope" not found')
    code, _, err = run("--dir", str(flags_dir), "-n", "ns1", "variant-seg", "-e", "u", "-c", "plan")
    assert code == 2 and "'plan' is not KEY=VALUE" in err
    code, _, err = run("--dir", str(flags_dir), "-n", "other", "variant-seg", "-e", "u")
    assert code == 1 and "no feature file holds namespace 'other'" in err
    (flags_dir / "ns1" / "features.yaml").write_text(NS1.replace("rollout: 50}, {variant: green", "rollout: 150}, {variant: green"))
    code, _, err = run("--dir", str(flags_dir), "-n", "ns1", "variant-seg", "-e", "u")
    assert code == 1 and "features.yaml:" in err and "flags[1].rules[0].distributions[0].rollout" in err


def test_warns_about_dropped_segments(flags_dir: Path) -> None:
    text = NS1.replace("{type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}",
                       "{type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: pro}\n"
                       "      - {type: NUMBER_COMPARISON_TYPE, property: seats, operator: gt, value: many}")
    (flags_dir / "ns1" / "features.yaml").write_text(text)
    code, out, err = run("--dir", str(flags_dir), "-n", "ns1", "variant-seg", "-e", "u", "-c", "plan=pro")
    assert code == 0, err
    assert out == "variant-seg: no variant (UNKNOWN_EVALUATION_REASON)\n"
    assert 'warning:' in err and 'segment "pro-users" dropped from flag "variant-seg" rule 1' in err


def test_from_an_environment(tmp_path: Path) -> None:
    from evaluator.engine import compile_namespace, evaluate
    from gitstore.demo import init_demo
    from gitstore.store import open_store

    config = init_demo(tmp_path / "demo")
    store = open_store(config)
    try:
        document = store.snapshot("staging").namespaces["default"].document
    finally:
        store.close()
    ns = compile_namespace(document)
    for key in ns.flag_keys:
        expected = evaluate(ns, key, "user-3", {"plan": "pro"})
        code, out, err = run("--config", str(config), "--env", "staging", key, "-e", "user-3", "-c", "plan=pro",
                             "--json")
        assert code == 0, err
        data = json.loads(out)
        assert (data["flagKey"], data["reason"]) == (key, expected.reason.value)
        assert data.get("variantKey", data.get("enabled")) == expected.value
    code, _, err = run("--config", str(config), "--env", "nowhere", "-e", "u")
    assert code == 1 and "nowhere" in err


def test_one_flag_compiled_alone_answers_and_warns_as_the_whole_namespace(tmp_path: Path) -> None:
    """`flagdeck eval FLAG` compiles only FLAG (issue 18): the same answers, traces and warnings for it, with its
    place in the document, as compiling every flag; warnings about other flags are not its business."""
    from evaluator.engine import Trace, compile_namespace, evaluate
    from gitstore.format.loader import load_document

    text = NS1.replace("value: pro}", "value: pro}\n      - {type: NUMBER_COMPARISON_TYPE, property: seats, "
                       "operator: gt, value: many}")
    text += ("  - key: other-users\n    name: Other\n    match_type: ALL_MATCH_TYPE\n    constraints:\n"
             "      - {type: NUMBER_COMPARISON_TYPE, property: n, operator: gt, value: x}\n")
    text = text.replace("segments:\n", "  - key: other\n    name: Other\n    variants: [{key: a}]\n    rules:\n"
                        "      - segment: other-users\n        distributions: [{variant: a, rollout: 100}]\n"
                        "segments:\n", 1)
    document = load_document(text, "ns1/features.yaml").document
    assert document is not None
    whole = compile_namespace(document, "ns1/features.yaml")
    assert len(whole.warnings) == 2
    for key in whole.flag_keys:
        alone = compile_namespace(document, "ns1/features.yaml", only=key)
        assert alone.flag_keys == [key]
        assert alone.warnings == [w for w in whole.warnings if f'flag "{key}"' in w.message]
        for entity in ("u1", "u2", "u3"):
            mine, theirs = Trace(), Trace()
            assert evaluate(alone, key, entity, {"plan": "pro"}, trace=mine) == evaluate(
                whole, key, entity, {"plan": "pro"}, trace=theirs)
            assert mine.render() == theirs.render()
    assert compile_namespace(document, only="nope").flag_keys == []
