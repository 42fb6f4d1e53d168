"""A schedule's time as people type it: ISO 8601 with a timezone (`2026-12-24T18:00:00Z`, `+01:00`), `+30m`, `+2h`,
`+1d` from now, and — where the field says UTC (the console) — a time without a timezone (`2026-12-24 18:00`),
read as UTC. Shared by `flagdeck schedule --at` and the console's "schedule instead of commit"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXAMPLE = "2026-12-24T18:00:00Z or +2h"


def parse_when(text: str, now: datetime, naive_is_utc: bool = False) -> datetime:
    """The time in UTC; `ValueError` saying what is expected."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now.astimezone(UTC).replace(microsecond=0) + timedelta(
            seconds=int(relative.group(1)) * _UNITS[relative.group(2)])
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        example = "2026-12-24 18:00 (UTC), +30m, +2h or +1d" if naive_is_utc else EXAMPLE
        raise ValueError(f"{text!r}: expected e.g. {example}") from None
    if found.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"{text!r} has no timezone: add Z (UTC) or an offset such as +01:00")
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC)
