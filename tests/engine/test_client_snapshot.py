"""The client snapshot document (flipt-compatibility §6.4, flipt-clients §2.4), and Flipt's Rust engine reading it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from engine_docs import compiled, make_doc
from flipt_peer import flipt_client, snapshot_server

from evaluator.client_snapshot import build_client_snapshot

SEGMENTS = [
    {"key": "pro", "match_type": "ANY_MATCH_TYPE", "constraints": [
        {"type": "STRING", "property": "plan", "operator": "isoneof", "value": ["pro", "team"]},
        {"type": "NUMBER", "property": "seats", "operator": "gte", "value": "10"}]},
    {"key": "broken", "constraints": [{"type": "DATETIME", "property": "at", "operator": "lt", "value": "soon"}]},
    {"key": "staff", "constraints": [{"type": "ENTITY_ID", "property": "id", "operator": "suffix", "value": "@corp"}]},
]
FLAGS = [
    {"key": "checkout", "enabled": True,
     "variants": [{"key": "a", "attachment": {"z": 1, "a": "<b>"}}, {"key": "b"}, {"key": "c", "default": True}],
     "rules": [
         {"segment": {"keys": ["pro", "broken", "pro"], "operator": "AND_SEGMENT_OPERATOR"},
          "distributions": [{"variant": "a", "rollout": 33.33}, {"variant": "b", "rollout": 66.67}]},
         {"segment": "staff", "distributions": [{"variant": "b", "rollout": 100}]},
     ]},
    {"key": "dark", "enabled": False, "rollouts": [
        {"description": "staff", "segment": {"keys": ["staff", "broken"], "value": True}},
        {"threshold": {"percentage": 12.5, "value": True}}]},
]
WHEN = datetime(2026, 8, 22, 10, 0, tzinfo=UTC)


def test_document_shape() -> None:
    doc = build_client_snapshot(compiled(FLAGS, SEGMENTS, namespace="ns1"), "e" * 40, built_at=WHEN)
    assert doc["namespace"] == {"key": "ns1"} and doc["digest"] == "e" * 40
    checkout, dark = doc["flags"]
    assert {k: checkout[k] for k in ("key", "name", "description", "enabled", "type", "createdAt", "rollouts")} == {
        "key": "checkout", "name": "", "description": "", "enabled": True, "type": "VARIANT_FLAG_TYPE",
        "createdAt": "2026-08-22T10:00:00Z", "rollouts": [],
    }
    assert checkout["defaultVariant"] == {"id": "checkout/c", "key": "c", "attachment": "null"}
    rule1, rule2 = checkout["rules"]
    assert [rule1["rank"], rule2["rank"]] == [1, 2]
    assert rule1["segmentOperator"] == "AND_SEGMENT_OPERATOR"
    assert [s["key"] for s in rule1["segments"]] == ["pro"]  # "broken" dropped, the repeated key once
    assert rule1["segments"][0] == {
        "key": "pro", "name": "", "description": "", "matchType": "ANY_SEGMENT_MATCH_TYPE",
        "constraints": [
            {"type": "STRING_CONSTRAINT_COMPARISON_TYPE", "property": "plan", "operator": "isoneof",
             "value": '["pro","team"]'},
            {"type": "NUMBER_CONSTRAINT_COMPARISON_TYPE", "property": "seats", "operator": "gte", "value": "10"}],
    }
    assert rule1["distributions"] == [
        {"ruleId": rule1["id"], "variantKey": "a", "variantAttachment": '{"a":"\\u003cb\\u003e","z":1}', "rollout": 33.33},
        {"ruleId": rule1["id"], "variantKey": "b", "variantAttachment": "null", "rollout": 66.67},
    ]
    assert rule2["segments"][0]["constraints"][0]["type"] == "ENTITY_ID_CONSTRAINT_COMPARISON_TYPE"
    assert rule1["id"] != rule2["id"] and len(rule1["id"]) == 36
    assert "defaultVariant" not in dark and dark["type"] == "BOOLEAN_FLAG_TYPE"
    assert dark["rollouts"] == [
        {"rank": 1, "description": "staff", "type": "SEGMENT_ROLLOUT_TYPE",
         "segment": {"value": True, "segmentOperator": "OR_SEGMENT_OPERATOR", "segments": [rule2["segments"][0]]}},
        {"rank": 2, "description": "", "type": "THRESHOLD_ROLLOUT_TYPE", "threshold": {"percentage": 12.5, "value": True}},
    ]
    # the same commit gives the same bytes; a document compiles on the way in
    again = build_client_snapshot(make_doc(FLAGS, SEGMENTS, namespace="ns1"), "e" * 40, built_at=WHEN)
    assert orjson.dumps(again) == orjson.dumps(doc)


def test_flipts_engine_reads_it() -> None:
    ns = compiled(FLAGS, SEGMENTS, namespace="ns1")
    body = orjson.dumps(build_client_snapshot(ns, "f" * 40))
    with snapshot_server() as server:
        server.bodies["ns1"] = ("f" * 40, body)
        with flipt_client(server, "ns1") as client:
            flags = {f.key: f for f in client.list_flags()}
            staff = client.evaluate_variant("checkout", "ann@corp", {})
            pro = client.evaluate_variant("checkout", "bob", {"plan": "team"})
            dark = client.evaluate_boolean("dark", "ann@corp", {})
    assert set(flags) == {"checkout", "dark"} and flags["dark"].type.value == "BOOLEAN_FLAG_TYPE"
    assert (staff.variant_key, staff.segment_keys) == ("b", ["staff"])
    assert (pro.match, pro.segment_keys) == (True, ["pro"])  # AND over what is left after dropping "broken"
    assert (dark.enabled, dark.reason, dark.segment_keys) == (True, "MATCH_EVALUATION_REASON", ["staff"])
    assert server.requests[0] == "/internal/v1/evaluation/snapshot/namespace/ns1"
