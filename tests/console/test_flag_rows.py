"""The flag list's rows built in one loop (`FlagsScreen.rows`, the console's first screen at 100,000 flags) are the
rows `FlagsScreen.row` builds one by one: boolean flags that may serve either value (evaluated or not yet), variant
flags, metadata, pending changes and change times."""

from __future__ import annotations

from datetime import timedelta

from app.insight.served import may_differ
from app.screens.flags import FlagsScreen
from gitstore.model.changes import Kind
from gitstore.model.documents import FlagType, Rollout, RolloutThreshold

from .helpers import settle


async def test_rows_in_one_loop_are_the_rows_one_by_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FlagsScreen)
        await pilot.press("space")  # a pending toggle of the first flag
        await settle(pilot)
        s = app.session
        doc = s.document()
        assert doc is not None and len(doc.flags) >= 4
        pending = {p.change.key for p in s.pending_for() if p.change.kind is Kind.FLAG}
        assert pending
        changed = dict(s.last_change.get((s.env, s.namespace), {}))
        assert changed  # the history has been read: change times in words
        now = s.clock()
        boolean = next(f for f in doc.flags if f.type is FlagType.BOOLEAN)
        half = boolean.model_copy(update={"key": "half", "rollouts": (
            Rollout(threshold=RolloutThreshold(percentage=50, value=not boolean.enabled)),)})
        nobody = half.model_copy(update={"key": "nobody", "rollouts": (  # evaluated, and all get the switch's value
            Rollout(threshold=RolloutThreshold(percentage=0, value=not boolean.enabled)),)})
        assert may_differ(half) and may_differ(nobody)
        flags = (*doc.flags, half, nobody)
        changed |= {f"flag:{f.key}": now - timedelta(minutes=5 * n) for n, f in enumerate(flags[1:])}
        for served_known in (False, True):
            if served_known:  # the boolean flags that may differ evaluated: their state in words
                for flag in flags:
                    screen.console.insight.served.compute(doc, flag)
            screen.unknown_served = []
            one_by_one = [screen.row(f, changed, pending, now, doc) for f in flags]
            unknown_then = list(screen.unknown_served)
            screen.unknown_served = []
            assert screen.rows(flags, changed, pending, now, doc) == one_by_one
            assert screen.unknown_served == unknown_then
            assert screen.rows(flags, {}, set(), now, None) == [screen.row(f, {}, set(), now, None) for f in flags]
        assert any(row.state for row in one_by_one) and any(row.changed for row in one_by_one)
        assert any(row.pending for row in one_by_one)
