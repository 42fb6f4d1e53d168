"""Journey 1: a newcomer creates a variant flag with two variants, a segment with a constraint and a rule that
targets the segment with a 50/50 split, reviews (the file's diff and the impact preview, both in view), writes a
commit message and commits with enter. The repository gets exactly one commit, by the console's user, with that
message, changing only staging's file, by additions only."""

from __future__ import annotations

import pytest

from gitstore.config import load_config
from gitstore.store import Store

from .conftest import AUTHOR
from .steps import fill, head_id, open_review, read_commit, wait_footer, wait_line

MESSAGE = "Add the new banner: blue or green for EU users"


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=["100x30", "80x24"])
def test_create_a_variant_flag_segment_and_rule_then_commit_with_enter(console, project, repo, size) -> None:
    start = head_id(repo)
    term = console(size)

    # the flag, with two variants (the editor opens on its variant list: `a` adds), switched on from the list
    term.keys("n")
    term.wait_for("New flag")
    fill(term, "Key", "new-banner")
    fill(term, "Name", "New banner", "Tab")
    term.keys("Enter")
    wait_line(term, "* new-banner", "variant", "off")  # pending, marked in text
    term.keys("Enter")
    term.wait_for("Flag new-banner")
    wait_footer(term, "a Add")
    for variant in ("blue", "green"):
        term.keys("a")
        term.wait_for("New variant")
        fill(term, "Key", variant)
        term.keys("Enter")
        term.wait_screen(lambda lines, v=variant: any(line.strip() == v for line in lines), f"variant {variant}")
    term.keys("Escape")  # keep the edit, back to the list
    wait_footer(term, "Toggle")
    term.keys("Space")
    wait_line(term, "* new-banner", "variant", "on")

    # the segment, with one constraint
    term.keys("g")
    term.wait_for("beta-testers")
    term.keys("n")
    term.wait_for("New segment")
    fill(term, "Key", "eu-users")
    fill(term, "Name", "EU users", "Tab")
    term.keys("Enter")
    term.wait_for("Segment eu-users")
    wait_footer(term, "a Add")
    term.keys("a")
    term.wait_for("New constraint")
    fill(term, "Property", "region", "Tab")  # the type stays "string"
    fill(term, "Value", "eu", "Tab", "Tab")  # the operator stays "eq"
    term.keys("Enter")
    wait_line(term, "region", "eq", "eu")
    term.keys("Escape")
    wait_line(term, "eu-users", "EU users")
    term.keys("Escape")
    wait_footer(term, "Toggle")

    # the rule: back in the flag (found with the filter), past the default variant to the rules
    term.keys("/")  # and type at once: the keys after `/` filter (they once went to the list: n, a new flag)
    term.type("new-banner")
    wait_line(term, "1 of 5 flags")
    term.keys("Enter")  # one enter opens the flag the filter found
    term.wait_for("Flag new-banner")
    wait_footer(term, "a Add")
    term.keys("Tab")  # the default variant: a choice, no list keys
    wait_footer(term, "a Add", gone=True)
    term.keys("Tab")
    wait_footer(term, "a Add")
    term.keys("a")
    term.wait_for("New rule")
    fill(term, "Segments", "eu-users")
    fill(term, "Distributions", "blue=50, green=50", "Tab", "Tab")
    term.keys("Enter")
    wait_line(term, "eu-users", "blue 50% / green 50%")

    screen = open_review(term)
    assert "create flag default/new-banner" in screen and "create segment default/eu-users" in screen
    assert "pending: 2" in screen.splitlines()[0]
    # the impact preview is in view at every size (at 80×24 it was below the diff, out of sight)
    wait_line(term, "default/new-banner:", "change", timeout=20)
    assert "staging/default/features.yaml" in term.screen()
    assert head_id(repo) == start  # nothing is committed before enter

    # m, the message and enter as one burst of typing, as they arrive over SSH: the message is all of the text
    # (the keys after m once went to the list, where d discarded the edits; and enter, then a priority
    # binding, committed with the message "A" while the rest of the text was still queued for the box)
    term.keys("m")
    term.type(MESSAGE)
    term.keys("Enter")
    screen = term.wait_for("Committed ", timeout=20)
    commit = read_commit(repo)
    assert f"Committed {commit.id[:8]}" in screen
    term.wait_for("no pending edits")
    assert commit.parents == [start]
    assert commit.author == AUTHOR
    assert commit.message.splitlines()[0] == MESSAGE
    assert commit.files == ["staging/default/features.yaml"]
    assert commit.removed == []  # one clean diff: only the new flag and segment, nothing else rewritten
    added = "\n".join(commit.added)
    for text in ("- key: new-banner", "name: New banner", "enabled: true", "- key: blue", "- key: green",
                 "- segment: eu-users", "- key: eu-users", "property: region", "value: eu"):
        assert text in added, f"{text!r} not added:\n{added}"
    assert added.count("rollout: 50") == 2
    with Store(load_config(project / ".flagdeck" / "flagdeck.yaml")) as store:
        doc = store.snapshot("staging").document("default")
        flag = doc.flag("new-banner")
        assert [v.key for v in flag.variants] == ["blue", "green"] and flag.enabled
        (rule,) = flag.rules
        assert rule.segment.keys == ("eu-users",)
        assert [(d.variant, d.rollout) for d in rule.distributions] == [("blue", 50), ("green", 50)]
        assert store.snapshot("production").document("default").flag("new-banner") is None
