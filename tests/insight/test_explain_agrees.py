"""The console's explain (evaluation with a trace, over the document as edited) gives the evaluator's own answers
on the differential generator's namespaces and inputs, and its trace ends with that answer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from app.insight.explain import describe_result, explain
from evaluator.engine import compile_namespace, evaluate

GENERATOR = Path(__file__).resolve().parent.parent / "engine" / "random_namespaces.py"


def generator():
    if str(GENERATOR.parent) not in sys.path:  # the generator imports its neighbours
        sys.path.append(str(GENERATOR.parent))
    spec = importlib.util.spec_from_file_location("insight_random_namespaces", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_explain_agrees_with_evaluation() -> None:
    gen = generator()
    checked = 0
    for seed in range(12):
        doc = gen.random_namespace(seed, n_flags=25)
        compiled = compile_namespace(doc)
        for entity, context in gen.random_inputs(seed, 20):
            evaluation = explain(doc, None, entity, context)
            assert [r.flag_key for r in evaluation.results] == [f.key for f in doc.flags]
            for found in evaluation.results:
                expected = evaluate(compiled, found.flag_key, entity, context)
                assert found.summary == describe_result(expected)
                reason = expected.reason.value
                assert found.why[-1].startswith("result: ") and reason in found.why[-1]
                checked += 1
    assert checked == 12 * 20 * 25
