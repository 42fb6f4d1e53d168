"""Every validation rule has an input that breaks it; each problem names file, line, path and what is wrong."""

from __future__ import annotations

import textwrap

import pytest

from gitstore.format.loader import load_document

SEGMENTS = """\
segments:
  - key: beta
    name: Beta
    match_type: ALL_MATCH_TYPE
"""


def doc(body: str, version: str = "1.6", segments: str = SEGMENTS) -> str:
    return f'version: "{version}"\nnamespace: default\n' + textwrap.dedent(body) + segments


def flag(extra: str = "", head: str = "  - key: f1\n    name: F1\n") -> str:
    return "flags:\n" + head + textwrap.indent(textwrap.dedent(extra), "    ")


# (id, text, path, line, message fragment, severity)
CASES = [
    ("unknown top-level key", doc("flagz: []\n"), "flagz", 3, "unknown field 'flagz'", "error"),
    ("unsupported version", doc("", version="2.0"), "version", 1, "unsupported version", "error"),
    ("numeric version", "version: 1.6\n" + SEGMENTS, "version", 1, "quoted string", "warning"),
    ("namespace key pattern", 'namespace: "bad key!"\n', "namespace", 1, "not a valid key", "error"),
    ("namespace unknown field", "namespace:\n  key: a\n  owner: me\n", "namespace.owner", 3, "unknown field",
     "error"),
    ("namespace empty name", "namespace:\n  key: a\n  name: ''\n", "namespace.name", 3, "must not be empty",
     "error"),
    ("flags not a list", doc("flags: {a: 1}\n"), "flags", 3, "must be a list", "error"),
    ("flag key pattern", doc(flag(head="  - key: 'has space'\n    name: F\n")), "flags[0].key", 4,
     "not a valid key", "error"),
    ("flag key missing", doc(flag(head="  - name: F\n")), "flags[0]", 4, "missing required field 'key'", "error"),
    ("flag name missing", doc(flag(head="  - key: f\n")), "flags[0]", 4, "missing required field 'name'", "error"),
    ("flag name empty", doc(flag(head="  - key: f\n    name: ''\n")), "flags[0].name", 5, "must not be empty",
     "error"),
    ("flag unknown field", doc(flag("owner: me\n")), "flags[0].owner", 6, "unknown field 'owner'", "error"),
    ("flag type enum", doc(flag("type: TOGGLE\n")), "flags[0].type", 6, "must be one of", "error"),
    ("type needs 1.1", doc(flag("type: VARIANT_FLAG_TYPE\n"), version="1.0"), "flags[0].type", 6,
     "needs version 1.1", "error"),
    ("metadata needs 1.3", doc(flag("metadata: {a: b}\n"), version="1.2"), "flags[0].metadata", 6,
     "needs version 1.3", "error"),
    ("metadata null value", doc(flag("metadata:\n  a: null\n")), "flags[0].metadata.a", 7, "must not be null",
     "error"),
    ("enabled not bool", doc(flag("enabled: 'yes'\n")), "flags[0].enabled", 6, "true or false", "error"),
    ("variant key empty", doc(flag("variants:\n  - key: ''\n")), "flags[0].variants[0].key", 7,
     "must not be empty", "error"),
    ("variant name empty", doc(flag("variants:\n  - key: a\n    name: ''\n")), "flags[0].variants[0].name", 8,
     "must not be empty", "error"),
    ("default needs 1.3", doc(flag("variants:\n  - key: a\n    default: true\n"), version="1.2"),
     "flags[0].variants[0].default", 8, "needs version 1.3", "error"),
    ("scalar attachment", doc(flag("variants:\n  - key: a\n    attachment: 42\n")),
     "flags[0].variants[0].attachment", 8, "object, an array or null", "error"),
    ("several defaults", doc(flag("variants:\n  - key: a\n    default: true\n  - key: b\n    default: true\n")),
     "flags[0].variants[1]", 9, "the last one wins", "warning"),
    ("duplicate variant", doc(flag("variants:\n  - key: a\n  - key: a\n")), "flags[0].variants[1].key", 8,
     "duplicate variant key", "warning"),
    ("rule without segment", doc(flag("rules:\n  - distributions: []\n")), "flags[0].rules[0]", 7,
     "missing required field 'segment'", "error"),
    ("rule unknown segment", doc(flag("rules:\n  - segment: nobody\n")), "flags[0].rules[0].segment", 7,
     "unknown segment 'nobody'", "error"),
    ("rule segments key form", doc(flag("rules:\n  - segment:\n      key: beta\n")), "flags[0].rules[0].segment.key",
     8, "unknown field 'key'", "error"),
    ("rule segment operator", doc(flag("rules:\n  - segment:\n      keys: [beta]\n      operator: XOR\n")),
     "flags[0].rules[0].segment.operator", 9, "must be one of", "error"),
    ("rule segment keys unknown", doc(flag("rules:\n  - segment:\n      keys: [beta, gamma]\n")),
     "flags[0].rules[0].segment.keys[1]", 8, "unknown segment 'gamma'", "error"),
    ("rollout over 100",
     doc(flag("variants: [{key: a}]\nrules:\n  - segment: beta\n    distributions:\n      - variant: a\n"
              "        rollout: 100.5\n")),
     "flags[0].rules[0].distributions[0].rollout", 11, "out of bound", "error"),
    ("rollout negative",
     doc(flag("variants: [{key: a}]\nrules:\n  - segment: beta\n    distributions:\n"
              "      - {variant: a, rollout: -1}\n")),
     "flags[0].rules[0].distributions[0].rollout", 10, "out of bound", "error"),
    ("rollout not a number",
     doc(flag("variants: [{key: a}]\nrules:\n  - segment: beta\n    distributions:\n      - variant: a\n"
              "        rollout: half\n")),
     "flags[0].rules[0].distributions[0].rollout", 11, "must be a number", "error"),
    ("distribution variant empty",
     doc(flag("rules:\n  - segment: beta\n    distributions:\n      - variant: ''\n        rollout: 1\n")),
     "flags[0].rules[0].distributions[0].variant", 9, "must not be empty", "error"),
    ("distribution unknown variant",
     doc(flag("rules:\n  - segment: beta\n    distributions:\n      - variant: zz\n        rollout: 1\n")),
     "flags[0].rules[0].distributions[0].variant", 9, "unknown variant 'zz'", "warning"),
    ("rollouts on a variant flag", doc(flag("rollouts:\n  - threshold: {percentage: 5}\n")),
     "flags[0].rollouts", 6, "only allowed on BOOLEAN_FLAG_TYPE", "error"),
    ("rollout with both kinds",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - threshold: {percentage: 5}\n    segment: {key: beta}\n")),
     "flags[0].rollouts[0]", 8, "exactly one of", "error"),
    ("rollout unknown segment",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - segment:\n      key: gamma\n      value: true\n")),
     "flags[0].rollouts[0].segment.key", 9, "unknown segment 'gamma'", "error"),
    ("rollout segment key and keys",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - segment: {key: beta, keys: [beta]}\n")),
     "flags[0].rollouts[0].segment", 8, "exactly one of 'key' or 'keys'", "error"),
    ("threshold without percentage",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - threshold:\n      value: true\n")),
     "flags[0].rollouts[0].threshold", 8, "missing required field 'percentage'", "error"),
    ("threshold percentage above 100 (issue 11 #4)",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - threshold:\n      percentage: 150\n")),
     "flags[0].rollouts[0].threshold.percentage", 9, "out of bound", "error"),
    ("threshold percentage below 0",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - threshold:\n      percentage: -0.5\n")),
     "flags[0].rollouts[0].threshold.percentage", 9, "out of bound", "error"),
    ("flag key with a trailing newline (issue 11 #4)", doc(flag(head='  - key: "f1\\n"\n    name: F1\n')),
     "flags[0].key", 4, "not a valid key", "error"),
    ("segment key with a trailing newline", doc("", segments='segments:\n  - key: "beta\\n"\n    name: B\n'
                                                 '    match_type: ALL_MATCH_TYPE\n'),
     "segments[0].key", 4, "not a valid key", "error"),
    ("namespace key with a trailing newline", 'version: "1.6"\nnamespace: "ns\\n"\n', "namespace", 2,
     "not a valid key", "error"),
    ("threshold value not bool",
     doc(flag("type: BOOLEAN_FLAG_TYPE\nrollouts:\n  - threshold:\n      percentage: 5\n      value: 1\n")),
     "flags[0].rollouts[0].threshold.value", 10, "true or false", "error"),
    ("duplicate flag", doc("flags:\n  - {key: a, name: A}\n  - {key: a, name: B}\n"), "flags[1].key", 5,
     "duplicate flag key 'a'", "error"),
    ("duplicate segment", doc("", segments=SEGMENTS + "  - {key: beta, name: B, match_type: ANY_MATCH_TYPE}\n"),
     "segments[1].key", 7, "duplicate segment key 'beta'", "error"),
    ("segment key pattern", doc("", segments="segments:\n  - {key: 'a/b', name: A, match_type: ALL_MATCH_TYPE}\n"),
     "segments[0].key", 4, "not a valid key", "error"),
    ("segment name missing", doc("", segments="segments:\n  - key: a\n    match_type: ALL_MATCH_TYPE\n"),
     "segments[0]", 4, "missing required field 'name'", "error"),
    ("match type enum", doc("", segments="segments:\n  - key: a\n    name: A\n    match_type: SOME\n"),
     "segments[0].match_type", 6, "must be one of", "error"),
]

