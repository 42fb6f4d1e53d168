"""Building a document shares its small frozen models between flags that hold the same values (variants without an
attachment, rule targets, splits: issue 18, 100,000 flags build two models a flag instead of seven). The document
must equal pydantic's own validation of the same data, and changing one flag (as the console and the writer do, by
copying) must never change another."""

from __future__ import annotations

from gitstore.format.loader import load_document
from gitstore.format.models import build_flag
from gitstore.model.documents import Document, Variant

TEXT = """\
version: "1.6"
flags:
  - key: one
    name: One
    enabled: true
    variants: [{key: "on", default: true}, {key: "off"}, {key: x, attachment: {a: 1}}]
    rules:
      - segment: pro
        distributions: [{variant: "on", rollout: 50}, {variant: "off", rollout: 50.0}]
  - key: two
    name: Two
    variants: [{key: "on", default: true}, {key: "off"}, {key: x, attachment: {a: 1}}]
    rules:
      - segment: {keys: [pro]}
        distributions: [{variant: "on", rollout: 50}, {variant: "off", rollout: 50}]
      - segment: {keys: [pro, team], operator: AND_SEGMENT_OPERATOR}
        distributions: [{variant: "off", rollout: 100}]
segments:
  - {key: pro, name: Pro, match_type: ALL_MATCH_TYPE}
  - {key: team, name: Team, match_type: ANY_MATCH_TYPE}
"""


def test_shared_models_equal_pydantic_validation_and_a_copy_changes_one_flag_only() -> None:
    result = load_document(TEXT, "default/features.yaml")
    data = result.data
    assert result.errors == [] and data is not None
    document = result.document
    assert document is not None
    alone = tuple(build_flag(f) for f in data[0]["flags"])  # each flag built on its own, sharing nothing
    assert document.flags == alone and document.flags[0].variants[0] is not alone[1].variants[0]
    validated = Document.model_validate(document.model_dump())  # and as pydantic validates the same values
    one, two = document.flags
    assert one.variants[0] is two.variants[0] and one.rules[0].distributions[1] is two.rules[0].distributions[1]
    assert one.rules[0].segment == two.rules[0].segment  # no: "pro" and {keys: [pro]} are written differently
    assert one.variants[2] is not two.variants[2]  # an attachment is never shared
    assert document == validated and document.model_dump() == validated.model_dump()
    changed = one.model_copy(update={"variants": (one.variants[0].model_copy(update={"name": "On"}),
                                                  *one.variants[1:])})
    assert changed.variants[0] == Variant(key="on", name="On", default=True)
    assert two.variants[0] == Variant(key="on", default=True) and one.variants[0].name is None
