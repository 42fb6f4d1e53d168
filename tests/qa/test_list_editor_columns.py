"""Issue 14, item 11: the editors' tables (variants, rules, rollouts, constraints) keep every title over its column
after an edit brings a longer cell (a long variant key): the header was drawn with the old widths."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from app.widgets.list_editor import ListEditor


class OneList(App[None]):
    def compose(self) -> ComposeResult:
        yield ListEditor("Key", "Name", "Attachment", id="variants")


def starts(line: str, *texts: str) -> list[int]:
    return [line.index(text) for text in texts]


async def test_titles_stay_over_their_columns_after_a_longer_key() -> None:
    app = OneList()
    async with app.run_test(size=(90, 8)) as pilot:
        table = app.query_one(ListEditor)
        table.focus()
        table.set_items([("blue", "", "")])
        await pilot.pause()
        table.set_items([("blue", "", ""), ("a-very-long-variant-key-for-alignment", "", ""),
                         ("green", "Green one", '{"x": 1}')])
        table.render_lines(Region(0, 0, table.size.width, 4))  # a frame drawn before the table's next idle
        await pilot.pause()
        header, *rows = [strip.text for strip in table.render_lines(Region(0, 0, table.size.width, 4))]
        assert starts(header, "Key", "Name", "Attachment") == starts(rows[2], "green", "Green one", '{"x": 1}')
        assert rows[1].index("a-very-long") == header.index("Key")
        assert header.index("Name") > rows[1].index("alignment")  # the long key's column is as wide as the key
