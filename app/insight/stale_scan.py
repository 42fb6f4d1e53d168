"""Every flag of an environment judged by the stale rules (`app/insight/stale.py`): one query for the counts of
the window, one for the last evaluations, the flags' ages from Git (`app/insight/ages.py`). Blocks (SQLite or
HTTP, Git): the console runs it in a worker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from app.insight.ages import Existing
from app.insight.stale import DEFAULT_TOLERANCE, Usage, Verdict, Window, verdict
from gitstore.model.documents import Document, Flag
from gitstore.model.lifecycle import Lifecycle


class CountsReader(Protocol):
    """What the scan reads of `evaluator.analytics.reader.AnalyticsReader`."""

    @property
    def source(self) -> str: ...

    def coverage_since(self, environment: str) -> datetime | None: ...

    def usage(self, environment: str, since: datetime, until: datetime | None = None,
              namespace: str | None = None, flag: str | None = None) -> Mapping[tuple[str, str], Usage]: ...

    def last_seen(self, environment: str, namespace: str | None = None) -> Mapping[tuple[str, str], datetime]: ...

    def gaps(self, environment: str, since: datetime, until: datetime | None = None
             ) -> list[tuple[datetime, datetime]]: ...


@dataclass(frozen=True)
class Judged:
    namespace: str
    flag: Flag
    lifecycle: Lifecycle
    verdict: Verdict
    usage: Usage | None


def window_for(reader: CountsReader, env: str, now: datetime, days: int,
               tolerance: timedelta = DEFAULT_TOLERANCE) -> Window:
    """What the counts of `env` cover in the `days` before `now`: since when they are kept, and the gaps."""
    window = Window(now, days, reader.coverage_since(env), tolerance=tolerance)
    return Window(now, days, window.coverage_since, tuple(reader.gaps(env, window.since, now)), tolerance)


def judge(docs: Iterable[tuple[str, Document]], reader: CountsReader, env: str, window: Window,
          existing: Existing | None, namespace: str | None = None) -> list[Judged]:
    """Each flag of `docs` (namespace, document) with its verdict. `existing`: the flags as of N days ago (None:
    history unknown, no flag counts as young)."""
    usage = reader.usage(env, window.since, window.now, namespace=namespace)
    last = reader.last_seen(env, namespace)
    out: list[Judged] = []
    for ns, doc in docs:
        old = existing.get(ns, frozenset()) if existing is not None else None
        for flag in doc.flags:
            found = usage.get((ns, flag.key))
            young = old is not None and flag.key not in old
            life = Lifecycle.of(flag)
            out.append(Judged(ns, flag, life, verdict(life, found, window, young, last.get((ns, flag.key))), found))
    return out
