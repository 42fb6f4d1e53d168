"""Pilot tests of evaluate and explain: a match, a default, a disabled flag, a malformed context value; recent
contexts remembered per namespace in the state directory."""

from __future__ import annotations

import json
from pathlib import Path

from console.helpers import settle

from app.screens.evaluate import EvaluateScreen
from app.widgets.explain import ExplainView
from app.widgets.flag_table import FlagTable


async def open_evaluate(pilot, flag: str) -> None:
    await settle(pilot)
    pilot.app.screen.query_one(FlagTable).move_to(flag)
    await pilot.press("e")
    await settle(pilot)
    assert isinstance(pilot.app.screen, EvaluateScreen)


async def ask(pilot, entity: str, context: str) -> tuple[str, str]:
    screen = pilot.app.screen
    screen.query_one("#entity").value = entity
    screen.query_one("#context").value = context
    screen.query_one("#entity").focus()
    await pilot.press("enter")
    await settle(pilot)
    return str(screen.query_one("#eval-result").render()), str(screen.query_one(ExplainView).render())


async def test_match_explained(make_app, state_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_evaluate(pilot, "color-theme")
        result, why = await ask(pilot, "someone", "email=qa@example.com, plan=pro")
        assert "color-theme: match=yes  variant=dark  reason=MATCH_EVALUATION_REASON  segments=internal-users" in result
        assert "rule 1 (OR): match" in why
        assert 'STRING email suffix "@example.com": context "qa@example.com" -> match' in why
        assert "bucket: crc32(" in why and "dark: [0, 1000)  <- bucket" in why
        assert "result: variant dark, MATCH_EVALUATION_REASON, segments internal-users" in why
    saved = json.loads((state_dir / "recent-contexts.json").read_text())
    assert saved["namespaces"]["default"] == [{"entity": "someone",
                                               "context": {"email": "qa@example.com", "plan": "pro"}}]


async def test_default_and_malformed_values(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_evaluate(pilot, "search-ranking")
        result, why = await ask(pilot, "u1", "seats=lots, plan=pro")
        assert "search-ranking: match=no  variant=classic  reason=DEFAULT_EVALUATION_REASON" in result
        assert 'NUMBER seats gte "100": context "lots" -> no match (not a number)' in why
        assert "(1 more constraint not checked)" in why
        _, why = await ask(pilot, "u1", "plan=pro")
        assert 'NUMBER seats gte "100": value missing -> no match' in why
        result, why = await ask(pilot, "u1", "seats")
        assert "✗ context pair 'seats' is not key=value" in result and why == ""


async def test_disabled_flag_with_pending_edit(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one(FlagTable).move_to("color-theme")
        await pilot.press("space")  # pending: color-theme disabled
        await open_evaluate(pilot, "color-theme")
        result, why = await ask(pilot, "qa-1", "")
        assert "color-theme: match=no  variant=light  reason=FLAG_DISABLED_EVALUATION_REASON" in result
        assert "flag color-theme (VARIANT_FLAG_TYPE, disabled)" in why
        assert "flag disabled" in why and "result: variant light, FLAG_DISABLED_EVALUATION_REASON" in why


async def test_every_flag_and_recent_contexts(make_app, state_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_evaluate(pilot, "color-theme")
        await ask(pilot, "qa-1", "platform=ios")
        await ask(pilot, "u2", "seats=500, plan=pro")
        await pilot.press("ctrl+a")
        await settle(pilot)
        result = str(app.screen.query_one("#eval-result").render()).splitlines()
        assert [line.split(":")[0] for line in result] == ["maintenance-mode", "new-checkout", "color-theme",
                                                           "search-ranking"]
        assert "search-ranking: match=yes" in result[3] and "segments=large-accounts" in result[3]
        why = str(app.screen.query_one(ExplainView).render())
        assert why.count("\nresult: ") + why.startswith("result: ") == 4
        # the older context is offered again: pick it, it fills the boxes and evaluates
        await pilot.press("ctrl+r", "down", "enter")
        await settle(pilot)
        assert app.screen.query_one("#entity").value == "qa-1"
        assert app.screen.query_one("#context").value == "platform=ios"
        assert "color-theme: match=yes  variant=dark" in str(app.screen.query_one("#eval-result").render())
    recent = json.loads((state_dir / "recent-contexts.json").read_text())["namespaces"]["default"]
    assert [r["entity"] for r in recent] == ["qa-1", "u2"]  # newest first, each once


async def test_damaged_recents_file_is_kept_aside(make_app, state_dir: Path) -> None:
    state_dir.mkdir()
    (state_dir / "recent-contexts.json").write_text('{"namespaces": {"default": [\n  {"entity": 1}\n', "utf-8")
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_evaluate(pilot, "color-theme")
        label = str(app.screen.query_one("#recent-label").render())
        assert "recent-contexts.json:3: not JSON" in label and ".bad" in label
        await ask(pilot, "u1", "")
    assert (state_dir / "recent-contexts.json.bad").read_text().startswith('{"namespaces"')
    assert json.loads((state_dir / "recent-contexts.json").read_text())["namespaces"]["default"][0]["entity"] == "u1"


async def test_an_empty_entity_id_is_refused(make_app, state_dir: Path) -> None:
    """issue 14 #10: enter with no entity id says what is missing and records nothing in Recent."""
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_evaluate(pilot, "color-theme")
        result, _ = await ask(pilot, "  ", "plan=pro")
        assert result.startswith("✗ Entity id: type one first")
        assert app.focused is app.screen.query_one("#entity")
        assert "user-123" not in str(app.screen.query_one("#entity").placeholder)
    assert not (state_dir / "recent-contexts.json").exists()
