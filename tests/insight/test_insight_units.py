"""The insight pieces without the console: state directory, field-by-field merge, what moved and who moved it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from console.helpers import ADA, BOB, NOW, commit_files, head_commit, open_store

from app.insight.conflicts import Conflict, field_choices, find_conflicts, merged_value
from app.insight.moves import describe_move
from app.insight.recents import state_dir
from app.session_edits import Pending
from gitstore.model.changes import Change, Kind


def test_state_dir_precedence(tmp_path: Path) -> None:
    assert state_dir({"FLAGDECK_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/s")
    assert state_dir({"XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/x/flagdeck")
    assert state_dir({"HOME": "/h"}) == Path("/h/.local/state/flagdeck")


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the deliberately broken value below
def test_merge_presets_each_sides_edit_and_validates(config_path: Path) -> None:
    with open_store(config_path) as store:
        snap = store.snapshot("production")
    base = snap.document("default").flag("color-theme")
    mine = base.model_copy(update={"enabled": False, "name": "Mine"})
    theirs = base.model_copy(update={"description": "Theirs", "name": "Theirs"})
    conflict = Conflict(Pending("production", Change("default", Kind.FLAG, base.key, mine), base, snap.commit),
                        theirs, "c0ffee00")
    choices = {c.name: c for c in field_choices(conflict)}
    assert {n: (c.theirs, c.both_changed) for n, c in choices.items()} == {
        "name": (False, True), "description": (True, False), "enabled": (False, False)}
    merged = merged_value(conflict, list(choices.values()))
    assert (merged.name, merged.description, merged.enabled) == ("Mine", "Theirs", False)
    choices["name"].theirs = True
    assert merged_value(conflict, list(choices.values())).name == "Theirs"
    broken = Conflict(conflict.pending, theirs.model_copy(update={"enabled": "sometimes"}), "c0ffee00")
    enabled = [c for c in field_choices(broken) if c.name == "enabled"]
    enabled[0].theirs = True
    with pytest.raises(ValueError, match="merged flag is not valid"):
        merged_value(broken, enabled)
    gone = Conflict(conflict.pending, None, "c0ffee00")
    assert field_choices(gone) == []
    with pytest.raises(ValueError, match="keep mine or take theirs"):
        merged_value(gone, [])


def test_move_names_resources_and_authors(config_path: Path) -> None:
    repo = config_path.parent / "repo"
    with open_store(config_path) as store:
        old = store.snapshot("production")
        text = (head_commit(config_path).tree / "production" / "default" / "features.yaml").data.decode()
        text = text.replace("Ranking algorithm experiment", "Ranking, by Ada")
        commit_files(repo, {"production/default/features.yaml": text.encode()}, ADA, "one", NOW)
        text = text.replace("Staff, by e-mail domain", "Staff, by Bob")
        commit_files(repo, {"production/default/features.yaml": text.encode(), "README.md": b"x\n"}, BOB, "two",
                     NOW + timedelta(minutes=1))
        new = store.snapshot("production")
        move = describe_move(store, "production", old, new)
        pending = [Pending("production", Change("default", Kind.FLAG, "search-ranking", None),
                           old.document("default").flag("search-ranking"), old.commit)]
        assert [c.theirs.description for c in find_conflicts(pending, new, move.authors)] == ["Ranking, by Ada"]
    assert move.resources == ["segment default/internal-users", "flag default/search-ranking"]
    assert move.authors == ["Bob Builder", "Ada Admin"]
    assert move.text() == (f"production moved to {new.commit[:8]} by Bob Builder, Ada Admin: "
                           "segment default/internal-users, flag default/search-ranking")
