"""The flag list's rows built in one loop (`FlagsScreen.rows`, the console's first screen at 100,000 flags) are the
rows `FlagsScreen.row` builds one by one: boolean flags that may serve either value (evaluated or not yet), variant
flags, metadata, pending changes and change times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.insight.served import may_differ
from app.screens.flags import FlagsScreen
from app.widgets.flag_table import FlagTable
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import FlagType, Rollout, RolloutThreshold

from .helpers import ADA, T0, TESS, commit_files, open_store, settle


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


VARIED = b"""\
version: "1.4"
namespace: varied
flags:
  - key: plain-variant
    name: Plain variant
    type: VARIANT_FLAG_TYPE
    enabled: true
    variants: [{key: a, default: true}, {key: b}]
    rules:
      - segment: everyone
        distributions: [{variant: a, rollout: 50}, {variant: b, rollout: 50}]
      - segment: {keys: [everyone, beta], operator: AND_SEGMENT_OPERATOR}
  - key: no-type-no-enabled
    name: Neither type nor enabled said
  - key: Upper-Owner
    name: zeta owned
    enabled: false
    metadata: {owner: "  team-checkout  ", lifecycle: temporary, expires: "2026-03-31"}
  - key: permanent-one
    name: Alpha permanent
    metadata: {lifecycle: permanent, note: other keys too}
  - key: other-metadata
    name: Only other metadata
    metadata: {note: nothing of the lifecycle}
  - key: bool-off-all-true
    name: Off, a 100% rollout serves true
    type: BOOLEAN_FLAG_TYPE
    enabled: false
    rollouts: [{threshold: {percentage: 100, value: true}}]
  - key: bool-on-same
    name: On, its rollouts serve true too
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts:
      - {segment: {key: beta, value: true}}
      - {threshold: {percentage: 20, value: true}}
  - key: bool-bare
    name: Boolean without rollouts
    type: BOOLEAN_FLAG_TYPE
    enabled: true
  - key: bool-segment-other
    name: On, a segment gets false
    type: BOOLEAN_FLAG_TYPE
    enabled: true
    rollouts: [{segment: {keys: [beta, everyone], operator: AND_SEGMENT_OPERATOR}}]
segments:
  - {key: everyone, name: Everyone, match_type: ALL_MATCH_TYPE}
  - key: beta
    name: Beta
    match_type: ANY_MATCH_TYPE
    constraints: [{type: STRING_COMPARISON_TYPE, property: plan, operator: eq, value: beta}]
"""


def varied_config(config_path: Path) -> None:
    commit_files(config_path.parent / "repo", {"production/varied/features.yaml": VARIED}, ADA,
                 "create namespace varied", T0 + timedelta(hours=4))


@asynccontextmanager
async def varied_list(make_app: Any, config_path: Path) -> AsyncIterator[tuple[Any, Any, FlagsScreen]]:
    """The console open on the `varied` namespace's flag list, settled: (app, pilot, screen)."""
    varied_config(config_path)
    app = make_app(namespace="varied")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FlagsScreen)
        yield app, pilot, app.screen


def test_plain_flags_only_while_the_document_is_not_built_and_nothing_is_pending(config_path: Path) -> None:
    from app.session import Session

    varied_config(config_path)
    with open_store(config_path) as store:
        s = Session(store, env="production", namespace="varied", author=TESS, freeze_gc=True)
        s.open(build=False)
        source = s.snapshot().namespaces["varied"].source
        assert source.built == ()
        plain = s.plain_flags()
        assert plain is not None and [f["key"] for f in plain][:2] == ["plain-variant", "no-type-no-enabled"]
        assert s.plain_flags(namespace="missing") is None
        flag = s.document().flags[0]  # building it ends the plain data's use
        assert s.plain_flags() is None
        s.build_documents(namespace="default")
        assert s.snapshot().namespaces["default"].source.built == ("default",)
        s.build_documents()
        assert all(key in ns.source.built for key, ns in s.snapshot().namespaces.items())  # every namespace
    with open_store(config_path) as store:
        s = Session(store, env="production", namespace="varied", author=TESS)
        s.open(build=False)
        assert s.plain_flags() is not None
        s.stage(Change("varied", Kind.FLAG, flag.key, flag.model_copy(update={"name": "renamed"})))
        assert s.plain_flags() is None  # a pending edit of the namespace: the document, with the edit
        assert s.plain_flags(namespace="default") is not None


