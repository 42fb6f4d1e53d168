"""The real-client oracle of flipt-clients §7: 80 outcomes for user-1..user-20 and the extended 1000-id strings,
observed from Flipt's own engine, reproduced by ours on the §7.1 fixture."""

from __future__ import annotations

import json

import pytest
from engine_docs import compiled
from server.oracle import BOOL_1000, VARIANT_1000

from evaluator.engine import Reason, evaluate_boolean, evaluate_variant

PRO = {"key": "pro-users", "constraints": [{"type": "STRING", "property": "plan", "operator": "eq", "value": "pro"}]}
FIFTY = [{"variant": "blue", "rollout": 50}, {"variant": "green", "rollout": 50}]


@pytest.fixture(scope="module")
def ns1():
    return compiled(
        [
            {"key": "bool-rollout", "enabled": False, "rollouts": [{"threshold": {"percentage": 50, "value": True}}]},
            {"key": "bool-rollout-on", "enabled": True, "rollouts": [{"threshold": {"percentage": 50, "value": False}}]},
            {"key": "variant-seg", "enabled": True,
             "variants": [{"key": "blue", "attachment": {"color": "#00f"}}, {"key": "green"}],
             "rules": [{"segment": "pro-users", "distributions": FIFTY}]},
            {"key": "variant-seg-dflt", "enabled": True,
             "variants": [{"key": "control", "default": True, "attachment": {"d": 1}}, {"key": "blue"}, {"key": "green"}],
             "rules": [{"segment": "pro-users", "distributions": FIFTY}]},
        ],
        [PRO],
        namespace="ns1",
    )


# entity: (bool-rollout, bool-rollout-on, variant-seg, variant-seg-dflt) — flipt-clients §7.2
TABLE = {
    1: (False, True, "green", "blue"), 2: (True, False, "blue", "blue"), 3: (False, True, "green", "green"),
    4: (True, False, "green", "green"), 5: (False, True, "blue", "blue"), 6: (True, False, "green", "green"),
    7: (False, True, "green", "green"), 8: (True, True, "blue", "blue"), 9: (True, True, "blue", "blue"),
    10: (False, False, "blue", "blue"), 11: (False, True, "green", "green"), 12: (False, True, "blue", "blue"),
    13: (True, True, "green", "green"), 14: (True, False, "green", "blue"), 15: (True, True, "blue", "green"),
    16: (True, False, "green", "green"), 17: (True, False, "green", "blue"), 18: (True, True, "green", "blue"),
    19: (True, False, "blue", "blue"), 20: (True, True, "blue", "blue"),
}


@pytest.mark.parametrize("n", sorted(TABLE))
def test_eighty_outcomes(ns1, n: int) -> None:
    entity = f"user-{n}"
    rollout, rollout_on, seg, dflt = TABLE[n]
    r = evaluate_boolean(ns1, "bool-rollout", entity, {})
    assert (r.enabled, r.reason, r.segment_keys) == (rollout, Reason.MATCH if rollout else Reason.DEFAULT, [])
    r = evaluate_boolean(ns1, "bool-rollout-on", entity, {})
    assert (r.enabled, r.reason) == (rollout_on, Reason.DEFAULT if rollout_on else Reason.MATCH)
    for key, variant in (("variant-seg", seg), ("variant-seg-dflt", dflt)):
        r = evaluate_variant(ns1, key, entity, {"plan": "pro"})
        assert (r.match, r.reason, r.variant_key, r.segment_keys) == (True, Reason.MATCH, variant, ["pro-users"])
    r = evaluate_variant(ns1, "variant-seg", entity, {"plan": "pro"})
    assert json.loads(r.variant_attachment) == ({"color": "#00f"} if seg == "blue" else None)
    r = evaluate_variant(ns1, "variant-seg", entity, {"plan": "free"})
    assert (r.match, r.reason, r.variant_key, r.variant_attachment, r.segment_keys) == (
        False, Reason.UNKNOWN, "", "", [],
    )
    r = evaluate_variant(ns1, "variant-seg-dflt", entity, {"plan": "free"})
    assert (r.match, r.reason, r.variant_key, json.loads(r.variant_attachment)) == (
        False, Reason.DEFAULT, "control", {"d": 1},
    )


def test_thousand_ids(ns1) -> None:
    bools, variants = BOOL_1000, VARIANT_1000
    assert (len(bools), bools.count("1"), len(variants), variants.count("b")) == (1000, 465, 1000, 527)
    got_bools = "".join("1" if evaluate_boolean(ns1, "bool-rollout", str(i), {}).enabled else "0" for i in range(1000))
    got_variants = "".join(
        evaluate_variant(ns1, "variant-seg", str(i), {"plan": "pro"}).variant_key[0] for i in range(1000)
    )
    assert got_bools == bools
    assert got_variants == variants
