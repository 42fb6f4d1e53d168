"""Journey 5: careless input loses nothing and creates nothing. Half-filled dialogs left with escape (a new flag,
a rule) leave no trace; a rollout of 150% and metadata that is not JSON are refused with the field named and the
reason; quitting with a pending edit asks first (no keeps the console, yes quits and commits nothing)."""

from __future__ import annotations

from .steps import fill, head_id, wait_footer, wait_line


def test_escape_refusals_and_quit_with_pending_edits(console, project, repo) -> None:
    start = head_id(repo)
    term = console((100, 30))

    # a new flag, half filled in one burst of typing (key, tab, name: each lands in its own field), escaped: no
    # flag, no pending edit
    term.keys("n")
    term.wait_for("New flag")
    term.type("half-done")
    term.keys("Tab")
    term.type("Half")
    wait_line(term, "Key", "half-done")
    wait_line(term, "Name", "Half")
    term.keys("Escape")
    term.wait_for("New flag", gone=True)
    assert "half-done" not in term.screen()
    wait_line(term, "4 of 4 flags")
    term.wait_for("no pending edits")

    # a rule, half filled, escaped: the flag's rules are as they were
    term.keys("Enter")  # color-theme
    term.wait_for("Flag color-theme")
    wait_footer(term, "a Add")
    term.keys("Tab", "Tab")  # past the default variant to the rules
    term.wait_for("Rules, in order")
    term.keys("a")
    term.wait_for("New rule")
    fill(term, "Segments", "beta-testers")
    term.keys("Escape")
    term.wait_for("New rule", gone=True)
    term.keys("Escape")  # back to the list: nothing was changed, so nothing is pending
    wait_footer(term, "Toggle")
    term.wait_for("no pending edits")

    # a rollout of 150%: refused, naming the field and the bound
    term.keys("Down", "Down")
    wait_line(term, "> new-checkout")
    term.keys("Enter")
    term.wait_for("Flag new-checkout")
    wait_footer(term, "a Add")
    term.keys("a")
    term.wait_for("New rollout")
    fill(term, "Percentage", "150", "Tab")
    term.keys("Enter")
    error = " ".join(term.wait_for("✗ Percentage:").split())
    assert "✗ Percentage: invalid value 150" in error and "from 0 to 100" in error
    term.keys("Escape")
    term.wait_for("New rollout", gone=True)

    # metadata that is not JSON: refused with the line and column, the edit stays open to be fixed or cancelled
    term.keys("BTab")  # from the rollouts back to the metadata box: the list's keys leave the footer
    wait_footer(term, "a Add", gone=True)
    term.type('{"team": checkout}')
    wait_line(term, '{"team": checkout}')
    term.keys("Escape")
    wait_line(term, "✗ metadata: invalid JSON at line 1, column 10")
    assert "Flag new-checkout" in term.screen()  # not left with a broken edit
    term.keys("C-g")  # cancel the edit
    wait_footer(term, "Toggle")
    term.wait_for("no pending edits")

    # quit with a pending edit: asked; no keeps everything, yes quits without committing
    term.keys("Space")
    wait_line(term, "* new-checkout")
    term.keys("q")
    question = " ".join(term.wait_for("Quit?").split())
    assert "1 pending edit(s) are not committed and will be lost. Quit?" in question
    term.keys("n")
    term.wait_for("Quit?", gone=True)
    wait_line(term, "* new-checkout")
    term.keys("q")
    term.wait_for("Quit?")
    term.keys("y")
    assert term.wait_dead(timeout=20) == 0
    assert head_id(repo) == start  # nothing was ever committed
