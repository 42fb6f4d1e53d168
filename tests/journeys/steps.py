"""What the journeys do and check more than once: read the screen's footer and rows, open the review, and read a
commit from the repository (author, message, the one file it changed and its diff)."""

from __future__ import annotations

from dataclasses import dataclass

import pygit2
from tmux_terminal import Tmux


def footer(term: Tmux) -> str:
    lines = [line for line in term.screen().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def wait_footer(term: Tmux, text: str, timeout: float = 10, gone: bool = False) -> None:
    """Wait until the footer offers `text` (`gone`: no longer offers it). The footer shows the keys of the widget
    that has the focus: once it shows them, keys typed go there."""
    term.wait_screen(lambda lines: (text in next((x for x in reversed(lines) if x.strip()), "")) != gone,
                     f"{text!r} {'gone from' if gone else 'in'} the footer", timeout)


def wait_line(term: Tmux, *parts: str, timeout: float = 10) -> str:
    """Wait for one line of the screen holding every one of `parts`; that line."""
    lines = term.wait_screen(lambda ls: any(all(p in line for p in parts) for line in ls),
                             f"a line with {parts!r}", timeout)
    return next(line for line in lines if all(p in line for p in parts))


def open_review(term: Tmux) -> str:
    """ctrl+s, then wait for the review's own keys in the footer; the screen."""
    term.keys("C-s")
    wait_footer(term, "m Message")
    return term.screen()


@dataclass
class Commit:
    id: str
    author: str
    message: str
    parents: list[str]
    files: list[str]  # the paths the commit changed, against its parent
    added: list[str]  # the lines it added and removed, in order
    removed: list[str]
    patch: str


def read_commit(repo: pygit2.Repository, rev: str = "refs/heads/main") -> Commit:
    commit = repo.revparse_single(rev).peel(pygit2.Commit)
    diff = repo.diff(commit.parents[0], commit) if commit.parents else commit.tree.diff_to_tree(swap=True)
    added, removed = [], []
    for patch in diff:
        for hunk in patch.hunks:
            for line in hunk.lines:
                if line.origin == "+":
                    added.append(line.content.rstrip("\n"))
                elif line.origin == "-":
                    removed.append(line.content.rstrip("\n"))
    return Commit(str(commit.id), f"{commit.author.name} <{commit.author.email}>", commit.message,
                  [str(p) for p in commit.parent_ids], [p.delta.new_file.path for p in diff], added, removed,
                  diff.patch or "")


def head_id(repo: pygit2.Repository) -> str:
    return str(repo.references["refs/heads/main"].target)


def to_field(term: Tmux, label: str, *keys: str) -> None:
    """Press `keys` (Tab…) and wait until the text field labelled `label` has the focus (the terminal's cursor is
    on its line): a key typed while the focus is still moving goes to the field it leaves (see the report)."""
    term.keys(*keys)
    term.wait_screen(lambda lines: label in lines[term.cursor()[1]], f"the cursor in the field {label!r}")


def fill(term: Tmux, label: str, text: str, *keys: str) -> None:
    """Move to the field `label` with `keys` (none: it has the focus already), type `text` and see it there."""
    to_field(term, label, *keys)
    term.type(text)
    wait_line(term, label, text)
