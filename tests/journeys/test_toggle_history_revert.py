"""Journey 3: toggle a flag, review its impact, commit (one line of one file changes, by the console's user); open
its history, revert that commit: a new commit, subject `Revert "<subject>"` as `git revert` writes it, puts the
file back exactly as it was."""

from __future__ import annotations

from .conftest import AUTHOR
from .steps import head_id, open_review, read_commit, wait_line


def test_toggle_review_commit_then_revert_from_the_history(console, project, repo) -> None:
    start = head_id(repo)
    original = repo.revparse_single(f"{start}:staging/default/features.yaml").id
    term = console((80, 24))
    term.keys("Down")
    wait_line(term, "> maintenance-mode", "off")
    term.keys("Space")
    wait_line(term, "* maintenance-mode", "on")  # pending, said in text

    open_review(term)
    wait_line(term, "update flag default/maintenance-mode")
    wait_line(term, "default/maintenance-mode:", "100.0% change", timeout=20)  # everyone's answer moves
    wait_line(term, "100.0% of entities: false -> true")
    assert head_id(repo) == start
    term.keys("Enter")  # the list has the focus: enter commits with the proposed message
    screen = term.wait_for("Committed ", timeout=20)
    toggle = read_commit(repo)
    assert f"Committed {toggle.id[:8]}" in screen
    assert toggle.parents == [start] and toggle.author == AUTHOR
    assert toggle.message.splitlines()[0] == "update flag default/maintenance-mode"
    assert toggle.files == ["staging/default/features.yaml"]
    assert (toggle.removed, toggle.added) == (["    enabled: false"], ["    enabled: true"])  # one clean diff
    wait_line(term, "maintenance-mode", "on")
    term.wait_for("no pending edits")

    term.keys("h")
    term.wait_for("History of flag maintenance-mode in staging")
    wait_line(term, "just now", "Ada Lovelace", "update flag")  # newest first: the toggle, by the console's user
    term.wait_for(f"commit {toggle.id[:8]}")  # its detail: id, author, message, diff
    term.keys("r")
    question = term.wait_for("Undo what")
    assert toggle.id[:8] in question and "as a new commit?" in question
    term.keys("y")
    screen = term.wait_for("Reverted ", timeout=20)
    revert = read_commit(repo)
    # the notice "Reverted <id> for flag default/maintenance-mode as <new id>" wraps among the table's lines
    assert f"default/maintenance-mode as {revert.id[:8]}" in " ".join(screen.split()), screen
    assert revert.parents == [toggle.id] and revert.author == AUTHOR
    subject, _, body = revert.message.partition("\n\n")
    assert subject == 'Revert "update flag default/maintenance-mode"'
    assert f"This reverts commit {toggle.id}." in body
    assert revert.files == ["staging/default/features.yaml"]
    assert (revert.removed, revert.added) == (["    enabled: true"], ["    enabled: false"])
    assert repo.revparse_single(f"{revert.id}:staging/default/features.yaml").id == original  # as it was
    wait_line(term, "just now", "Ada Lovelace", "Revert")  # the history shows the revert on top
    term.keys("Escape")
    wait_line(term, "maintenance-mode", "off")
