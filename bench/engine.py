"""Engine speed: ours against Flipt's own Rust engine (PyPI `flipt-client`, in-process through its FFI) on the same
snapshot and inputs; compile time of a 10,000-flag namespace; impact preview and client snapshot costs.

    .venv/bin/python bench/engine.py

Targets (issue 2): ours >= 5x faster per evaluation than flipt-client; compiling 10,000 flags < 1 s;
impact of one flag over 10,000 entities well under 1 s (issue 6). Prints medians of several runs.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]  # the test suite's generator and Flipt peer

import orjson  # noqa: E402
from flipt_peer import flipt_client, snapshot_server  # noqa: E402
from random_namespaces import random_inputs, random_namespace  # noqa: E402

from bench._common import RUNS, median_time, side_by_side  # noqa: E402
from evaluator.client_snapshot import build_client_snapshot  # noqa: E402
from evaluator.engine import Trace, compile_namespace, evaluate_boolean, evaluate_variant  # noqa: E402
from evaluator.engine.impact import build_population, impact  # noqa: E402
from evaluator.server.state import build_namespace  # noqa: E402

FLAGS = 1_000
CASES = 4_000


def evaluations() -> None:
    doc = random_namespace(101, n_flags=FLAGS, n_segments=120)
    ns = compile_namespace(doc)
    rng = random.Random(5)
    inputs = random_inputs(101, 400)
    keys = ns.flag_keys
    cases = [(k, *rng.choice(inputs), ns.flags[k].is_boolean) for k in (rng.choice(keys) for _ in range(CASES))]

    def ours() -> None:
        for key, entity, context, boolean in cases:
            (evaluate_boolean if boolean else evaluate_variant)(ns, key, entity, context)

    def ours_traced() -> None:
        for key, entity, context, boolean in cases:
            (evaluate_boolean if boolean else evaluate_variant)(ns, key, entity, context, Trace())

    body = orjson.dumps(build_client_snapshot(ns, "b" * 40))
    with snapshot_server() as server:
        server.bodies[ns.key] = ("b" * 40, body)
        with flipt_client(server, ns.key) as client:
            def theirs() -> None:
                for key, entity, context, boolean in cases:
                    (client.evaluate_boolean if boolean else client.evaluate_variant)(key, entity, context)

            ours()  # warm up both
            theirs()
            t_ours, t_theirs, t_traced = side_by_side(ours, theirs, ours_traced)
    n = len(cases)
    print(f"evaluations: {FLAGS} mixed flags, {n} (flag, entity, context) cases, median of {RUNS} alternating runs")
    print(f"  ours            {n / t_ours:>12,.0f} eval/s  {t_ours / n * 1e6:7.2f} us/eval")
    print(f"  ours, traced    {n / t_traced:>12,.0f} eval/s  {t_traced / n * 1e6:7.2f} us/eval")
    print(f"  flipt-client    {n / t_theirs:>12,.0f} eval/s  {t_theirs / n * 1e6:7.2f} us/eval")
    print(f"  ratio ours/flipt-client: {t_theirs / t_ours:.1f}x faster (target >= 5x)")


def compile_and_snapshot() -> None:
    doc = random_namespace(202, n_flags=10_000, n_segments=400)
    t_compile = median_time(lambda: compile_namespace(doc))
    ns = compile_namespace(doc)
    t_snapshot = median_time(lambda: orjson.dumps(build_client_snapshot(ns, "c" * 40)))
    print(f"compile a 10,000-flag namespace: {t_compile * 1000:.0f} ms median (target < 1000 ms)")
    print(f"client snapshot of 10,000 flags, built and serialised: {t_snapshot * 1000:.0f} ms median")
    lazy, eager = side_by_side(lambda: build_namespace("ns", "c", doc, "d"),
                               lambda: build_namespace("ns", "c", doc, "d").flag_items.get())
    print(f"served state of 10,000 flags: {lazy * 1000:.0f} ms with the v1 flag list left to its first request, "
          f"{eager * 1000:.0f} ms with it built at load (ratio {lazy / eager:.2f})")


def impact_preview() -> None:
    doc = random_namespace(303, n_flags=200, n_segments=40)
    before = compile_namespace(doc)
    flipped = doc.model_copy(update={"flags": tuple(
        f.model_copy(update={"enabled": not f.enabled}) if i % 2 else f for i, f in enumerate(doc.flags)
    )})
    after = compile_namespace(flipped)
    key = next(k for k, f in before.flags.items() if f.rules and not f.is_boolean)
    t_population = median_time(lambda: build_population(doc, n=10_000, seed=1))
    population = build_population(doc, n=10_000, seed=1)
    t_impact = median_time(lambda: impact(before, after, key, population))
    print(f"impact of one flag over 10,000 entities: {t_impact * 1000:.0f} ms median "
          f"(+ {t_population * 1000:.0f} ms to build the population)")


def main() -> None:
    evaluations()
    compile_and_snapshot()
    impact_preview()


if __name__ == "__main__":
    main()
