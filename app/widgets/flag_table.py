"""A virtualised flag table: renders only the visible lines, so 10,000 flags filter and scroll instantly.

The filter is text to find in a flag's key or name, with words that select by lifecycle: `owner:NAME`
(`owner:none`), `lifecycle:temporary|permanent|none`, `is:stale`, `is:unknown` (`match_terms`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.insight.usage import compact


class FlagRow(NamedTuple):
    """One row of the list (a named tuple: 100,000 of them are made for the first screen, and a tuple is made in a
    sixth of the time a frozen dataclass takes)."""

    key: str
    name: str
    kind: str  # "variant" | "boolean"
    enabled: bool
    rules: int  # rules (variant) or rollouts (boolean)
    changed: str = ""  # "3m ago"
    pending: bool = False
    state: str = ""  # what is served, in words ("off (all get true)"); "" -> on/off
    owner: str = ""  # lifecycle metadata (gitstore.model.lifecycle)
    life: str = ""  # "temporary" | "permanent" | ""
    stale: str = ""  # a temporary flag's verdict: "stale" | "unknown" | "active" ("" before the counts are read)
    evals: int = -1  # evaluations in the last 24 hours (-1: not known)
    trend: str = ""  # their sparkline (computed for the rows in view only)

    @property
    def life_text(self) -> str:
        if self.stale == "stale":
            return "STALE"
        return {"temporary": "temp?" if self.stale == "unknown" else "temp", "permanent": "perm"}.get(self.life, "")

    @property
    def state_text(self) -> str:
        return self.state or ("on" if self.enabled else "off")

    @property
    def search_text(self) -> str:
        return f"{self.key}\n{self.name}".lower()


TREND_WIDTH = 18  # the evaluations column: a count, and from WIDE columns on, a 24-hour sparkline
WIDE = 110
# column title, sort attribute, fixed width (None: shares the rest; 0: as wide as its widest value)
COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("Key", "key", None),
    ("Name", "name", None),
    ("Type", "kind", 7),
    ("State", "state_text", 0),
    ("Rules", "rules", 5),
    ("Changed", "changed", 10),
    ("Life", "life_text", 5),
    ("Evals 24h", "evals", TREND_WIDTH),
)
BASE_COLUMNS = 6  # the columns always shown; Life and Evals only when some flag has a lifecycle, and counts are read
STATE_WIDTH = (5, 20)  # the State column: at least "State", at most this
MARKER = 2  # before the key: "* " on a pending row, else "> " on the cursor's


class FlagTable(ScrollView, can_focus=True):
    """Rows of flags with a cursor. Posts `Highlighted` when the cursor moves and `Opened` on a click on the row the
    cursor is on (`enter` is the screen's own key)."""

    DEFAULT_CSS = """
    FlagTable { height: 1fr; }
    FlagTable > .flag-table--header { text-style: bold; background: $panel; }
    FlagTable > .flag-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold; }
    FlagTable > .flag-table--dim { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"flag-table--header", "flag-table--cursor", "flag-table--dim"}
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    class _RowMessage(Message):
        def __init__(self, table: FlagTable, key: str | None) -> None:
            self.table, self.key = table, key
            super().__init__()

        @property
        def control(self) -> FlagTable:  # so that `@on(FlagTable.Highlighted, "#flags")` selects by the table
            return self.table

    class Highlighted(_RowMessage):
        """The cursor moved to the flag `key` (None: the table is empty)."""

    class Opened(_RowMessage):
        """`enter` (or a second click) on the flag `key`."""

        key: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[FlagRow] = []
        self._search: list[str] = []
        self._visible: list[int] = []
        self._filter = ""
        self._state_width = STATE_WIDTH[0]
        self.columns = COLUMNS[:BASE_COLUMNS]
        self.sort_column = "key"
        self.sort_reverse = False

    # ----- data -----------------------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._visible)

    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def current_key(self) -> str | None:
        return self._rows[self._visible[self.cursor]].key if self._visible else None

    @property
    def rows(self) -> list[FlagRow]:
        """Every row, in the order shown unfiltered (read it, never change it: `set_rows`, `patch_rows`)."""
        return self._rows

    def visible_keys(self) -> list[str]:
        return [self._rows[i].key for i in self._visible]

    def set_rows(self, rows: list[FlagRow]) -> None:
        """Replace the rows, keeping the cursor on the same flag where it still exists."""
        keep = self.current_key
        self._rows = sorted(rows, key=self._sort_key, reverse=self.sort_reverse)
        self._search = [row.search_text for row in self._rows]
        self._state_width = max([STATE_WIDTH[0], *(len(r.state) for r in rows if r.state)])
        self.columns = columns_for(self._rows)
        self._refilter(keep)

    def replace_row(self, row: FlagRow) -> bool:
        """Swap one flag's row in place (a toggle on 10,000 flags then costs one row, not a rebuild); False when
        the flag is not shown or the change moves it in the current sort order."""
        index = next((i for i in self._visible if self._rows[i].key == row.key), None)
        if index is None or getattr(self._rows[index], self.sort_column) != getattr(row, self.sort_column):
            return False
        self._rows[index] = row
        self._search[index] = row.search_text
        self._state_width = max(self._state_width, len(row.state))
        self.refresh()
        return True

    def set_filter(self, text: str) -> None:
        if text.lower() != self._filter:
            self._filter = text.lower()
            self._refilter(self.current_key)

    @property
    def filter_text(self) -> str:
        return self._filter

    def visible_rows(self) -> list[FlagRow]:
        """The rows in view now (what the screen computes sparklines for)."""
        top = int(self.scroll_y)
        page = max(1, self.size.height - 1)
        return [self._rows[i] for i in self._visible[top:top + page]]

    def patch_rows(self, changes: dict[str, dict[str, Any]]) -> None:
        """Set fields of some rows (key -> field -> value: their sparklines arrived) in place; sorted again only
        when a patched field is the sort column."""
        if not changes:
            return
        for i, row in enumerate(self._rows):
            change = changes.get(row.key)
            if change is not None:
                self._rows[i] = row._replace(**change)
        if any(self.sort_column in change for change in changes.values()):
            self.set_rows(self._rows)
        else:
            self.refresh()

    def sort_by(self, column: str) -> None:
        """Sort by a column; sorting by the same column again reverses the order."""
        self.sort_reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column = column
        self.set_rows(self._rows)

    def _evals_text(self, row: FlagRow) -> str:
        if row.evals < 0:
            return "–"
        count = compact(row.evals)
        return f"{count:>5} {row.trend}" if self.size.width >= WIDE else count

    def _sort_key(self, row: FlagRow) -> tuple[Any, str]:
        value = getattr(row, self.sort_column)
        return (value.lower() if isinstance(value, str) else value, row.key)

    def _refilter(self, keep: str | None) -> None:
        text, terms = split_filter(self._filter)
        rows = self._rows
        if terms:
            self._visible = [i for i, s in enumerate(self._search) if text in s and match_terms(rows[i], terms)]
        else:
            self._visible = [i for i, s in enumerate(self._search) if text in s] if text else list(range(len(rows)))
        self.virtual_size = Size(self.size.width, len(self._visible) + 1)
        index = 0
        if keep is not None:
            index = next((n for n, i in enumerate(self._visible) if self._rows[i].key == keep), 0)
        self.cursor = index
        self.refresh()

    def move_to(self, key: str) -> bool:
        for n, i in enumerate(self._visible):
            if self._rows[i].key == key:
                self.cursor = n
                return True
        return False

    # ----- cursor ---------------------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._visible) - 1)) if self._visible else 0

    def watch_cursor(self, value: int) -> None:
        page = max(1, self.size.height - 1)
        if value < self.scroll_y:
            self.scroll_to(y=value, animate=False, immediate=True)
        elif value >= self.scroll_y + page:
            self.scroll_to(y=value - page + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_key))

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._visible) - 1

    def on_click(self, event: events.Click) -> None:
        line = event.y + int(self.scroll_y) - 1
        if event.y == 0:
            column = self._column_at(event.x)
            if column:
                self.sort_by(column)
            return
        if 0 <= line < len(self._visible):
            if line == self.cursor:
                self.post_message(self.Opened(self, self._rows[self._visible[line]].key))
            self.cursor = line

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible) + 1)

    # ----- rendering ------------------------------------------------------------------------------------------
    def _widths(self) -> list[int]:
        width = max(self.size.width, 20)
        state = min(self._state_width, STATE_WIDTH[1])
        trend = TREND_WIDTH if width >= WIDE else 5  # narrow: the count only
        columns = self.columns
        fixed = sum(w or 0 for _, _, w in columns) + state + len(columns) + MARKER  # a space after each column
        if any(attr == "evals" for _, attr, _ in columns):
            fixed -= TREND_WIDTH - trend
        flexible = max(10, width - fixed)
        key_width = max(6, flexible * 11 // 20)
        return [key_width if attr == "key" else flexible - key_width if w is None else trend if attr == "evals"
                else w or state for _, attr, w in columns]

    def _column_at(self, x: int) -> str | None:
        x -= MARKER
        for (_, attr, _), width in zip(self.columns, self._widths(), strict=True):
            if x < width + 1:
                return attr
            x -= width + 1
        return None

    def _cells(self, values: list[str], style: Style, prefix: str) -> Strip:
        text = prefix + " ".join(_fit(v, w) for v, w in zip(values, self._widths(), strict=True))
        return Strip([Segment(text, style)]).adjust_cell_length(self.size.width, style)

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            arrow = " v" if self.sort_reverse else " ^"
            narrow = self.size.width < WIDE
            titles = [("24h" if narrow and attr == "evals" else title) + (arrow if attr == self.sort_column else "")
                      for title, attr, _ in self.columns]
            return self._cells(titles, base + self.get_component_rich_style("flag-table--header"), " " * MARKER)
        line = y - 1 + int(self.scroll_y)
        if line >= len(self._visible):
            return Strip.blank(self.size.width, base)
        row = self._rows[self._visible[line]]
        values = [row.key, row.name, row.kind, row.state_text, str(row.rules), row.changed]
        if len(self.columns) > len(values):  # the lifecycle columns, when shown
            values += [row.life_text, self._evals_text(row)][:len(self.columns) - len(values)]
        style = base
        if line == self.cursor:
            style = base + self.get_component_rich_style("flag-table--cursor")
        elif not row.enabled:
            style = base + self.get_component_rich_style("flag-table--dim")
        # in text, not colour only: pending wins (the cursor's row is also in reverse video, NO_COLOR included)
        marker = "* " if row.pending else "> " if line == self.cursor else "  "
        return self._cells(values, style, marker)


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: max(0, width - 1)] + "…"


def columns_for(rows: list[FlagRow]) -> tuple[tuple[str, str, int | None], ...]:
    """The base columns, then Life when any flag has a lifecycle, then Evals when the counts are read (both when
    counts are read: the stale statuses come with them)."""
    counted = any(r.evals >= 0 for r in rows)
    if counted:
        return COLUMNS
    return COLUMNS[:BASE_COLUMNS + 1] if any(r.life for r in rows) else COLUMNS[:BASE_COLUMNS]


FILTER_WORDS = ("owner:", "lifecycle:", "is:")


def split_filter(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The filter's text to find (the words that are not terms, joined by one space) and its terms."""
    words, terms = [], []
    for word in text.split(" "):
        prefix = next((p for p in FILTER_WORDS if word.startswith(p)), None)
        if prefix is None:
            words.append(word)
        else:
            terms.append((prefix[:-1], word[len(prefix):]))
    return " ".join(words).strip(), terms


def match_terms(row: FlagRow, terms: list[tuple[str, str]]) -> bool:
    for name, value in terms:
        if name == "owner" and value and row.owner.lower().replace(" ", "_") != ("" if value == "none" else value):
            return False
        if name == "lifecycle" and value and row.life != ("" if value == "none" else value):
            return False
        if name == "is" and value and row.stale != value:
            return False
    return True
