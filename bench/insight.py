"""Console insight speed (issue 6), medians of several runs, side by side:

1. the review screen's impact preview of one flag over 10,000 entities (population + two compiles + evaluation),
   against the engine's bare `impact()` on a ready population;
2. explain (evaluation with the trace) against plain evaluation, every flag of a 1,000-flag namespace;
3. live refresh: another writer commits -> the console has read the new snapshot and said who changed what;
4. typing while the impact preview computes: one keystroke in the commit message, idle against busy.

    .venv/bin/python bench/insight.py

Targets: impact of one flag over 10,000 entities well under 1 s; refresh within 1 s; typing not blocked.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "engine")]

from random_namespaces import random_inputs, random_namespace  # noqa: E402

from app.insight.explain import explain  # noqa: E402
from app.insight.impact import compute_impacts, population  # noqa: E402
from bench._common import RUNS, side_by_side  # noqa: E402
from evaluator.engine import compile_namespace, evaluate  # noqa: E402
from evaluator.engine.impact import impact  # noqa: E402
from gitstore.config import load_config  # noqa: E402
from gitstore.demo import init_demo  # noqa: E402
from gitstore.model.changes import Change, Kind  # noqa: E402
from gitstore.store import Author, Store  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def bench_impact(store: Store) -> None:
    doc = store.snapshot("production").document("default")
    flag = doc.flag("search-ranking")
    after = doc.model_copy(update={"flags": tuple(
        f.model_copy(update={"enabled": not f.enabled}) if f is flag else f for f in doc.flags)})
    people = population(after)
    old, new = compile_namespace(doc), compile_namespace(after)
    console, bare = side_by_side(lambda: compute_impacts("default", doc, after),
                                 lambda: impact(old, new, "search-ranking", people))
    print(f"impact, 1 flag x {len(people):,} entities: review preview {ms(console)}   bare impact() {ms(bare)}"
          f"   ratio {console / bare:.2f}")


def bench_explain() -> None:
    doc = random_namespace(7, n_flags=1_000)
    entity, context = random_inputs(8, 1)[0]
    keys = [f.key for f in doc.flags]

    def plain_run() -> None:
        compiled = compile_namespace(doc)
        for key in keys:
            evaluate(compiled, key, entity, context)

    traced, plain = side_by_side(lambda: explain(doc, None, entity, context), plain_run)
    print(f"every flag of 1,000 (compile included): explain {ms(traced)}   plain evaluate {ms(plain)}"
          f"   ratio {traced / plain:.2f}")


WAIT_LIMIT = 30.0  # seconds: a lost event fails the bench instead of hanging it


async def bench_console(config: Path) -> None:
    from app.console import ConsoleApp
    from app.session import Session

    store, other = Store(load_config(config)), Store(load_config(config))
    session = Session(store, env="production", author=("Bench", "bench@localhost"))
    app = ConsoleApp(session, cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(lambda: session.snapshot() is not None, "the console's first snapshot", pilot)
            latencies = []
            for i in range(RUNS):
                doc = other.snapshot("production").document("default")
                flag = doc.flag("color-theme")
                started = time.perf_counter()
                other.commit("production", [Change("default", Kind.FLAG, flag.key, flag.model_copy(
                    update={"description": f"edit {i}"}))], Author("Other", "other@localhost"))
                await until(lambda i=i: len(app.insight.moves) > i, f"the console to see commit {i}", pilot)
                latencies.append(time.perf_counter() - started)
            print(f"live refresh (commit elsewhere -> console updated, told who): median {ms(statistics.median(latencies))}"
                  f"   max {ms(max(latencies))}")
            await pilot.press("space", "ctrl+s")
            await pilot.pause(0.2)
            await app.workers.wait_for_complete()
            await pilot.press("m")
            await pilot.pause(0.1)
            idle = [await keystroke(pilot) for _ in range(15)]
            app.insight.population_size = 400_000
            panel = app.screen.query_one("#impact")
            app.screen.fill()
            busy = []
            while panel.state == "computing" and len(busy) < 30:
                busy.append(await keystroke(pilot))
                await asyncio.sleep(0.02)
            await app.workers.wait_for_complete()
            print(f"keystroke in the review screen: idle {ms(statistics.median(idle))}   while the impact preview "
                  f"computes ({len(busy)} keys) {ms(statistics.median(busy))}   ratio "
                  f"{statistics.median(busy) / statistics.median(idle):.2f}")
    finally:
        store.close()
        other.close()


async def keystroke(pilot) -> float:
    """From the key event entering the app to the commit message holding the character. (Not `pilot.press`: it
    waits until the whole process is idle, which a busy worker thread never is.)"""
    from textual import events

    area = pilot.app.screen.query_one("#commit-message")
    before = len(area.text)
    started = time.perf_counter()
    pilot.app._driver.send_message(events.Key("a", "a"))
    deadline = started + WAIT_LIMIT
    while len(area.text) == before:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"a keystroke did not reach the commit message within {WAIT_LIMIT:.0f} s")
        await asyncio.sleep(0.0002)
    return time.perf_counter() - started


async def until(done, what: str, pilot) -> None:  # noqa: ANN001
    """Wait for `done()`, failing the bench (not hanging it) when it has not happened within WAIT_LIMIT."""
    deadline = time.perf_counter() + WAIT_LIMIT
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {WAIT_LIMIT:.0f} s for {what}")
        await pilot.pause(0.002)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("FLAGDECK_STATE_DIR", str(Path(tmp) / "state"))
        config = init_demo(Path(tmp) / "demo")
        with Store(load_config(config)) as store:
            bench_impact(store)
        bench_explain()
        asyncio.run(bench_console(config))


if __name__ == "__main__":
    main()
