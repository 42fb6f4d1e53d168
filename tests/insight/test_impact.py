"""The impact preview in the review screen, on constructed changes whose expected shares are known exactly."""

from __future__ import annotations

import json
from pathlib import Path

from console.helpers import settle

from app.insight.impact import affected_flags, load_sample
from app.widgets.impact_panel import ImpactPanel
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import SegmentRef


def write_sample(path: Path, total: int, ios: int) -> Path:
    """`total` entities, exactly `ios` of them on iOS; none is staff, none a beta tester."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(total):
            context = {"platform": "ios" if i < ios else "web", "email": f"user{i}@shop.test", "seats": i}
            fh.write(json.dumps({"entityId": f"customer-{i}", "context": context}) + "\n")
    return path


async def review_impacts(app, pilot) -> ImpactPanel:
    await pilot.press("ctrl+s")
    await settle(pilot)
    panel = app.screen.query_one(ImpactPanel)
    assert panel.state == "done", panel.state
    return panel


async def test_share_from_a_sample_is_exact(make_app, tmp_path: Path) -> None:
    """color-theme's first rule (dark for 100%) moves from internal users to mobile users: exactly the 124 iOS
    entities of 1,000 go from light (the default) to dark; nothing else moves."""
    app = make_app()
    app.insight.sample = load_sample(write_sample(tmp_path / "sample.jsonl", 1000, 124))
    app.insight.population_size = 0
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        flag = app.session.find(Kind.FLAG, "color-theme")
        first = flag.rules[0].model_copy(update={"segment": SegmentRef(keys=("mobile-users",))})
        app.session.stage(Change("default", Kind.FLAG, "color-theme",
                                 flag.model_copy(update={"rules": (first, *flag.rules[1:])})))
        panel = await review_impacts(app, pilot)
        [found] = panel.impacts
        assert (found.flag_key, found.impact.total, found.impact.changed) == ("color-theme", 1000, 124)
        assert found.lines() == ["12.4% of entities: light -> dark"]
        text = str(panel.render())
        assert "Impact on 1,000 sample entities" in text and "12.4% of entities: light -> dark" in text


async def test_generated_population_and_a_segment_edit(make_app) -> None:
    """Enabling the rollout-less kill switch moves all 10,000 generated entities from false to true; a segment edit
    is charged to the flag that uses it."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        switch = app.session.find(Kind.FLAG, "maintenance-mode")
        app.session.stage(Change("default", Kind.FLAG, "maintenance-mode", switch.model_copy(update={"enabled": True})))
        large = app.session.find(Kind.SEGMENT, "large-accounts")
        app.session.stage(Change("default", Kind.SEGMENT, "large-accounts",
                                 large.model_copy(update={"constraints": large.constraints[:1]})))
        panel = await review_impacts(app, pilot)
        found = {i.flag_key: i.impact for i in panel.impacts}
        assert list(found) == ["maintenance-mode", "search-ranking"]
        assert (found["maintenance-mode"].total, found["maintenance-mode"].changed) == (10_000, 10_000)
        assert [str(s) for s in found["maintenance-mode"].shifts] == ["100.0% of entities: false -> true"]
        # dropping "plan != free" lets free large accounts into the 25% semantic bucket: some move, never all
        assert 0 < found["search-ranking"].changed < 10_000
        assert {(s.before, s.after) for s in found["search-ranking"].shifts} == {("classic", "semantic")}
        await pilot.press("d")  # discard the kill switch: the preview follows
        await settle(pilot)
        assert [i.flag_key for i in app.screen.query_one(ImpactPanel).impacts] == ["search-ranking"]


def test_affected_flags_follow_segments(make_app) -> None:
    from gitstore.demo import demo_features
    from gitstore.format.loader import load_document

    doc = load_document(demo_features("production").encode(), "features.yaml").document
    mobile = doc.segment("mobile-users")
    edited = doc.model_copy(update={"segments": tuple(
        s.model_copy(update={"name": "Phones"}) if s is mobile else s for s in doc.segments)})
    assert affected_flags(doc, edited) == ["color-theme"]
    assert affected_flags(doc, doc) == []
    assert affected_flags(doc, None) == [f.key for f in doc.flags]


def test_previews_are_capped_per_namespace() -> None:
    """A segment used by 40 flags: the first MAX_FLAGS are previewed, the rest counted."""
    from app.insight.impact import MAX_FLAGS
    from app.widgets.impact_panel import render_impacts, run_impacts
    from gitstore.demo import demo_features
    from gitstore.format.loader import load_document

    doc = load_document(demo_features("production").encode(), "features.yaml").document
    theme = doc.flag("color-theme")
    many = doc.model_copy(update={"flags": tuple(theme.model_copy(update={"key": f"theme-{i}"}) for i in range(40))})
    segments = tuple(s.model_copy(update={"name": "Phones"}) if s.key == "mobile-users" else s
                     for s in many.segments)
    impacts, skipped = run_impacts([("default", many, many.model_copy(update={"segments": segments}))], [], 200)
    assert [i.flag_key for i in impacts] == [f"theme-{i}" for i in range(MAX_FLAGS)] and skipped == 40 - MAX_FLAGS
    assert f"… and {40 - MAX_FLAGS} more affected flags" in str(render_impacts(impacts, 200, skipped))