CONSTRAINT_HEAD = "segments:\n  - key: s\n    name: S\n    match_type: ALL_MATCH_TYPE\n    constraints:\n"


def constraint(body: str, version: str = "1.6") -> str:
    return f'version: "{version}"\n' + CONSTRAINT_HEAD + textwrap.indent(textwrap.dedent(body), "      ")


CASES += [
    ("constraint type", constraint("- {type: TEXT, property: p, operator: eq}\n"),
     "segments[0].constraints[0].type", 7, "unknown comparison type", "error"),
    ("operator for type", constraint("- type: BOOLEAN_COMPARISON_TYPE\n  property: p\n  operator: eq\n"),
     "segments[0].constraints[0].operator", 9, "not allowed for BOOLEAN_COMPARISON_TYPE", "error"),
    ("lt on strings", constraint("- {type: STRING_COMPARISON_TYPE, property: p, operator: lt, value: a}\n"),
     "segments[0].constraints[0].operator", 7, "not allowed", "error"),
    ("property empty", constraint("- {type: STRING_COMPARISON_TYPE, property: '', operator: eq}\n"),
     "segments[0].constraints[0].property", 7, "must not be empty", "error"),
    ("isoneof needs value", constraint("- {type: STRING_COMPARISON_TYPE, property: p, operator: isoneof}\n"),
     "segments[0].constraints[0].value", 7, "need a value", "error"),
    ("json string in 1.6",
     constraint("- type: STRING_COMPARISON_TYPE\n  property: p\n  operator: isoneof\n  value: '[\"a\"]'\n"),
     "segments[0].constraints[0].value", 10, "YAML list", "error"),
    ("list before 1.6",
     constraint("- type: STRING_COMPARISON_TYPE\n  property: p\n  operator: isoneof\n  value: [a]\n", "1.5"),
     "segments[0].constraints[0].value", 10, "need version 1.6", "error"),
    ("number list with strings",
     constraint("- type: NUMBER_COMPARISON_TYPE\n  property: p\n  operator: isoneof\n  value: [1, two]\n"),
     "segments[0].constraints[0].value[1]", 10, "must be numbers", "error"),
    ("string list with numbers",
     constraint("- type: STRING_COMPARISON_TYPE\n  property: p\n  operator: isnotoneof\n  value: [1]\n"),
     "segments[0].constraints[0].value[0]", 10, "must be strings", "error"),
    ("list for eq", constraint("- type: STRING_COMPARISON_TYPE\n  property: p\n  operator: eq\n  value: [a]\n"),
     "segments[0].constraints[0].value", 10, "single value", "error"),
    ("unknown constraint field", constraint("- {type: STRING_COMPARISON_TYPE, property: p, operator: eq, x: 1}\n"),
     "segments[0].constraints[0].x", 7, "unknown field", "error"),
    ("number not a number", constraint("- {type: NUMBER_COMPARISON_TYPE, property: p, operator: gt, value: ten}\n"),
     "segments[0].constraints[0].value", 7, "not a number", "warning"),
    ("datetime malformed",
     constraint("- {type: DATETIME_COMPARISON_TYPE, property: p, operator: lt, value: '2024-13-01'}\n"),
     "segments[0].constraints[0].value", 7, "RFC 3339", "warning"),
    ("boolean operator with value",
     constraint("- {type: BOOLEAN_COMPARISON_TYPE, property: p, operator: 'true', value: x}\n"),
     "segments[0].constraints[0].value", 7, "takes no value", "warning"),
    ("unquoted boolean operator", constraint("- {type: BOOLEAN_COMPARISON_TYPE, property: p, operator: true}\n"),
     "segments[0].constraints[0].operator", 7, "in quotes", "warning"),
    ("operator not a string", constraint("- {type: STRING_COMPARISON_TYPE, property: p, operator: 3}\n"),
     "segments[0].constraints[0].operator", 7, "not allowed", "error"),
    ("bad json string in 1.5",
     constraint("- {type: NUMBER_COMPARISON_TYPE, property: p, operator: isoneof, value: '[1,'}\n", "1.5"),
     "segments[0].constraints[0].value", 7, "not a JSON array of numbers", "warning"),
]


