"""The flag list's lifecycle and evaluation counts (issue 16): the 24-hour evaluations column (totals for the whole
namespace in one query, sparklines only for the rows in view), the stale statuses, the owner / lifecycle / stale
filters, the analytics panel key and the cleanup of stale flags. Every count is read in a worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from app.insight.stale import DEFAULT_DAYS, DEFAULT_TOLERANCE, span_text
from app.insight.usage import NOT_COUNTED, ListCounts, list_counts, trends
from app.screens.base import BaseScreen
from app.screens.segments import segment_users
from app.widgets.flag_table import FlagTable, split_filter
from gitstore.errors import FlagdeckError
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag
from gitstore.model.lifecycle import KINDS, LIFECYCLE, OWNER

LIFECYCLE_BINDINGS = [
    Binding("a", "analytics", "Analytics", show=False,
            tooltip="The highlighted flag's evaluations: 1 h / 24 h / 7 d / 30 d per value and reason, every "
                    "environment"),
    Binding("S", "stale_filter", "Stale", show=False,
            tooltip="Show only the stale flags (again: every flag)"),
    Binding("o", "owner_filter", "Owner", show=False,
            tooltip="Show only the flags of one owner (metadata owner)"),
    Binding("l", "lifecycle_filter", "Lifecycle", show=False,
            tooltip="Show only temporary, permanent or unclassified flags (metadata lifecycle)"),
    Binding("C", "cleanup", "Clean up", show=False,
            tooltip="Remove chosen stale flags as one reviewed change (impact preview first)"),
]


NOTHING = ("", "", "", -1, "")  # a row's lifecycle and count fields before the counts are read


def lifecycle_fields(flag: Flag) -> tuple[str, str]:
    """(owner, lifecycle) straight from the metadata (cheap: the list reads them for 100,000 flags)."""
    return metadata_fields(flag.metadata) if flag.metadata else ("", "")


def metadata_fields(meta: dict[str, Any]) -> tuple[str, str]:
    """`lifecycle_fields` of a flag's metadata (a model's or the file's plain data's)."""
    owner, life = meta.get(OWNER), meta.get(LIFECYCLE)
    return (owner.strip() if isinstance(owner, str) else "", life if life in KINDS else "")


def counts_or_why(*args: Any) -> ListCounts | str:
    """`list_counts`, or why the counts cannot be read (a corrupt or locked store, Prometheus unreachable)."""
    try:
        return list_counts(*args)
    except FlagdeckError as exc:
        return str(exc)


class FlagCounts(BaseScreen):
    """What FlagsScreen adds for lifecycle and counts (a base class: its keys are FlagsScreen's)."""

    @property
    def stale_days(self) -> int:
        """`lifecycle.stale_days` of the configuration (flagdeck.yaml), else 14."""
        life = getattr(self.session.store.config, "lifecycle", None)
        return life.stale_days if life is not None else DEFAULT_DAYS

    @property
    def max_uncovered(self) -> timedelta:
        """`lifecycle.max_uncovered`: how long nobody may have counted in the N days for the counts to judge."""
        life = getattr(self.session.store.config, "lifecycle", None)
        return timedelta(seconds=life.max_uncovered) if life is not None else DEFAULT_TOLERANCE

    counts: ListCounts | None = None
    trend_cache: dict[str, str]
    counts_note = ""

    def show_rows(self) -> None:  # FlagsScreen's
        raise NotImplementedError

    served_pending = False  # rows shown from plain data: some boolean flag's served state waits for the document

    def counted(self, flag: Flag) -> tuple[str, str, str, int, str]:
        """The flag's row fields of lifecycle and counts: owner, lifecycle, stale status, 24-hour total, trend."""
        return self.counted_fields(flag.key, flag.metadata)

    def counted_fields(self, key: str, metadata: dict[str, Any] | None) -> tuple[str, str, str, int, str]:
        """`counted` of the flag `key` with this metadata (a model's, or the file's plain data's)."""
        counts = self.counts
        if not metadata:  # most flags, at 100,000 flags: no lifecycle, so no verdict either
            if counts is None:
                return NOTHING
            return "", "", "", counts.totals.get(key, 0), self.trend_cache.get(key, "")
        owner, life = metadata_fields(metadata)
        if counts is None:
            return owner, life, "", -1, ""
        return owner, life, counts.status(key), counts.totals.get(key, 0), self.trend_cache.get(key, "")

    # ----- counts ------------------------------------------------------------------------------------------------
    def load_counts(self) -> None:
        reader = self.console.analytics
        s = self.session
        if reader is None or s.snapshot() is None:
            return
        if self.counts is not None and (self.counts.environment, self.counts.namespace) != (s.env, s.namespace):
            self.counts = None
        self.run_git(counts_or_why, reader, s.store, s.env, s.namespace, s.document(), s.clock(), self.stale_days,
                     self.max_uncovered, then=self.counts_loaded, what="Could not read the evaluation counts", group="counts",
                     exclusive=True)

    def counts_loaded(self, counts: ListCounts | str) -> None:
        s = self.session
        if isinstance(counts, str):  # said on the status line: a dialog on every reload would be in the way
            self.counts, self.counts_note = None, f"counts unavailable: {counts}"
            self.update_status()
            return
        if (counts.environment, counts.namespace) != (s.env, s.namespace):
            return  # another namespace opened meanwhile
        self.counts, self.trend_cache = counts, {}
        stale = len(counts.stale())
        self.counts_note = f"counts: {counts.source}" + (f" · {stale} stale" if stale else "")
        window = counts.window
        if window is not None and window.gaps:
            self.counts_note += f" · counting off {span_text(window.uncovered)} in {window.days}d"
        self.show_rows()
        self.load_trends()

    def load_trends(self) -> None:
        """Sparklines for the rows in view that have none yet (a worker: one series query each)."""
        counts, reader = self.counts, self.console.analytics
        if counts is None or reader is None:
            return
        keys = [r.key for r in self.query_one(FlagTable).visible_rows() if r.key not in self.trend_cache]
        if not keys:
            return
        now = self.session.clock()
        self.run_git(trends, reader, counts.environment, counts.namespace, keys, now,
                     then=lambda found: self.trends_loaded(counts, found), group="trends", exclusive=True,
                     what="Could not read the evaluation counts")

    def trends_loaded(self, counts: ListCounts, found: dict[str, str]) -> None:
        if counts is not self.counts:
            return
        self.trend_cache.update(found)
        self.query_one(FlagTable).patch_rows({key: {"trend": trend} for key, trend in found.items()})

    @on(FlagTable.Highlighted, "#flags")
    def rows_moved(self) -> None:
        self.load_trends()

    # ----- filters -----------------------------------------------------------------------------------------------
    def set_term(self, name: str, value: str | None) -> None:
        """Put `name:value` in the filter in place of any term of that name (None: remove it)."""
        box = self.query_one("#filter", Input)
        words = [w for w in box.value.split(" ") if w and not w.startswith(f"{name}:")]
        if value is not None:
            words.append(f"{name}:{value}")
        box.value = " ".join(words)
        box.display = bool(box.value)
        self.query_one(FlagTable).set_filter(box.value)
        self.query_one(FlagTable).focus()
        self.update_status()

    def update_status(self) -> None:  # FlagsScreen's
        raise NotImplementedError

    def action_stale_filter(self) -> None:
        _, terms = split_filter(self.query_one(FlagTable).filter_text)
        on_now = ("is", "stale") in terms
        self.set_term("is", None if on_now else "stale")
        if not on_now and self.counts is None:
            self.notify("The evaluation counts are not read (yet): no flag is known to be stale.", markup=False)

    def action_owner_filter(self) -> None:
        from app.screens.modals.choose import ChooseModal

        doc = self.session.document()
        owners = sorted({o for f in (doc.flags if doc else ()) if (o := lifecycle_fields(f)[0])}, key=str.lower)
        options = [("*", "every owner"), *((o.lower().replace(" ", "_"), o) for o in owners), ("none", "(no owner)")]
        self.app.push_screen(ChooseModal("Show the flags of…", options), lambda v: self.chosen("owner", v))

    def action_lifecycle_filter(self) -> None:
        from app.screens.modals.choose import ChooseModal

        options = [("*", "every flag"), ("temporary", "temporary"), ("permanent", "permanent"),
                   ("none", "(no lifecycle)")]
        self.app.push_screen(ChooseModal("Show the flags whose lifecycle is…", options),
                             lambda v: self.chosen("lifecycle", v))

    def chosen(self, name: str, value: str | None) -> None:
        if value is not None:  # None: cancelled
            self.set_term(name, None if value == "*" else value)

    # ----- analytics and cleanup ---------------------------------------------------------------------------------
    def action_analytics(self) -> None:
        from app.screens.flag_analytics import FlagAnalyticsScreen

        key = self.query_one(FlagTable).current_key
        if key is not None:
            self.app.push_screen(FlagAnalyticsScreen(key))

    def action_cleanup(self) -> None:
        from app.screens.modals.cleanup import CleanupModal

        if not self.check_write():
            return
        counts = self.counts
        if counts is None:
            self.show_error("Clean up", "The evaluation counts are not read: stale flags are not known. "
                                        "Is the evaluator's analytics configured?")
            return
        stale = sorted(counts.stale(), key=lambda j: j.flag.key)
        if not stale:
            self.notify(f"No stale flag in {counts.namespace} (over {self.stale_days} days).", markup=False)
            return
        note = f"Stale over {self.stale_days} days; counts from {counts.source} ({NOT_COUNTED})."
        keys = {j.flag.key for j in stale}
        doc = self.session.document()
        only = {seg: users for seg, users in (segment_users(doc) if doc else {}).items() if set(users) <= keys}
        self.app.push_screen(CleanupModal(counts.namespace, stale, note, only), self.remove_stale)

    def remove_stale(self, keys: list[str] | None) -> None:
        from app.screens.modals.cleanup import SEGMENT

        if not keys:
            return
        s = self.session
        for key in keys:
            if key.startswith(SEGMENT):
                s.stage(Change(s.namespace, Kind.SEGMENT, key.removeprefix(SEGMENT), None))
            else:
                s.stage(Change(s.namespace, Kind.FLAG, key, None))
        self.show_rows()
        self.update_context()
        self.console.action_review()
