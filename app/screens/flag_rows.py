"""The flag list's rows (`FlagsScreen`), built three ways that give the same rows (tests/console/test_flag_rows.py):
`row` one flag at a time, `rows` in one loop over the document, `plain_rows` from the file's checked plain data
before the document is built (the first screen at 100,000 flags)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.insight.served import may_differ
from app.screens.flags_lifecycle import FlagCounts
from app.session import relative_time
from app.widgets.flag_table import FlagRow
from gitstore.format.models import build_flag
from gitstore.model.documents import Document, Flag, FlagType


def change_words(changed: dict[str, datetime], now: datetime) -> dict[str, str]:
    """Flag key -> when it last changed, in words (`relative_time`), from `Session.last_change`'s entries."""
    return {key[5:]: relative_time(then, now) for key, then in changed.items() if key.startswith("flag:")}


class FlagRows(FlagCounts):
    unknown_served: list[Flag]  # boolean flags whose served state is not known yet (`show_rows` sets it)

    def row(self, flag: Flag, changed: dict[str, datetime], pending: set[str], now: datetime,
            doc: Document | None = None, compute: bool = False) -> FlagRow:
        boolean = flag.type is FlagType.BOOLEAN
        served = self.console.insight.served
        if compute:
            state = served.words(doc, flag)
        else:
            known, answer = served.get(doc, flag)
            state = answer.words(flag.enabled, short=True) if answer else ""
            if not known:
                self.unknown_served.append(flag)
        return FlagRow(flag.key, flag.name, "boolean" if boolean else "variant", flag.enabled,
                       len(flag.rollouts) if boolean else len(flag.rules),
                       relative_time(changed.get(f"flag:{flag.key}"), now), flag.key in pending,
                       "" if state in ("on", "off") else state, *self.counted(flag))

    def plain_rows(self, flags: list[dict[str, Any]], changed: dict[str, datetime], pending: set[str],
                   now: datetime) -> tuple[list[FlagRow], bool]:
        """The rows `rows` builds from the namespace's document, built from its flags' checked plain data
        (`Session.plain_flags`: the first screen, before the document is built), and whether a boolean flag may
        serve the value opposite to its switch (its state is left unknown, "", until the document is built and
        it is evaluated, as `rows` leaves one not evaluated yet). The fields are read as
        `gitstore.format.models.build_flag` reads them."""
        counted, boolean_type = self.counted_fields, FlagType.BOOLEAN.value
        agos = change_words(changed, now)
        out: list[FlagRow] = []
        may = False
        for d in flags:
            key = d["key"]
            enabled = bool(d.get("enabled", False))
            if (d.get("type") or "") == boolean_type:
                rollouts = d.get("rollouts") or ()
                kind, count = "boolean", len(rollouts)
                may = may or (bool(rollouts) and may_differ(build_flag(d)))
            else:
                kind, count = "variant", len(d.get("rules") or ())
            out.append(FlagRow(key, d["name"], kind, enabled, count, agos.get(key, ""), key in pending, "",
                               *counted(key, d.get("metadata") or None)))
        return out, may

    def rows(self, flags: tuple[Flag, ...], changed: dict[str, datetime], pending: set[str], now: datetime,
             doc: Document | None) -> list[FlagRow]:
        """`[self.row(flag, ...) for flag in flags]`, the same rows built in one loop (100,000 flags: the console's
        first screen): a variant flag is never evaluated (`may_differ`), so it skips the served lookup, and each
        change time is put in words once."""
        served_get, counted, unknown = self.console.insight.served.get, self.counted_fields, self.unknown_served
        agos = change_words(changed, now)
        out: list[FlagRow] = []
        for flag in flags:
            boolean = flag.type is FlagType.BOOLEAN
            state = ""
            if boolean:
                known, answer = served_get(doc, flag)
                state = answer.words(flag.enabled, short=True) if answer else ""
                if not known:
                    unknown.append(flag)
                if state in ("on", "off"):
                    state = ""
            out.append(FlagRow(flag.key, flag.name, "boolean" if boolean else "variant", flag.enabled,
                               len(flag.rollouts) if boolean else len(flag.rules), agos.get(flag.key, ""),
                               flag.key in pending, state,
                               *counted(flag.key, flag.metadata)))
        return out