@pytest.mark.parametrize(("text", "path", "line", "fragment", "severity"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_rule(text: str, path: str, line: int, fragment: str, severity: str) -> None:
    result = load_document(text.encode(), "ns/features.yaml", namespace="default")
    matching = [p for p in result.problems if p.path == path and fragment in p.message]
    assert matching, f"no problem at {path} with {fragment!r}; got {[str(p) for p in result.problems]}"
    problem = matching[0]
    assert (problem.file, problem.line, problem.severity) == ("ns/features.yaml", line, severity), str(problem)
    assert (result.document is None) == (severity == "error" or bool(result.errors))


def test_all_problems_are_reported_at_once() -> None:
    text = doc(flag("type: WRONG\nowner: x\nrules:\n  - segment: nobody\n"), segments=SEGMENTS + "  - key: q\n")
    result = load_document(text, "default/features.yaml")
    paths = {p.path for p in result.errors}
    assert {"flags[0].type", "flags[0].owner", "flags[0].rules[0].segment", "segments[1]"} <= paths
    assert all(p.line > 0 for p in result.problems)


def test_every_operator_of_every_type_is_accepted() -> None:
    from gitstore.model.documents import LIST_OPERATORS, NO_VALUE_OPERATORS, OPERATORS

    items = []
    for ctype, operators in OPERATORS.items():
        for op in operators:
            value = "" if op in NO_VALUE_OPERATORS else "\n  value: [1]" if op in LIST_OPERATORS and (
                ctype.value.startswith("NUMBER")) else "\n  value: [a]" if op in LIST_OPERATORS else (
                "\n  value: '2024-01-01'" if ctype.value.startswith("DATETIME") else "\n  value: '5'")
            items.append(f"- type: {ctype.value}\n  property: p\n  operator: '{op}'{value}\n")
    result = load_document(constraint("".join(items)), "x.yaml")
    assert result.problems == []
    ops = [(c.type.value, c.operator) for c in result.document.segments[0].constraints]
    assert ("ENTITY_ID_COMPARISON_TYPE", "prefix") in ops and len(ops) == sum(len(v) for v in OPERATORS.values())


def test_malformed_yaml_is_a_problem_with_a_line() -> None:
    result = load_document(b"flags:\n  - key: a\n    name: [unclosed\n", "ns/features.yaml")
    [error] = result.problems
    assert error.line == 3 and "invalid YAML" in error.message and result.document is None


def test_duplicate_mapping_keys_are_errors() -> None:
    [error] = load_document(b"namespace: a\nflags: []\nnamespace: b\n", "x.yaml").problems
    assert error.line == 3 and "duplicate" in error.message


def test_bad_utf8_and_bad_json() -> None:
    [error] = load_document(b"namespace: a\nflags:\n  - key: \xff\n", "x.yaml").problems
    assert error.line == 3 and "UTF-8" in error.message
    [error] = load_document(b'{"namespace": "a",\n "flags": [}\n', "a/features.json").problems
    assert error.line == 2 and "invalid JSON" in error.message


def test_json_problems_get_lines() -> None:
    text = b'{\n  "namespace": "a",\n  "flags": [\n    {"key": "f", "name": ""}\n  ]\n}\n'
    [error] = load_document(text, "a/features.json").errors
    assert (error.path, error.line) == ("flags[0].name", 4)


def test_flow_style_problems_get_lines_from_the_slow_parser() -> None:
    text = "namespace: a\nflags: [{key: f, name: F},\n  {key: g, name: G, enabled: 3}]\n"
    [error] = load_document(text, "a/features.yaml").errors
    assert (error.path, error.line) == ("flags[1].enabled", 3)


def test_directory_and_namespace_mismatch_is_a_warning() -> None:
    result = load_document(b"namespace: other\n", "prod/features.yaml")
    [warning] = result.problems
    assert warning.severity == "warning" and warning.line == 1 and "directory 'prod'" in warning.message
    assert result.document is not None and result.document.namespace.key == "other"
