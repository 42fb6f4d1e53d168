"""Attachment texts (flipt-compatibility §4.8): one function, `attachment_text`, for evaluation results, the client snapshot
and the v1 flag list, written as Go's `json.Marshal` writes them (Flipt's fs snapshot marshals every variant's
attachment, so an attachment-less variant is `"null"` everywhere)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from evaluator.client_snapshot import build_client_snapshot
from evaluator.engine import attachment_text, compile_namespace
from evaluator.server.flag_list import flag_list_body
from gitstore.format.loader import load_document


@pytest.mark.parametrize(("value", "text"), [
    (None, "null"),
    ({}, "{}"),
    ([], "[]"),
    ({"z": 1, "a": [True, False, None, 1.5, -3]}, '{"a":[true,false,null,1.5,-3],"z":1}'),
    ({"html": "<b>&</b>"}, '{"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"}'),
    (["\u2028", "\u2029", "é"], '["\\u2028","\\u2029","é"]'),
    ({"outer": {"y": 2, "x": 1}}, '{"outer":{"x":1,"y":2}}'),
    ("plain", '"plain"'),
    (7, "7"),
    (True, "true"),
])
def test_attachment_text_is_go_json_marshal(value: Any, text: str) -> None:
    assert attachment_text(value) == text


FEATURES = b"""\
version: "1.6"
namespace: ns1
flags:
  - key: checkout
    name: Checkout
    enabled: true
    variants:
      - {key: a, attachment: {z: 1, a: "<b>", list: [1, true, null]}}
      - {key: b}
      - {key: c, default: true}
      - {key: d, attachment: [x, "&"]}
"""


def test_flag_list_and_client_snapshot_carry_the_same_attachment_texts() -> None:
    loaded = load_document(FEATURES, "ns1/features.yaml")
    assert loaded.document is not None, loaded.problems
    doc = loaded.document
    listed = orjson.loads(flag_list_body("ns1", doc))["flags"][0]
    texts = {v["key"]: v["attachment"] for v in listed["variants"]}
    assert texts == {v.key: attachment_text(v.attachment) for v in doc.flags[0].variants}
    assert texts["b"] == texts["c"] == "null"  # attachment-less: "null", not "" (flipt-compatibility §4.8)
    assert texts["a"] == '{"a":"\\u003cb\\u003e","list":[1,true,null],"z":1}'
    assert texts["d"] == '["x","\\u0026"]'
    snapshot = build_client_snapshot(compile_namespace(doc, "ns1/features.yaml"), "0" * 40)
    assert listed["defaultVariant"]["attachment"] == snapshot["flags"][0]["defaultVariant"]["attachment"] == "null"
