"""Journey 4: promote the flag of journey 1, with the segment it uses, from staging to production. The confirmation
names production, shows the impact there (who would get a different value) and the diff of production's file;
cancelling changes nothing; yes makes one commit in production, by the console's user, creating exactly the flag
and the segment as staging has them."""

from __future__ import annotations

import pytest

from gitstore.config import load_config
from gitstore.store import Store

from .conftest import AUTHOR, commit_banner
from .steps import head_id, read_commit, wait_line


def open_confirmation(term) -> str:
    term.keys("p")
    term.wait_for("Promote new-banner (as committed at")
    term.keys("Enter")  # production, the only other environment
    return term.wait_for("Promote new-banner to production?", timeout=20)


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
def test_promote_a_flag_and_its_segment_after_the_confirmation(console, project, repo, size) -> None:
    staged = commit_banner(project)
    term = console(size)
    term.keys("Down", "Down")
    wait_line(term, "> new-banner")

    screen = open_confirmation(term)
    assert "In production: 2 change(s) to production/default/features.yaml" in " ".join(screen.split())
    wait_line(term, "default/new-banner:", "100.0% change", timeout=20)  # the impact, in production
    wait_line(term, "of entities: absent -> blue")
    wait_line(term, "of entities: absent -> green")
    wait_line(term, "--- a/production/default/features.yaml")  # the diff follows, in view at 80×24 too
    wait_line(term, "Promote to production (y)")
    term.keys("n")
    term.wait_for("Promote new-banner to production?", gone=True)
    assert head_id(repo) == staged  # nothing promoted

    open_confirmation(term)
    wait_line(term, "default/new-banner:", "change", timeout=20)
    term.keys("y")
    screen = term.wait_for("Promoted new-banner to production", timeout=20)
    commit = read_commit(repo)
    assert commit.id[:8] in " ".join(screen.split())
    assert commit.parents == [staged] and commit.author == AUTHOR
    assert commit.message.splitlines() == ["updated multiple resources", "", "create segment default/eu-users",
                                           "create flag default/new-banner", "",
                                           f"Promotes default/new-banner from staging at commit {staged}."]
    assert commit.files == ["production/default/features.yaml"] and commit.removed == []
    with Store(load_config(project / ".flagdeck" / "flagdeck.yaml")) as store:
        staging, production = (store.snapshot(env).document("default") for env in ("staging", "production"))
        assert production.flag("new-banner") == staging.flag("new-banner")
        assert production.segment("eu-users") == staging.segment("eu-users")