async def test_rows_from_plain_data_are_the_rows_of_the_document(make_app, config_path: Path) -> None:
    """`plain_rows` over the file's checked plain data = `rows` over the document built from it, for every shape of
    flag (types and `enabled` left out, lifecycle metadata, boolean flags that may serve either value or not), with
    pending edits and change times; and the boolean flags left unknown are the ones `rows` leaves unknown."""
    from app.insight.served import ServedCache

    async with varied_list(make_app, config_path) as (app, pilot, screen):
        with open_store(config_path) as store:  # a snapshot of its own: its document is not built yet
            found = store.snapshot("production").namespaces["varied"]
            parts = found.source.parts("varied")
            plain = [f for part in parts for f in part["flags"]]
            doc = found.document
        now = app.session.clock()
        changed = {f"flag:{f.key}": now - timedelta(minutes=7 * n) for n, f in enumerate(doc.flags[2:])}
        for pending in (set(), {"bool-bare", "Upper-Owner"}):
            for when in ({}, changed):
                app.insight.served = ServedCache()  # nothing evaluated yet, as for a document just built
                screen.unknown_served = []
                expected = screen.rows(doc.flags, when, pending, now, doc)
                rows, may = screen.plain_rows(plain, when, pending, now)
                assert rows == expected
                assert may is bool(screen.unknown_served)
        assert may and {f.key for f in screen.unknown_served} == {"bool-off-all-true", "bool-segment-other"}
        assert {r.owner for r in rows} == {"", "team-checkout"} and {r.life for r in rows} == {"", "temporary",
                                                                                            "permanent"}
        assert {r.kind for r in rows} == {"variant", "boolean"} and {r.rules for r in rows} == {0, 1, 2}


async def test_the_list_shown_is_the_list_of_the_built_document(make_app, config_path: Path) -> None:
    """The first screen shows rows from plain data, then builds the document, evaluates its boolean flags and
    reads the change times (patched in): the rows then on screen are the rows the document gives."""
    async with varied_list(make_app, config_path) as (app, pilot, screen):
        s = app.session
        assert "varied" in s.snapshot().namespaces["varied"].source.built
        assert (s.env, s.namespace) in s.last_change  # the history was read (its commit names no flag yet)
        changed = s.last_change[(s.env, s.namespace)]
        table = screen.query_one(FlagTable)
        doc = s.document()
        screen.unknown_served = []
        expected = screen.rows(doc.flags, changed, set(), s.clock(), doc)
        assert screen.unknown_served == []  # evaluated in the background
        assert sorted(table.rows) == sorted(expected)
        assert any(r.state for r in table.rows)
        # a later commit names flags: their change times are patched into the rows shown
        text = VARIED.replace(b"name: Boolean without rollouts", b"name: Boolean, renamed")
        commit_files(config_path.parent / "repo", {"production/varied/features.yaml": text}, ADA,
                     "update flag varied/bool-bare\nupdate flag varied/plain-variant", T0 + timedelta(hours=5))
        await pilot.press("r")
        await settle(pilot)
        changed = s.last_change.get((s.env, s.namespace), {})
        assert {"flag:bool-bare", "flag:plain-variant"} <= set(changed)
        doc = s.document()
        expected = screen.rows(doc.flags, changed, set(), s.clock(), doc)
        assert sorted(table.rows) == sorted(expected)
        assert {r.key: r.changed for r in table.rows}["bool-bare"] == "21h ago"


async def test_first_rows_from_plain_data_then_the_document_fills_what_needs_it(make_app, config_path: Path) -> None:
    """Shown from plain data, the boolean flags that may serve either value have no state yet; once the document
    is built (`_built`) they are evaluated and shown. Change times read later are patched into the rows shown,
    which are then the rows of the whole document."""
    async with varied_list(make_app, config_path) as (app, pilot, screen):
        s = app.session
        table = screen.query_one(FlagTable)
        with open_store(config_path) as store:
            s.snapshots[s.env] = store.snapshot(s.env)  # as read by a first load: the documents not built
            screen.show_rows()
            assert s.plain_flags() is not None and screen.served_pending
            assert {r.key: r.state for r in table.rows}["bool-off-all-true"] == ""
            await pilot.pause()
            assert s.plain_flags() is not None  # nothing built it meanwhile
            s.build_documents()
            screen._built()
            await settle(pilot)
            assert {r.key: r.state for r in table.rows}["bool-off-all-true"] == "off (all get true)"
            now = s.clock()
            s.last_change[(s.env, s.namespace)] = {"flag:bool-bare": now - timedelta(hours=3),
                                                   "flag:plain-variant": now - timedelta(days=2)}
            screen.changes_loaded()
            assert {r.key: r.changed for r in table.rows if r.changed} == {"bool-bare": "3h ago",
                                                                           "plain-variant": "2d ago"}
            doc = s.document()
            expected = screen.rows(doc.flags, s.last_change[(s.env, s.namespace)], set(), now, doc)
            assert sorted(table.rows) == sorted(expected)
