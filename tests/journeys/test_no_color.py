"""Issue 14, item 7: with NO_COLOR the console works end to end and every state reads in text. Toggle a flag, see
it pending and on in the list, open it (the state checkbox reads [x]), review (the impact in words), commit with
enter: at every step the screen's colours are only greys (what colour alone told is also in the text)."""

from __future__ import annotations

import re

from .conftest import AUTHOR
from .steps import open_review, read_commit, wait_footer, wait_line

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def grey_256(n: int) -> bool:
    if n in (0, 7, 8, 15) or 232 <= n <= 255:
        return True
    if 16 <= n <= 231:
        r, g, b = (n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6
        return r == g == b
    return False


def colours(screen: str) -> set[str]:
    """The colours (not greys) the escape sequences of a screen set, e.g. {"38;5;33"}."""
    found = set()
    for params in SGR.findall(screen):
        codes = [int(c) if c else 0 for c in params.split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                if not grey_256(codes[i + 2]):
                    found.add(f"{code};5;{codes[i + 2]}")
                i += 3
            elif code in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                if len(set(codes[i + 2:i + 5])) != 1:
                    found.add(";".join(map(str, codes[i:i + 5])))
                i += 5
            else:
                if 31 <= code <= 36 or 41 <= code <= 46 or 91 <= code <= 96 or 101 <= code <= 106:
                    found.add(str(code))
                i += 1
    return found


def test_the_console_works_with_no_color_and_says_every_state_in_text(console, repo) -> None:
    term = console((80, 24), env={"NO_COLOR": "1"})
    seen = [term.screen(styles=True)]
    assert "> color-theme" in term.screen()  # the cursor's row is marked, not only highlighted
    term.keys("Down")
    wait_line(term, "> maintenance-mode", "off")
    term.keys("Space")
    wait_line(term, "* maintenance-mode", "on")  # pending: a star; on: a word
    assert "pending: 1" in term.screen().splitlines()[0]
    seen.append(term.screen(styles=True))
    term.keys("Enter")
    term.wait_for("Flag maintenance-mode")
    wait_line(term, "State", "[x] on (enabled)")
    seen.append(term.screen(styles=True))
    term.keys("Escape")
    wait_footer(term, "Toggle")
    open_review(term)
    wait_line(term, "default/maintenance-mode:", "change", timeout=20)
    wait_line(term, "of entities: false -> true")
    seen.append(term.screen(styles=True))
    term.keys("Enter")
    term.wait_for("Committed ", timeout=20)
    seen.append(term.screen(styles=True))
    commit = read_commit(repo)
    assert commit.author == AUTHOR and commit.added == ["    enabled: true"]
    for screen in seen:
        assert SGR.search(screen), "the console drew no styles at all: this test would prove nothing"
        assert colours(screen) == set(), screen
